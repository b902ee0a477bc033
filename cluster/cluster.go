// Package cluster brings up everything a benchmark runs on: a kind cluster
// (or an existing one), the images, Tekton Pipelines, the in-cluster
// registry and the git server. Each step is an e2e-framework env.Func, so
// that bench's TestMain and the cachebench CLI run the very same setup.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/envfuncs"
	"sigs.k8s.io/e2e-framework/support"

	"github.com/cachebench/cachebench/cluster/gitserver"
	"github.com/cachebench/cachebench/cluster/kind"
	"github.com/cachebench/cachebench/cluster/kube"
	"github.com/cachebench/cachebench/cluster/network"
	"github.com/cachebench/cachebench/cluster/pkgcache"
	"github.com/cachebench/cachebench/cluster/registry"
	"github.com/cachebench/cachebench/cluster/tekton"
	"github.com/cachebench/cachebench/cluster/triggers"
	"github.com/cachebench/cachebench/images"
	"github.com/cachebench/cachebench/log"
	"github.com/cachebench/cachebench/versions"
)

// Namespace is where the registry, the git server and the runs live.
const Namespace = "cachebench"

// Config says which cluster to use and how.
type Config struct {
	// Name of the kind cluster.
	Name string
	// Kubeconfig, when set, uses that existing cluster instead of kind.
	Kubeconfig string
	// Reuse takes over a running kind cluster of the same name.
	Reuse bool
	// Keep leaves the cluster running at the end.
	Keep bool
	// NodeImage overrides the node image of the image set.
	NodeImage string
	// Nodes is how many nodes a kind cluster made here has (0 or 1: one,
	// the control plane, which runs builds too).
	Nodes int
	// RegistryMirrors maps a registry host to the mirror the kind nodes
	// pull its images through.
	RegistryMirrors map[string]string
	// TektonFeatureFlags are set in Tekton's feature-flags ConfigMap.
	TektonFeatureFlags map[string]string
	Log                log.Logger
}

// DefaultFeatureFlags: the pv-warm build task binds two PVC workspaces
// (source and cache), which the default "coschedule: workspaces" refuses
// ("more than one PersistentVolumeClaim is bound"). One node: no affinity
// assistant needed. The report states it.
var DefaultFeatureFlags = map[string]string{"coschedule": "disabled"}

// Env is what the setup leaves for the benchmark.
type Env struct {
	Kubeconfig string
	Clients    *kube.Clients
	Namespace  string
	Images     *images.Set
	// Upstream holds the base images; Registry is the cache registry,
	// where builds push images and layer caches; Mirror is the pull-through
	// mirror of upstream (the mirror strategy).
	Upstream *registry.Registry
	Registry *registry.Registry
	Mirror   *registry.Registry
	// Network puts a network profile in front of each registry and the
	// package cache.
	Network *network.Proxy
	// Packages is the package cache, nil unless the benchmark proxies
	// packages (it deploys it).
	Packages *pkgcache.Cache
	Git      *gitserver.Server
	// Listener is the EventListener runs started by push events go
	// through; nil unless the image set has Tekton Triggers.
	Listener *triggers.Listener
	// Bases maps a base image's logical name to its in-cluster reference.
	Bases map[string]string
	// Versions names what runs, for the results.
	Versions map[string]string
	// Kind is the kind provider, nil for an existing cluster.
	Kind *kind.Provider
	// BuildNodes are the worker nodes of a kind cluster with several
	// (--nodes), sorted, each build placed on one of them; none when the
	// cluster has one node, or is not one cachebench made.
	BuildNodes []string

	// versionsMu guards Versions while setup steps run side by side.
	versionsMu sync.Mutex
}

// setVersion records what runs, from a setup step.
func (e *Env) setVersion(k, v string) {
	e.versionsMu.Lock()
	defer e.versionsMu.Unlock()
	e.Versions[k] = v
}

// Registries lists the registries: upstream, cache, mirror.
func (e *Env) Registries() []*registry.Registry {
	return []*registry.Registry{e.Upstream, e.Registry, e.Mirror}
}

type envKey struct{}

// EnvFrom returns the Env stored by the setup.
func EnvFrom(ctx context.Context) (*Env, bool) {
	e, ok := ctx.Value(envKey{}).(*Env)
	return e, ok
}

// CheckDocker says in one line what is wrong when Docker cannot be used.
func CheckDocker(ctx context.Context) error {
	if _, err := exec.LookPath("docker"); err != nil {
		return errors.New("docker not found: run `sudo make docker` (host/install-docker.sh installs and starts it)")
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput()
	if err != nil {
		return fmt.Errorf("docker does not answer (%s): start dockerd, e.g. `sudo make docker`", strings.TrimSpace(lastLine(string(out))))
	}
	return nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// Provider returns the cluster provider for cfg and the image set.
func Provider(cfg Config, set *images.Set) support.E2EClusterProvider {
	if cfg.Kubeconfig != "" {
		return &Existing{Path: cfg.Kubeconfig}
	}
	node := set.NodeImage
	if cfg.NodeImage != "" {
		node = cfg.NodeImage
	}
	opts := []kind.Option{kind.WithName(cfg.Name), kind.WithNodeImage(node), kind.WithReuse(cfg.Reuse),
		kind.WithDefaultCNI(set.DefaultCNI), kind.WithLogger(cfg.Log), kind.WithRegistryMirrors(cfg.RegistryMirrors), kind.WithNodes(cfg.Nodes)}
	if len(set.Load) > 0 {
		opts = append(opts, kind.WithImages(func(w io.Writer) error { return images.WriteCombined(w, set.Load) }))
	}
	return kind.New(opts...)
}

// Setup returns the steps that bring the cluster up: create (or connect),
// load images, install Tekton, deploy the registries, the network proxy in
// front of them and the git server.
//
// Once the images are in, three chains run side by side, each mostly
// waiting for pods to become ready: Tekton, then Triggers (installed side
// by side, Triggers' webhook went away under its interceptors' apply); the
// registries, the network proxy in front of them, the mirror and the base
// images; the git server.
func Setup(cfg Config, set *images.Set, p support.E2EClusterProvider, repos []gitserver.Repo) []env.Func {
	return []env.Func{
		envfuncs.CreateClusterWithOpts(p, cfg.Name),
		connect(cfg, set, p),
		loadImages(cfg, set, p),
		together(
			[]env.Func{installTekton(cfg, set), installTriggers(cfg, set)},
			[]env.Func{deployRegistries(cfg, set), deployNetwork(cfg, set), deployMirror(cfg, set), pushBases(cfg, set)},
			[]env.Func{deployGit(cfg, set, repos)},
		),
	}
}

// together runs chains of steps side by side, the steps of each chain in
// order, and returns the first error. The steps share the environment in
// the context (each sets fields of its own) and return the context as
// they got it. What a step starts for the benchmark's whole life (a
// port-forward) lives on the context given, not on one ended with the
// setup.
func together(chains ...[]env.Func) env.Func {
	return func(ctx context.Context, c *envconf.Config) (context.Context, error) {
		var g errgroup.Group
		for _, chain := range chains {
			g.Go(func() error {
				for _, step := range chain {
					if _, err := step(ctx, c); err != nil {
						return err
					}
				}
				return nil
			})
		}
		return ctx, g.Wait()
	}
}

// Teardown returns the steps that end a run. The kind cluster is deleted
// when this run created it, unless Keep is set; what a failed or
// interrupted create left is deleted even then, as kind itself does, since
// the next run would refuse the name. A cluster taken over (Reuse) or given
// (Kubeconfig) is never deleted.
//
// p is the provider given to Setup: e2e-framework's DestroyCluster finds it
// in the context only once the cluster is up, too late for a failed create.
func Teardown(cfg Config, p support.E2EClusterProvider) []env.Func {
	return []env.Func{func(ctx context.Context, _ *envconf.Config) (context.Context, error) {
		if e, ok := EnvFrom(ctx); ok && e.Listener != nil {
			e.Listener.Close() // its port-forward
		}
		kp, isKind := p.(*kind.Provider)
		switch {
		case p == nil:
		case !isKind || cfg.Kubeconfig != "":
			cfg.Log.Infof("leaving the cluster of %s as it is: cachebench did not create it", p.GetKubeconfig())
		case cfg.Keep && !kp.Failed():
			if kp.Created() || kp.Reused() {
				cfg.Log.Infof("keeping kind cluster %q (keep); kubeconfig: %s", cfg.Name, kp.GetKubeconfig())
			}
		default:
			// Cleanup leaves what this run did not create.
			// Ctrl-C cancelled ctx, and deleting must still happen.
			if err := kp.Cleanup(context.WithoutCancel(ctx)); err != nil {
				return ctx, fmt.Errorf("teardown: %w", err)
			}
		}
		return ctx, nil
	}}
}

func connect(cfg Config, set *images.Set, p support.E2EClusterProvider) env.Func {
	return func(ctx context.Context, c *envconf.Config) (context.Context, error) {
		kc := p.GetKubeconfig()
		clients, err := kube.FromKubeconfig(kc)
		if err != nil {
			return ctx, err
		}
		v, err := clients.Ping(ctx, kube.PingTimeout)
		if err != nil {
			return ctx, err
		}
		if err := clients.EnsureNamespace(ctx, Namespace); err != nil {
			return ctx, err
		}
		e := &Env{Kubeconfig: kc, Clients: clients, Namespace: Namespace, Images: set, Bases: map[string]string{}}
		e.Kind, _ = p.(*kind.Provider)
		if e.Kind != nil {
			if e.BuildNodes, err = buildNodes(ctx, clients, cfg); err != nil {
				return ctx, err
			}
			clients.ServersOnControlPlane = len(e.BuildNodes) > 0
		}
		e.Versions = map[string]string{
			"tekton": versions.Tekton, "kind": versions.Kind,
			"images": string(set.Mode), "node-image": set.NodeImage,
			"registry-image": set.Registry, "kubernetes": v.GitVersion,
			"toxiproxy-image": set.Toxiproxy, "git-image": set.Git,
		}
		// The builders' images are the benchmark's to list: options may
		// replace those of the image set.
		return context.WithValue(ctx, envKey{}, e), nil
	}
}

// buildNodes returns the worker nodes of a kind cluster, checking that
// there are as many as asked: a cluster taken over (--reuse) may have
// been made with another --nodes.
func buildNodes(ctx context.Context, c *kube.Clients, cfg Config) ([]string, error) {
	nodes, err := c.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	var workers []string
	for _, n := range nodes.Items {
		if _, cp := n.Labels[kube.ControlPlaneLabel]; !cp {
			workers = append(workers, n.Name)
		}
	}
	slices.Sort(workers)
	want := max(cfg.Nodes, 1)
	if got := max(len(workers), 1); got != want {
		nodes := map[bool]string{true: "1 node", false: fmt.Sprintf("%d nodes", got)}[got == 1]
		return nil, fmt.Errorf("kind cluster %q has %s for builds and --nodes asks %d: give --nodes %d, or delete it (cachebench cluster down --cluster-name %s)", cfg.Name, nodes, want, got, cfg.Name)
	}
	if want == 1 {
		return nil, nil
	}
	return workers, nil
}

func mustEnv(ctx context.Context) (*Env, error) {
	e, ok := EnvFrom(ctx)
	if !ok {
		return nil, errors.New("cluster setup: no environment in context (connect step missing)")
	}
	return e, nil
}

func loadImages(cfg Config, set *images.Set, p support.E2EClusterProvider) env.Func {
	return func(ctx context.Context, c *envconf.Config) (context.Context, error) {
		if len(set.Load) == 0 {
			return ctx, nil
		}
		kp, ok := p.(*kind.Provider)
		if ok && kp.ImagesLoaded() {
			return ctx, nil // while the cluster was created
		}
		if !ok {
			// An existing cluster's nodes must have these images already (a
			// cluster made by "cachebench cluster up") or be able to pull them;
			// if not, the deployments that follow say which image is missing.
			cfg.Log.Warnf("cannot load images into an existing cluster; its nodes must have or pull: %s", strings.Join(images.SortedRefs(set.Load), ", "))
			return ctx, nil
		}
		start := time.Now()
		// A cluster taken over (--reuse) may have them already: an image
		// counts as there when its references and its configuration are.
		has, err := kp.Holds(ctx)
		if err != nil {
			return ctx, fmt.Errorf("load images: %w", err)
		}
		var missing []images.Archive
		for _, a := range set.Load {
			config, err := a.ConfigDigest()
			if err != nil || !has[config] || slices.ContainsFunc(a.Refs, func(r string) bool { return !has[r] }) {
				missing = append(missing, a)
			}
		}
		if len(missing) == 0 {
			cfg.Log.Infof("the cluster has its %d images already", len(set.Load))
			return ctx, nil
		}
		cfg.Log.Infof("loading %d images into the cluster in one import", len(missing))
		if err := kp.LoadImages(ctx, func(w io.Writer) error { return images.WriteCombined(w, missing) }); err != nil {
			return ctx, fmt.Errorf("load images: %w", err)
		}
		cfg.Log.Infof("loaded %d images in %s", len(missing), time.Since(start).Round(100*time.Millisecond))
		return ctx, nil
	}
}

func installTekton(cfg Config, set *images.Set) env.Func {
	return func(ctx context.Context, c *envconf.Config) (context.Context, error) {
		e, err := mustEnv(ctx)
		if err != nil {
			return ctx, err
		}
		var manifest []byte
		if set.TektonReleaseURL != "" {
			manifest, err = tekton.Download(ctx, set.TektonReleaseURL)
		} else {
			manifest, err = tekton.RenderFromModule(ctx, versions.Tekton, tekton.Images{Commands: set.TektonImages, Shell: set.TektonShell})
		}
		if err != nil {
			return ctx, fmt.Errorf("install tekton: %w", err)
		}
		flags := cfg.TektonFeatureFlags
		if flags == nil {
			flags = DefaultFeatureFlags
		}
		for k, v := range flags {
			e.setVersion("tekton-feature-flag/"+k, v)
		}
		e.setVersion("tekton-images", strings.Join(tekton.ReleaseImages(manifest), " "))
		return ctx, tekton.Install(ctx, e.Clients, manifest, flags, cfg.Log)
	}
}

// installTriggers installs Tekton Triggers, when the image set has it, and
// the EventListener of the benchmark's namespace.
func installTriggers(cfg Config, set *images.Set) env.Func {
	return func(ctx context.Context, c *envconf.Config) (context.Context, error) {
		if set.Triggers == nil {
			return ctx, nil
		}
		e, err := mustEnv(ctx)
		if err != nil {
			return ctx, err
		}
		var r triggers.Release
		if set.Triggers.ReleaseURL != "" {
			if r.Controller, err = tekton.Download(ctx, set.Triggers.ReleaseURL); err == nil {
				r.Interceptors, err = tekton.Download(ctx, set.Triggers.InterceptorsURL)
			}
		} else {
			r, err = triggers.RenderFromModule(ctx, versions.Triggers, set.Triggers.Commands)
		}
		if err != nil {
			return ctx, fmt.Errorf("install triggers: %w", err)
		}
		if err := triggers.Install(ctx, e.Clients, r, cfg.Log); err != nil {
			return ctx, err
		}
		e.setVersion("triggers", versions.Triggers)
		e.setVersion("triggers-images", strings.Join(tekton.ReleaseImages(append(r.Controller, r.Interceptors...)), " "))
		e.Listener, err = triggers.Deploy(ctx, e.Clients, e.Namespace, cfg.Log)
		return ctx, err
	}
}

func deployRegistries(cfg Config, set *images.Set) env.Func {
	return func(ctx context.Context, c *envconf.Config) (context.Context, error) {
		e, err := mustEnv(ctx)
		if err != nil {
			return ctx, err
		}
		if e.Upstream, err = registry.Deploy(ctx, e.Clients, e.Namespace, set.Registry, registry.Upstream, cfg.Log); err != nil {
			return ctx, err
		}
		e.Registry, err = registry.Deploy(ctx, e.Clients, e.Namespace, set.Registry, registry.Cache, cfg.Log)
		return ctx, err
	}
}

// deployMirror deploys the pull-through mirror of upstream, once the
// network proxy (through which it reaches upstream) is there.
func deployMirror(cfg Config, set *images.Set) env.Func {
	return func(ctx context.Context, c *envconf.Config) (context.Context, error) {
		e, err := mustEnv(ctx)
		if err != nil {
			return ctx, err
		}
		e.Mirror, err = registry.DeployMirror(ctx, e.Clients, e.Namespace, set.Registry, e.Upstream, cfg.Log)
		return ctx, err
	}
}

// deployNetwork puts the network proxy in front of every registry: pods
// reach each by its role's name through it, under the local profile until
// the benchmark sets another.
func deployNetwork(cfg Config, set *images.Set) env.Func {
	return func(ctx context.Context, c *envconf.Config) (context.Context, error) {
		e, err := mustEnv(ctx)
		if err != nil {
			return ctx, err
		}
		var routes []network.Route
		for _, role := range []registry.Role{registry.Upstream, registry.Cache, registry.Mirror} {
			routes = append(routes, network.Route{Name: role.Name(), Port: registry.Port, Origin: registry.OriginHost(role, e.Namespace)})
		}
		// The package cache is deployed by a benchmark that proxies packages
		// (it needs the build CA); its route is there either way.
		routes = append(routes, network.Route{Name: pkgcache.Name, Port: pkgcache.Port, Origin: pkgcache.OriginHost(e.Namespace)})
		e.Network, err = network.Deploy(ctx, e.Clients, e.Namespace, set.Toxiproxy, routes, cfg.Log)
		return ctx, err
	}
}

// pushBases puts the workloads' base images into the upstream registry
// (copied from their official source online, from archives offline), so
// that every strategy pulls them from the same place.
func pushBases(cfg Config, set *images.Set) env.Func {
	return func(ctx context.Context, c *envconf.Config) (context.Context, error) {
		e, err := mustEnv(ctx)
		if err != nil {
			return ctx, err
		}
		start := time.Now()
		sess, err := e.Upstream.Connect(ctx)
		if err != nil {
			return ctx, err
		}
		defer sess.Close()
		for logical, b := range set.Bases {
			img, err := b.Image(ctx)
			if err != nil {
				return ctx, fmt.Errorf("base image %s: %w", logical, err)
			}
			cfg.Log.Infof("pushing base image %s to the upstream registry as %s", logical, b.Repo)
			if err := sess.Push(ctx, b.Repo, img); err != nil {
				return ctx, fmt.Errorf("base image %s: %w", logical, err)
			}
			e.Bases[logical] = e.Upstream.Ref(b.Repo)
			if b.Remote != "" {
				e.setVersion("base-image/"+logical, b.Remote)
			}
		}
		cfg.Log.Infof("base images pushed in %s", time.Since(start).Round(100*time.Millisecond))
		return ctx, nil
	}
}

func deployGit(cfg Config, set *images.Set, repos []gitserver.Repo) env.Func {
	return func(ctx context.Context, c *envconf.Config) (context.Context, error) {
		e, err := mustEnv(ctx)
		if err != nil {
			return ctx, err
		}
		e.Git, err = gitserver.Deploy(ctx, e.Clients, e.Namespace, set.Git, repos, cfg.Log)
		return ctx, err
	}
}
