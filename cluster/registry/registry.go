// Package registry deploys the in-cluster image registry the builds pull
// base images from and push results and layer caches to, with basic auth,
// and hands kaniko its credentials through a docker config.json Secret.
package registry

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/crypto/bcrypt"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/cachebench/cachebench/cluster/kube"
	"github.com/cachebench/cachebench/log"
)

const (
	name_        = "registry"
	port         = 5000
	user         = "cachebench"
	credsSecret  = "registry-credentials" // username and password, so a reused cluster keeps working
	htpasswdName = "registry-htpasswd"
	dataClaim    = "registry-data"
	// AuthSecret is the docker config Secret kaniko mounts (key config.json).
	AuthSecret = "registry-auth"
)

// DataSize is the size of the registry's volume (base images, cache
// repositories, pushed images of a benchmark).
var DataSize = resource.MustParse("20Gi")

// Registry is a deployed in-cluster registry.
type Registry struct {
	Namespace string
	// Host is how pods reach it: <service>.<namespace>.svc.cluster.local:5000.
	Host     string
	User     string
	Password string
	clients  *kube.Clients
}

// config is the registry's configuration: filesystem storage on a volume
// of its own (so that a restarted registry pod keeps its images), deletes
// allowed, basic auth from the htpasswd Secret.
const config = `version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
auth:
  htpasswd:
    realm: cachebench
    path: /auth/htpasswd
`

// Deploy deploys (or updates) the registry in ns with image and waits for it.
func Deploy(ctx context.Context, c *kube.Clients, ns, image string, l log.Logger) (*Registry, error) {
	start := time.Now()
	r := &Registry{Namespace: ns, Host: fmt.Sprintf("%s.%s.svc.cluster.local:%d", name_, ns, port), User: user, clients: c}
	if err := r.ensureCredentials(ctx); err != nil {
		return nil, fmt.Errorf("deploy registry: %w", err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(r.Password), bcrypt.DefaultCost)
	if err != nil {
		return nil, err
	}
	dockerConfig, err := r.DockerConfigJSON()
	if err != nil {
		return nil, err
	}
	objs := []runtime.Object{
		&corev1.Secret{ObjectMeta: meta(htpasswdName, ns), StringData: map[string]string{"htpasswd": user + ":" + string(hash) + "\n"}},
		&corev1.Secret{ObjectMeta: meta(AuthSecret, ns), Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: dockerConfig}},
		&corev1.ConfigMap{ObjectMeta: meta(name_+"-config", ns), Data: map[string]string{"config.yml": config}},
		&corev1.PersistentVolumeClaim{
			ObjectMeta: meta(dataClaim, ns),
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: DataSize}},
			},
		},
	}
	labels := map[string]string{"app.kubernetes.io/name": name_, "app.kubernetes.io/part-of": "cachebench"}
	one := int32(1)
	dep := &appsv1.Deployment{
		ObjectMeta: meta(name_, ns),
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{
						Name:            name_,
						Image:           image,
						ImagePullPolicy: corev1.PullIfNotPresent,
						Command:         []string{"/bin/registry", "serve", "/etc/cachebench-registry/config.yml"},
						Ports:           []corev1.ContainerPort{{Name: "registry", ContainerPort: port}},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(port)}},
							PeriodSeconds: 1,
						},
						VolumeMounts: []corev1.VolumeMount{
							{Name: "config", MountPath: "/etc/cachebench-registry"},
							{Name: "auth", MountPath: "/auth"},
							{Name: "data", MountPath: "/var/lib/registry"},
						},
					}},
					Volumes: []corev1.Volume{
						{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name_ + "-config"}}}},
						{Name: "auth", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: htpasswdName}}},
						{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: dataClaim}}},
					},
				},
			},
		},
	}
	svc := &corev1.Service{
		ObjectMeta: meta(name_, ns),
		Spec: corev1.ServiceSpec{
			Selector: labels,
			Ports:    []corev1.ServicePort{{Name: "registry", Port: port, TargetPort: intstr.FromInt32(port)}},
		},
	}
	if err := c.ApplyObjects(ctx, append(objs, dep, svc)...); err != nil {
		return nil, fmt.Errorf("deploy registry: %w", err)
	}
	if err := c.WaitDeployments(ctx, ns, []string{name_}, 3*time.Minute); err != nil {
		return nil, fmt.Errorf("deploy registry: %w", err)
	}
	l.Infof("registry ready at %s in %s", r.Host, time.Since(start).Round(100*time.Millisecond))
	return r, nil
}

// Scale sets the registry's replicas and, when above zero, waits until it
// serves again (fault tests take it away in the middle of a build).
func (r *Registry) Scale(ctx context.Context, replicas int32) error {
	patch := []byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas))
	if _, err := r.clients.Kube.AppsV1().Deployments(r.Namespace).Patch(ctx, name_, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("scale registry to %d: %w", replicas, err)
	}
	if replicas == 0 {
		return nil
	}
	if err := r.clients.WaitDeployments(ctx, r.Namespace, []string{name_}, 3*time.Minute); err != nil {
		return fmt.Errorf("scale registry to %d: %w", replicas, err)
	}
	return nil
}

// ensureCredentials keeps the password of an earlier deploy, or makes one.
func (r *Registry) ensureCredentials(ctx context.Context) error {
	secrets := r.clients.Kube.CoreV1().Secrets(r.Namespace)
	s, err := secrets.Get(ctx, credsSecret, metav1.GetOptions{})
	if err == nil && len(s.Data["password"]) > 0 {
		r.Password = string(s.Data["password"])
		return nil
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	r.Password = hex.EncodeToString(b)
	_, err = secrets.Create(ctx, &corev1.Secret{ObjectMeta: meta(credsSecret, r.Namespace), StringData: map[string]string{"username": r.User, "password": r.Password}}, metav1.CreateOptions{})
	return err
}

// DockerConfigJSON is the docker config.json that grants access to the registry.
func (r *Registry) DockerConfigJSON() ([]byte, error) {
	auth := base64.StdEncoding.EncodeToString([]byte(r.User + ":" + r.Password))
	return json.Marshal(map[string]any{"auths": map[string]any{r.Host: map[string]string{"username": r.User, "password": r.Password, "auth": auth}}})
}

// Ref is the in-cluster reference of repo:tag.
func (r *Registry) Ref(repoTag string) string { return r.Host + "/" + repoTag }

// Session is a connection from this host to the registry through a port
// forward, for pushing base images and resetting cache repositories.
type Session struct {
	host string
	auth authn.Authenticator
	stop func()
}

// Connect opens a Session.
func (r *Registry) Connect(ctx context.Context) (*Session, error) {
	local, stop, err := r.clients.PortForward(ctx, r.Namespace, "app.kubernetes.io/name="+name_, port)
	if err != nil {
		return nil, fmt.Errorf("connect to registry: %w", err)
	}
	return &Session{host: fmt.Sprintf("localhost:%d", local), auth: &authn.Basic{Username: r.User, Password: r.Password}, stop: stop}, nil
}

// Close ends the port forward.
func (s *Session) Close() { s.stop() }

func (s *Session) tag(repoTag string) (name.Tag, error) {
	return name.NewTag(s.host+"/"+repoTag, name.Insecure)
}

// Push writes img to repo:tag.
func (s *Session) Push(ctx context.Context, repoTag string, img v1.Image) error {
	t, err := s.tag(repoTag)
	if err != nil {
		return err
	}
	if err := remote.Write(t, img, remote.WithAuth(s.auth), remote.WithContext(ctx)); err != nil {
		return fmt.Errorf("push %s: %w", repoTag, err)
	}
	return nil
}

// Tags lists the tags of repo (none when the repository does not exist).
func (s *Session) Tags(ctx context.Context, repo string) ([]string, error) {
	r, err := name.NewRepository(s.host+"/"+repo, name.Insecure)
	if err != nil {
		return nil, err
	}
	tags, err := remote.List(r, remote.WithAuth(s.auth), remote.WithContext(ctx))
	if err != nil {
		var terr *transport.Error
		if errors.As(err, &terr) && slices.ContainsFunc(terr.Errors, func(d transport.Diagnostic) bool { return d.Code == transport.NameUnknownErrorCode }) {
			return nil, nil
		}
		return nil, err
	}
	return tags, nil
}

func meta(n, ns string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: n, Namespace: ns, Labels: map[string]string{"app.kubernetes.io/part-of": "cachebench"}}
}
