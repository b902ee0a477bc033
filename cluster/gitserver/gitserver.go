// Package gitserver deploys an in-cluster git daemon serving the workloads'
// sources, each committed into its own repository, so that the benchmark's
// clone task fetches over the network as a real pipeline would.
package gitserver

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/cachebench/cachebench/cluster/kube"
	"github.com/cachebench/cachebench/log"
)

const (
	name_ = "git"
	port  = 9418
)

// Repo is one repository: a name and the files of its only commit.
type Repo struct {
	Name  string
	Files fs.FS
}

// Server is a deployed git daemon.
type Server struct {
	Namespace string
	Host      string
}

// URL is the clone URL of a repository, as pods see it.
func (s *Server) URL(repo string) string { return "git://" + s.Host + "/" + repo + ".git" }

// initScript turns each source tarball into a bare repository with one
// commit. Dates and names are fixed, so a source gives the same commit
// every time.
const initScript = `set -eu
export GIT_AUTHOR_NAME=cachebench GIT_AUTHOR_EMAIL=cachebench@localhost
export GIT_COMMITTER_NAME=cachebench GIT_COMMITTER_EMAIL=cachebench@localhost
export GIT_AUTHOR_DATE=2025-01-01T00:00:00Z GIT_COMMITTER_DATE=2025-01-01T00:00:00Z
for src in /src/*/source.tar; do
  repo=$(basename "$(dirname "$src")")
  work=/tmp/work/$repo
  mkdir -p "$work"
  tar -xf "$src" -C "$work"
  git -C "$work" init -q -b main
  git -C "$work" add -A
  git -C "$work" commit -q -m "$repo workload"
  rm -rf "/srv/git/$repo.git"
  git clone -q --bare "$work" "/srv/git/$repo.git"
  echo "$repo $(git -C "/srv/git/$repo.git" rev-parse HEAD)"
done
`

// Deploy deploys the git daemon with repos in ns, using image (which needs
// git and a shell), and waits until it serves.
func Deploy(ctx context.Context, c *kube.Clients, ns, image string, repos []Repo, l log.Logger) (*Server, error) {
	start := time.Now()
	if len(repos) == 0 {
		return nil, fmt.Errorf("deploy git server: no repositories")
	}
	labels := map[string]string{"app.kubernetes.io/name": name_, "app.kubernetes.io/part-of": "cachebench"}
	var objs []runtime.Object
	var volumes []corev1.Volume
	var mounts []corev1.VolumeMount
	sum := sha256.New()
	for _, r := range repos {
		data, err := tarFS(r.Files)
		if err != nil {
			return nil, fmt.Errorf("deploy git server: pack %s: %w", r.Name, err)
		}
		sum.Write(data)
		cm := "git-source-" + r.Name
		objs = append(objs, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: cm, Namespace: ns, Labels: labels},
			BinaryData: map[string][]byte{"source.tar": data},
		})
		volumes = append(volumes, corev1.Volume{Name: "src-" + r.Name, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: cm}}}})
		mounts = append(mounts, corev1.VolumeMount{Name: "src-" + r.Name, MountPath: "/src/" + r.Name})
	}
	volumes = append(volumes, corev1.Volume{Name: "repos", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	one := int32(1)
	objs = append(objs,
		&appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name_, Namespace: ns, Labels: labels},
			Spec: appsv1.DeploymentSpec{
				Replicas: &one,
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
				Template: corev1.PodTemplateSpec{
					// The sources' hash rolls the pod when a workload changes.
					ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{"cachebench/sources": hex.EncodeToString(sum.Sum(nil))[:16]}},
					Spec: corev1.PodSpec{
						InitContainers: []corev1.Container{{
							Name: "commit", Image: image, ImagePullPolicy: corev1.PullIfNotPresent,
							Command:      []string{"/bin/sh", "-c", initScript},
							VolumeMounts: append([]corev1.VolumeMount{{Name: "repos", MountPath: "/srv/git"}}, mounts...),
						}},
						Containers: []corev1.Container{{
							Name: "daemon", Image: image, ImagePullPolicy: corev1.PullIfNotPresent,
							Command: []string{"git", "daemon", "--reuseaddr", "--export-all", "--base-path=/srv/git", "--port=9418", "/srv/git"},
							Ports:   []corev1.ContainerPort{{Name: "git", ContainerPort: port}},
							ReadinessProbe: &corev1.Probe{
								ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(port)}},
								PeriodSeconds: 1,
							},
							VolumeMounts: []corev1.VolumeMount{{Name: "repos", MountPath: "/srv/git"}},
						}},
						Volumes: volumes,
					},
				},
			},
		},
		&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name_, Namespace: ns, Labels: labels},
			Spec: corev1.ServiceSpec{
				Selector: labels,
				Ports:    []corev1.ServicePort{{Name: "git", Port: port, TargetPort: intstr.FromInt32(port)}},
			},
		},
	)
	if err := c.ApplyObjects(ctx, objs...); err != nil {
		return nil, fmt.Errorf("deploy git server: %w", err)
	}
	if err := c.WaitDeployments(ctx, ns, []string{name_}, 3*time.Minute); err != nil {
		return nil, fmt.Errorf("deploy git server: %w", err)
	}
	s := &Server{Namespace: ns, Host: fmt.Sprintf("%s.%s.svc.cluster.local", name_, ns)}
	var names []string
	for _, r := range repos {
		names = append(names, r.Name)
	}
	l.Infof("git server ready at git://%s (%s) in %s", s.Host, strings.Join(names, ", "), time.Since(start).Round(100*time.Millisecond))
	return s, nil
}

// tarFS packs the files of fsys in a reproducible tar (sorted, fixed times).
func tarFS(fsys fs.FS) ([]byte, error) {
	var paths []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, err
		}
		if err := tw.WriteHeader(&tar.Header{Name: p, Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if buf.Len() > 900<<10 {
		return nil, fmt.Errorf("sources are %d KiB packed; a ConfigMap holds at most 1 MiB", buf.Len()>>10)
	}
	return buf.Bytes(), nil
}
