// Package registry deploys the in-cluster image registries, one per role:
// upstream, where base images live (standing for Docker Hub or a vendor's
// registry: anyone may pull), and cache, near the cluster, where builds push
// their images and layer caches (basic auth; the builders get its
// credentials through a docker config.json Secret).
//
// Pods reach a registry by its role's name, which is the Service of the
// network profile in front of it (package network); the registry's own
// Service is <name>-origin, which only that proxy uses.
package registry

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/crypto/bcrypt"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/cachebench/cachebench/cluster/kube"
	"github.com/cachebench/cachebench/log"
)

// Role is what a registry stands for in the benchmark.
type Role string

const (
	// Upstream holds the base images, far from the cluster: Docker Hub or a
	// vendor's registry. Anyone may pull.
	Upstream Role = "upstream"
	// Cache is near the cluster: builds push their images and layer caches
	// there, with credentials.
	Cache Role = "cache"
	// Mirror is a pull-through cache of upstream near the cluster (a
	// registry mirror, a Harbor proxy cache): the mirror strategy's. Its
	// storage is an emptyDir, so a restart empties it.
	Mirror Role = "mirror"
)

// Host is how pods reach the registry of role in ns: its role's name,
// the Service of the network proxy in front of it.
func Host(role Role, ns string) string {
	return fmt.Sprintf("%s.%s.svc.cluster.local:%d", role.Name(), ns, Port)
}

// OriginHost is the registry's own Service (host:port): what the network
// proxy forwards to.
func OriginHost(role Role, ns string) string {
	return fmt.Sprintf("%s-origin.%s.svc.cluster.local:%d", role.Name(), ns, Port)
}

// Name is the role's Service name, the name pods reach it by.
func (r Role) Name() string {
	if r == Cache {
		return "registry"
	}
	return string(r)
}

const (
	// Port is the port every registry serves on, behind its proxy too.
	Port = 5000
	// ReadOnlyPort is the upstream registry's read-only front, which its
	// Service (and so the network proxy) sends pods to.
	ReadOnlyPort      = 5001
	readOnlyContainer = "read-only"
	user              = "cachebench"
	// AuthSecret is the docker config Secret the builders mount (key
	// config.json), with the cache registry's credentials.
	AuthSecret   = "registry-auth"
	credsSecret  = "registry-credentials" // username and password, so a reused cluster keeps working
	htpasswdName = "registry-htpasswd"
)

// DataSize is the size of a registry's volume (base images, cache
// repositories, pushed images of a benchmark).
var DataSize = resource.MustParse("20Gi")

// Registry is a deployed in-cluster registry.
type Registry struct {
	Role      Role
	Namespace string
	// Host is how pods reach it, through its network profile:
	// <role name>.<namespace>.svc.cluster.local:5000.
	Host string
	// Origin is the registry's own Service (host:port), for the proxy.
	Origin string
	// User and Password are the credentials; empty for upstream.
	User     string
	Password string
	clients  *kube.Clients
}

// config is a registry's configuration: filesystem storage on a volume of
// its own (so that a restarted registry pod keeps its images), deletes
// allowed, an access log line per request (the traffic of a run is read
// from it), basic auth from the htpasswd Secret for the cache, and for the
// mirror the registry it pulls through from (remote, a URL). The upstream
// registry serves writes on the pod's loopback only (the harness pushes
// the bases through a port forward, which connects there); pods reach its
// read-only front (readOnlyConfig).
func config(role Role, remote string) string {
	c := distributionConfig{addr: fmt.Sprintf(":%d", Port), deletes: true}
	switch role {
	case Upstream:
		c.addr = fmt.Sprintf("127.0.0.1:%d", Port)
	case Cache:
		c.htpasswd = "/auth/htpasswd"
	case Mirror:
		c.remote = remote
	}
	return c.render()
}

// readOnlyConfig is the upstream registry's read-only front: the same
// storage, served on ReadOnlyPort, refusing uploads and deletes, so that
// no build can change the bases every later run pulls.
func readOnlyConfig() string {
	return distributionConfig{addr: fmt.Sprintf(":%d", ReadOnlyPort), readOnly: true}.render()
}

// distributionConfig is what the registry's containers differ in; render
// writes distribution's configuration file for it.
type distributionConfig struct {
	addr     string
	deletes  bool   // manifests and blobs may be deleted (the fault tests and cleanup do)
	readOnly bool   // uploads and deletes refused
	htpasswd string // basic auth against this file, when set
	remote   string // a pull-through cache of this registry, when set
}

func (c distributionConfig) render() string {
	var b strings.Builder
	b.WriteString("version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\n")
	b.WriteString("storage:\n  filesystem:\n    rootdirectory: /var/lib/registry\n")
	if c.deletes {
		b.WriteString("  delete:\n    enabled: true\n")
	}
	if c.readOnly {
		b.WriteString("  maintenance:\n    readonly:\n      enabled: true\n")
	}
	fmt.Fprintf(&b, "http:\n  addr: %s\n", c.addr)
	if c.htpasswd != "" {
		fmt.Fprintf(&b, "auth:\n  htpasswd:\n    realm: cachebench\n    path: %s\n", c.htpasswd)
	}
	if c.remote != "" {
		fmt.Fprintf(&b, "proxy:\n  remoteurl: %s\n", c.remote)
	}
	return b.String()
}

// LogContainer is the container whose access log holds the requests of
// pods: the upstream registry's read-only front, the registry itself for
// the others.
func (r *Registry) LogContainer() string {
	if r.Role == Upstream {
		return readOnlyContainer
	}
	return "registry"
}

// Deploy deploys (or updates) the registry of role in ns with image and
// waits for it.
func Deploy(ctx context.Context, c *kube.Clients, ns, image string, role Role, l log.Logger) (*Registry, error) {
	start := time.Now()
	r := &Registry{Role: role, Namespace: ns, clients: c, Host: Host(role, ns), Origin: OriginHost(role, ns)}
	if role == Mirror {
		return nil, errors.New("deploy registry: a mirror is deployed with DeployMirror")
	}
	if role != Cache {
		return r, r.deploy(ctx, image, "", nil, start, l)
	}
	r.User = user
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
	secrets := []runtime.Object{
		&corev1.Secret{ObjectMeta: kube.Meta(htpasswdName, ns), StringData: map[string]string{"htpasswd": user + ":" + string(hash) + "\n"}},
		&corev1.Secret{ObjectMeta: kube.Meta(AuthSecret, ns), Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: dockerConfig}},
	}
	return r, r.deploy(ctx, image, "", secrets, start, l)
}

// DeployMirror deploys (or updates) the pull-through mirror of upstream in
// ns with image and waits for it. It pulls from upstream by upstream's
// Host, so through upstream's network profile: the proxy must be there
// first (distribution asks its remote at start and gives up without one).
func DeployMirror(ctx context.Context, c *kube.Clients, ns, image string, upstream *Registry, l log.Logger) (*Registry, error) {
	r := &Registry{Role: Mirror, Namespace: ns, clients: c, Host: Host(Mirror, ns), Origin: OriginHost(Mirror, ns)}
	return r, r.deploy(ctx, image, "http://"+upstream.Host, nil, time.Now(), l)
}

// deploy applies the registry's objects (with extra ones) and waits for it.
func (r *Registry) deploy(ctx context.Context, image, remote string, extra []runtime.Object, start time.Time, l log.Logger) error {
	name_, ns := r.Role.Name(), r.Namespace
	configs := map[string]string{"config.yml": config(r.Role, remote)}
	if r.Role == Upstream {
		configs["read-only.yml"] = readOnlyConfig()
	}
	objs := append(extra, &corev1.ConfigMap{ObjectMeta: kube.Meta(name_+"-config", ns), Data: configs})
	data := corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
	if r.Role != Mirror {
		objs = append(objs, &corev1.PersistentVolumeClaim{
			ObjectMeta: kube.Meta(name_+"-data", ns),
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: DataSize}},
			},
		})
		data = corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name_ + "-data"}}
	}
	mounts := []corev1.VolumeMount{
		{Name: "config", MountPath: "/etc/cachebench-registry"},
		{Name: "data", MountPath: "/var/lib/registry"},
	}
	volumes := []corev1.Volume{
		{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name_ + "-config"}}}},
		{Name: "data", VolumeSource: data},
	}
	if r.Role == Cache {
		mounts = append(mounts, corev1.VolumeMount{Name: "auth", MountPath: "/auth"})
		volumes = append(volumes, corev1.Volume{Name: "auth", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: htpasswdName}}})
	}
	server := r.server()
	// A reused cluster's registry restarts when its configuration changed:
	// it reads it only when it starts.
	hash := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(configs)) {
		hash.Write([]byte(k + "\x00" + configs[k] + "\x00"))
	}
	server.Annotations = map[string]string{"cachebench/config": fmt.Sprintf("%x", hash.Sum(nil))}
	server.Container = corev1.Container{
		Name:           "registry",
		Image:          image,
		Command:        []string{"/bin/registry", "serve", "/etc/cachebench-registry/config.yml"},
		Ports:          []corev1.ContainerPort{{Name: "registry", ContainerPort: Port}},
		ReadinessProbe: kube.TCPReady(Port),
		VolumeMounts:   mounts,
	}
	server.Volumes = volumes
	target := int32(Port)
	if r.Role == Upstream {
		// Probes reach the pod's address, which the writable registry
		// does not listen on: the front's readiness stands for both, and
		// the writable one is awaited through a port forward below.
		server.Container.Ports, server.Container.ReadinessProbe = nil, nil
		server.Sidecars = []corev1.Container{{
			Name:           readOnlyContainer,
			Image:          image,
			Command:        []string{"/bin/registry", "serve", "/etc/cachebench-registry/read-only.yml"},
			Ports:          []corev1.ContainerPort{{Name: "read-only", ContainerPort: ReadOnlyPort}},
			ReadinessProbe: kube.TCPReady(ReadOnlyPort),
			VolumeMounts:   mounts,
		}}
		target = ReadOnlyPort
	}
	if err := r.clients.Deploy(ctx, server, append(objs, server.Service(name_+"-origin", "registry", Port, target))...); err != nil {
		return fmt.Errorf("deploy %s registry: %w", r.Role, err)
	}
	if r.Role == Upstream {
		if err := r.awaitWritable(ctx); err != nil {
			return fmt.Errorf("deploy %s registry: %w", r.Role, err)
		}
	}
	l.Infof("%s registry ready at %s in %s", r.Role, r.Host, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// server is the registry's server, less its container and volumes. The
// selector is what it was before there were roles (a Deployment's
// selector cannot change, and --reuse may meet an older one); the pods
// carry the component label on top.
func (r *Registry) server() kube.Server {
	return kube.Server{
		Name: r.Role.Name(), Namespace: r.Namespace, Selector: kube.Labels(r.Role.Name()),
		Labels: map[string]string{"app.kubernetes.io/component": "registry"},
	}
}

// PodSelector selects the registry's pods.
func (r *Registry) PodSelector() string { return r.server().PodSelector() }

// Scale sets the registry's replicas and, when above zero, waits until it
// serves again (fault tests take it away in the middle of a build).
func (r *Registry) Scale(ctx context.Context, replicas int32) error {
	patch := []byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas))
	if _, err := r.clients.Kube.AppsV1().Deployments(r.Namespace).Patch(ctx, r.Role.Name(), types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("scale %s registry to %d: %w", r.Role, replicas, err)
	}
	if replicas == 0 {
		// Taken away as a crash would: its pods killed at once, not drained
		// (a terminating registry still answers, slowly, through its
		// Service), and gone, not only the Deployment told.
		now := int64(0)
		if err := r.clients.Kube.CoreV1().Pods(r.Namespace).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &now}, metav1.ListOptions{LabelSelector: r.PodSelector()}); err != nil {
			return fmt.Errorf("scale %s registry to 0: %w", r.Role, err)
		}
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
			pods, err := r.clients.Kube.CoreV1().Pods(r.Namespace).List(ctx, metav1.ListOptions{LabelSelector: r.PodSelector()})
			return err == nil && len(pods.Items) == 0, err
		})
		if err != nil {
			return fmt.Errorf("scale %s registry to 0: its pods did not go: %w", r.Role, err)
		}
		return nil
	}
	if err := r.clients.WaitDeployments(ctx, r.Namespace, []string{r.Role.Name()}, 3*time.Minute); err != nil {
		return fmt.Errorf("scale %s registry to %d: %w", r.Role, replicas, err)
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
	_, err = secrets.Create(ctx, &corev1.Secret{ObjectMeta: kube.Meta(credsSecret, r.Namespace), StringData: map[string]string{"username": r.User, "password": r.Password}}, metav1.CreateOptions{})
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
// forward to its pod (past its network profile), for pushing base images
// and resetting cache repositories.
type Session struct {
	host string
	auth authn.Authenticator
	stop func()
}

// Connect opens a Session.
func (r *Registry) Connect(ctx context.Context) (*Session, error) {
	local, stop, err := r.clients.PortForward(ctx, r.Namespace, r.PodSelector(), Port)
	if err != nil {
		return nil, fmt.Errorf("connect to %s registry: %w", r.Role, err)
	}
	var auth authn.Authenticator = authn.Anonymous
	if r.User != "" {
		auth = &authn.Basic{Username: r.User, Password: r.Password}
	}
	return &Session{host: fmt.Sprintf("localhost:%d", local), auth: auth, stop: stop}, nil
}

// awaitWritable waits until the registry answers on its loopback port,
// through a port forward.
func (r *Registry) awaitWritable(ctx context.Context) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		sess, err := r.Connect(ctx)
		if err != nil {
			last = err
			return false, nil
		}
		defer sess.Close()
		if last = sess.Ping(ctx); last != nil {
			return false, nil
		}
		return true, nil
	})
	if err != nil && last != nil {
		return fmt.Errorf("the writable registry does not answer: %w", last)
	}
	return err
}

// Ping asks the registry's API root (/v2/).
func (s *Session) Ping(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.host+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized {
		return fmt.Errorf("GET /v2/: %s", resp.Status)
	}
	return nil
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

// Image reads repo:tag.
func (s *Session) Image(ctx context.Context, repoTag string) (v1.Image, error) {
	t, err := s.tag(repoTag)
	if err != nil {
		return nil, err
	}
	img, err := remote.Image(t, remote.WithAuth(s.auth), remote.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", repoTag, err)
	}
	return img, nil
}

// ImageByDigest reads the image of repo at digest ("sha256:...").
func (s *Session) ImageByDigest(ctx context.Context, repo, digest string) (v1.Image, error) {
	ref, err := name.NewDigest(s.host+"/"+repo+"@"+digest, name.Insecure)
	if err != nil {
		return nil, err
	}
	img, err := remote.Image(ref, remote.WithAuth(s.auth), remote.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("read %s@%s: %w", repo, digest, err)
	}
	return img, nil
}

// Copy writes the image at src to dst, both repo:tag in this registry:
// its blobs are mounted from src's repository, not uploaded again.
func (s *Session) Copy(ctx context.Context, src, dst string) error {
	img, err := s.Image(ctx, src)
	if err != nil {
		return err
	}
	return s.Push(ctx, dst, img)
}

// CopyWithEnv writes the image at src to dst with env appended to its
// configuration's environment (a variable already there is replaced), its
// layers mounted from src. It returns dst's digest.
func (s *Session) CopyWithEnv(ctx context.Context, src, dst string, env []string) (string, error) {
	return s.copyWithConfig(ctx, src, dst, func(cfg *v1.Config) { cfg.Env = MergeEnv(cfg.Env, env) })
}

// copyWithConfig writes the image at src to dst with its configuration
// edited: a new digest with the same layers. It returns the new digest.
func (s *Session) copyWithConfig(ctx context.Context, src, dst string, edit func(*v1.Config)) (string, error) {
	img, err := s.Image(ctx, src)
	if err != nil {
		return "", err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return "", fmt.Errorf("copy %s: %w", src, err)
	}
	cfg := *cf.Config.DeepCopy()
	edit(&cfg)
	out, err := mutate.Config(img, cfg)
	if err != nil {
		return "", fmt.Errorf("copy %s: %w", src, err)
	}
	if err := s.Push(ctx, dst, out); err != nil {
		return "", err
	}
	d, err := out.Digest()
	if err != nil {
		return "", fmt.Errorf("copy %s: %w", src, err)
	}
	return d.String(), nil
}

// MergeEnv sets each KEY=VALUE of add in env, replacing the variable's
// earlier value, in env's order with new variables last.
func MergeEnv(env, add []string) []string {
	out := slices.Clone(env)
	for _, kv := range add {
		key, _, _ := strings.Cut(kv, "=")
		i := slices.IndexFunc(out, func(e string) bool { k, _, _ := strings.Cut(e, "="); return k == key })
		if i >= 0 {
			out[i] = kv
		} else {
			out = append(out, kv)
		}
	}
	return out
}

// Relabel gives the image at repoTag a new digest with the same layers:
// it adds the label key=value to its configuration and pushes it back
// under the same tag. It returns the new digest.
func (s *Session) Relabel(ctx context.Context, repoTag, key, value string) (string, error) {
	d, err := s.copyWithConfig(ctx, repoTag, repoTag, func(cfg *v1.Config) {
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		cfg.Labels[key] = value
	})
	if err != nil {
		return "", fmt.Errorf("relabel %s: %w", repoTag, err)
	}
	return d, nil
}

// BlobSize is the size of a blob of repo.
func (s *Session) BlobSize(ctx context.Context, repo, digest string) (int64, error) {
	d, err := name.NewDigest(s.host+"/"+repo+"@"+digest, name.Insecure)
	if err != nil {
		return 0, err
	}
	l, err := remote.Layer(d, remote.WithAuth(s.auth), remote.WithContext(ctx))
	if err != nil {
		return 0, err
	}
	n, err := l.Size()
	if err != nil {
		return 0, fmt.Errorf("size of %s@%s: %w", repo, digest, err)
	}
	return n, nil
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

// RepoSize is what repo holds: every blob its tags reach (manifests,
// configurations, layers, and what indexes list, a cache export's layers
// too), each counted once, with the manifests' own bytes.
func (s *Session) RepoSize(ctx context.Context, repo string) (int64, error) {
	tags, err := s.Tags(ctx, repo)
	if err != nil {
		return 0, err
	}
	seen := map[string]bool{}
	var total int64
	var walk func(ref name.Reference) error
	walk = func(ref name.Reference) error {
		d, err := remote.Get(ref, remote.WithAuth(s.auth), remote.WithContext(ctx))
		if err != nil {
			return err
		}
		if seen[d.Digest.String()] {
			return nil
		}
		seen[d.Digest.String()] = true
		total += int64(len(d.Manifest))
		var m struct {
			Config    *v1.Descriptor  `json:"config"`
			Layers    []v1.Descriptor `json:"layers"`
			Manifests []v1.Descriptor `json:"manifests"`
		}
		if err := json.Unmarshal(d.Manifest, &m); err != nil {
			return fmt.Errorf("manifest %s: %w", ref, err)
		}
		blobs := m.Layers
		if m.Config != nil {
			blobs = append(blobs, *m.Config)
		}
		for _, c := range m.Manifests {
			if c.MediaType.IsIndex() || c.MediaType.IsImage() {
				if err := walk(ref.Context().Digest(c.Digest.String())); err != nil {
					return err
				}
				continue
			}
			blobs = append(blobs, c) // BuildKit's cache index lists its layers
		}
		for _, b := range blobs {
			if !seen[b.Digest.String()] {
				seen[b.Digest.String()] = true
				total += b.Size
			}
		}
		return nil
	}
	for _, t := range tags {
		tag, err := s.tag(repo + ":" + t)
		if err != nil {
			return 0, err
		}
		if err := walk(tag); err != nil {
			return 0, fmt.Errorf("size of %s: %w", repo, err)
		}
	}
	return total, nil
}
