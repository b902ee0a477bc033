// Package gitserver deploys an in-cluster git server serving the workloads'
// sources, each committed into its own repository, so that the benchmark's
// clone task fetches over the network as a real pipeline would. The server
// is cachebench's own (gitd): read-only over git://, commits made by the
// harness through its commands.
package gitserver

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/cachebench/cachebench/cluster/kube"
	"github.com/cachebench/cachebench/internal/gitd"
	"github.com/cachebench/cachebench/log"
)

const (
	name_     = "git"
	container = "daemon"
	port      = 9418
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

	clients *kube.Clients
	pod     string
}

// URL is the clone URL of a repository, as pods see it.
func (s *Server) URL(repo string) string { return "git://" + s.Host + "/" + repo + ".git" }

// Deploy deploys the git server in ns, using image (the gitd program),
// waits until it serves, then commits each of repos into it: the sources
// go through the API server's exec stream, so their size is not bound by
// any object's.
func Deploy(ctx context.Context, c *kube.Clients, ns, image string, repos []Repo, l log.Logger) (*Server, error) {
	start := time.Now()
	if len(repos) == 0 {
		return nil, fmt.Errorf("deploy git server: no repositories")
	}
	daemon := kube.Server{
		Name: name_, Namespace: ns, Selector: kube.Labels(name_),
		Container: corev1.Container{
			Name: container, Image: image,
			Command:        []string{gitd.Binary, "serve", fmt.Sprintf("-listen=:%d", port)},
			Env:            []corev1.EnvVar{{Name: "GIT_ROOT", Value: "/srv/git"}},
			Ports:          []corev1.ContainerPort{{Name: "git", ContainerPort: port}},
			ReadinessProbe: kube.TCPReady(port),
			VolumeMounts:   []corev1.VolumeMount{{Name: "repos", MountPath: "/srv/git"}},
		},
		Volumes: []corev1.Volume{{Name: "repos", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
	}
	if err := c.Deploy(ctx, daemon, daemon.Service(name_, "git", port, port)); err != nil {
		return nil, fmt.Errorf("deploy git server: %w", err)
	}
	pod, err := c.RunningPod(ctx, ns, daemon.PodSelector())
	if err != nil {
		return nil, fmt.Errorf("deploy git server: %w", err)
	}
	s := &Server{Namespace: ns, Host: fmt.Sprintf("%s.%s.svc.cluster.local", name_, ns), clients: c, pod: pod}
	var names []string
	for _, r := range repos {
		size, err := s.Add(ctx, r)
		if err != nil {
			return nil, fmt.Errorf("deploy git server: %w", err)
		}
		names = append(names, fmt.Sprintf("%s (%d KiB)", r.Name, size>>10))
	}
	l.Infof("git server ready at git://%s with %s in %s", s.Host, strings.Join(names, ", "), time.Since(start).Round(100*time.Millisecond))
	return s, nil
}

// Add commits r's files as the only commit of repository r.Name and
// returns the size of what it sent.
func (s *Server) Add(ctx context.Context, r Repo) (int, error) {
	data, err := tarFS(r.Files)
	if err != nil {
		return 0, fmt.Errorf("pack %s: %w", r.Name, err)
	}
	if _, err := s.run(ctx, bytes.NewReader(data), "commit", r.Name); err != nil {
		return 0, fmt.Errorf("commit %s: %w", r.Name, err)
	}
	return len(data), nil
}

// run runs a command of the git server in its container and returns what
// it printed, trimmed.
func (s *Server) run(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	out, err := s.clients.Exec(ctx, s.Namespace, s.pod, container, append([]string{gitd.Binary}, args...), stdin)
	return strings.TrimSpace(out), err
}

// Branch points branch of repo at the main branch's commit, creating it or
// resetting it: a round's changes start from the workload's own commit.
func (s *Server) Branch(ctx context.Context, repo, branch string) error {
	if _, err := s.run(ctx, nil, "branch", repo, branch); err != nil {
		return fmt.Errorf("git server: branch %s of %s: %w", branch, repo, err)
	}
	return nil
}

// AppendLine commits on branch of repo the file with line appended (a
// line of its own, possibly empty) and returns the new commit.
func (s *Server) AppendLine(ctx context.Context, repo, branch, file, line string) (string, error) {
	out, err := s.run(ctx, nil, "append", repo, branch, file, line)
	if err != nil {
		return "", fmt.Errorf("git server: commit a change of %s on %s of %s: %w", file, branch, repo, err)
	}
	return out, nil
}

// ChangedFiles lists the files that differ between two commits of repo.
func (s *Server) ChangedFiles(ctx context.Context, repo, from, to string) ([]string, error) {
	out, err := s.run(ctx, nil, "diff", repo, from, to)
	if err != nil {
		return nil, fmt.Errorf("git server: diff %s..%s of %s: %w", from, to, repo, err)
	}
	return strings.Fields(out), nil
}

// EmptyCommit commits on branch of repo a commit that changes no file and
// returns it.
func (s *Server) EmptyCommit(ctx context.Context, repo, branch, message string) (string, error) {
	out, err := s.run(ctx, nil, "empty", repo, branch, message)
	if err != nil {
		return "", fmt.Errorf("git server: commit on %s of %s: %w", branch, repo, err)
	}
	return out, nil
}

// Files returns the files of commit of repo, by their paths in it.
func (s *Server) Files(ctx context.Context, repo, commit string) (map[string][]byte, error) {
	out, err := s.clients.Exec(ctx, s.Namespace, s.pod, container, []string{gitd.Binary, "files", repo, commit}, nil)
	if err != nil {
		return nil, fmt.Errorf("git server: files of %s of %s: %w", commit, repo, err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(strings.NewReader(out))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, fmt.Errorf("git server: files of %s of %s: %w", commit, repo, err)
		}
		if files[h.Name], err = io.ReadAll(tr); err != nil {
			return nil, fmt.Errorf("git server: files of %s of %s: %w", commit, repo, err)
		}
	}
}

// Head returns the commit branch of repo points at.
func (s *Server) Head(ctx context.Context, repo, branch string) (string, error) {
	out, err := s.run(ctx, nil, "head", repo, branch)
	if err != nil {
		return "", fmt.Errorf("git server: head of %s of %s: %w", branch, repo, err)
	}
	return out, nil
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
		// git keeps a file's executable bit, and only that.
		mode := int64(0o644)
		if info, err := fs.Stat(fsys, p); err == nil && info.Mode()&0o111 != 0 {
			mode = 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Name: p, Mode: mode, Size: int64(len(data)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
