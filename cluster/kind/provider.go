// Package kind creates and deletes kind clusters through kind's Go API, and
// plugs them into e2e-framework as a support.E2EClusterProvider. (The
// framework's own kind support shells out to a kind binary it installs.)
package kind

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/e2e-framework/klient"
	"sigs.k8s.io/e2e-framework/support"
	kindv1alpha4 "sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"

	"github.com/cachebench/cachebench/log"
)

// Provider is a kind cluster managed through kind's Go API.
type Provider struct {
	name           string
	nodeImage      string
	version        string
	kubeconfigPath string
	reuse          bool
	defaultCNI     bool
	nodes          int
	waitForReady   time.Duration
	log            log.Logger

	kind       Backend
	restConfig *rest.Config
	// images writes the images to load into a new cluster's nodes while
	// its control plane starts (WithImages); loaded says they were.
	images func(io.Writer) error
	loaded bool
	// mirrors maps a registry host to the mirror its images are pulled
	// through (WithRegistryMirrors).
	mirrors map[string]string
	reused  bool
	// created: kind's Create was called, so a node may exist and is this
	// provider's to delete, whatever Create returned.
	created bool
	// createErr is why creating failed (Create, or the control plane wait
	// after it), nil once the cluster is up.
	createErr error
}

// Backend is the part of kind's cluster.Provider that Provider uses. It is
// kind's Docker provider unless WithBackend gives another (kind's podman
// provider, or a fake in tests).
type Backend interface {
	Create(name string, opts ...kindcluster.CreateOption) error
	Delete(name, kubeconfigPath string) error
	List() ([]string, error)
	ExportKubeConfig(name, kubeconfigPath string, internal bool) error
	ListInternalNodes(name string) ([]nodes.Node, error)
	CollectLogs(name, dir string) error
}

var (
	_ support.E2EClusterProvider                = (*Provider)(nil)
	_ support.E2EClusterProviderWithImageLoader = (*Provider)(nil)
	_ Backend                                   = (*kindcluster.Provider)(nil)
)

// Option configures a Provider.
type Option func(*Provider)

// WithName sets the cluster name.
func WithName(name string) Option { return func(p *Provider) { p.name = name } }

// WithNodeImage sets the node image (default: kind's image for the version).
func WithNodeImage(image string) Option { return func(p *Provider) { p.nodeImage = image } }

// WithKubeconfigPath sets where the cluster's kubeconfig is written.
func WithKubeconfigPath(path string) Option { return func(p *Provider) { p.kubeconfigPath = path } }

// WithReuse makes Create use a running cluster of the same name instead of
// refusing to touch it.
func WithReuse(reuse bool) Option { return func(p *Provider) { p.reuse = reuse } }

// WithDefaultCNI keeps kind's default CNI (kindnetd). Offline node images
// bring their own bridge configuration and turn it off.
func WithDefaultCNI(on bool) Option { return func(p *Provider) { p.defaultCNI = on } }

// WithNodes makes a cluster with n nodes for builds: for n above one, n
// workers beside the control plane, which kind then taints so that
// nothing of the builds' lands there; for one, the lone control plane,
// which kind leaves untainted.
func WithNodes(n int) Option { return func(p *Provider) { p.nodes = n } }

// WithLogger sets where progress goes.
func WithLogger(l log.Logger) Option { return func(p *Provider) { p.log = l } }

// WithImages gives the images (an archive in docker save format, as write
// produces it) to load into the nodes of a cluster Create makes: they are
// loaded while its control plane starts, as soon as the nodes' containerd
// answers, rather than after.
func WithImages(write func(io.Writer) error) Option { return func(p *Provider) { p.images = write } }

// WithRegistryMirrors has the nodes' containerd pull each registry host's
// images through a mirror (host -> URL, e.g. "docker.io" ->
// "http://10.89.0.1:5001"; a plain-HTTP URL is spoken to in plain HTTP), as
// kind documents it: containerd's hosts directory, one hosts.toml a host.
func WithRegistryMirrors(m map[string]string) Option {
	return func(p *Provider) { p.mirrors = m }
}

// hostsDir is where containerd looks for each registry host's settings.
const hostsDir = "/etc/containerd/certs.d"

// mirrorPatch points containerd at hostsDir (kind's node images of v0.27
// and later do by default; older containerd configurations do not).
const mirrorPatch = `[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "` + hostsDir + `"`

// hostsTOML is the hosts.toml of a registry host pulled through mirror.
func hostsTOML(host, mirror string) string {
	server := "https://" + host
	if host == "docker.io" {
		server = "https://registry-1.docker.io"
	}
	return fmt.Sprintf("server = %q\n\n[host.%q]\n  capabilities = [\"pull\", \"resolve\"]\n", server, mirror)
}

// writeMirrors writes the hosts.toml of every mirrored registry into every
// node: containerd reads them at each pull.
func (p *Provider) writeMirrors() error {
	if len(p.mirrors) == 0 {
		return nil
	}
	nodes, err := p.kind.ListInternalNodes(p.name)
	if err != nil {
		return fmt.Errorf("list nodes of %q: %w", p.name, err)
	}
	for _, n := range nodes {
		for host, mirror := range p.mirrors {
			dir := hostsDir + "/" + host
			if err := n.Command("mkdir", "-p", dir).Run(); err != nil {
				return fmt.Errorf("registry mirror of %s on node %s: %w", host, n.String(), err)
			}
			if err := nodeutils.WriteFile(n, dir+"/hosts.toml", hostsTOML(host, mirror)); err != nil {
				return fmt.Errorf("registry mirror of %s on node %s: %w", host, n.String(), err)
			}
		}
	}
	return nil
}

// WithBackend sets what creates and deletes the nodes (default: kind's
// Docker provider).
func WithBackend(b Backend) Option { return func(p *Provider) { p.kind = b } }

// New returns a Provider.
func New(opts ...Option) *Provider {
	p := &Provider{name: "cachebench", defaultCNI: true, waitForReady: 3 * time.Minute, log: log.NoOp()}
	for _, o := range opts {
		o(p)
	}
	return p
}

// WithName implements support.E2EClusterProvider.
func (p *Provider) WithName(name string) support.E2EClusterProvider { p.name = name; return p }

// WithVersion picks kind's published node image for a Kubernetes version,
// unless a node image was given.
func (p *Provider) WithVersion(version string) support.E2EClusterProvider {
	p.version = version
	return p
}

// WithPath is part of the interface; there is no kind binary to point at.
func (p *Provider) WithPath(string) support.E2EClusterProvider { return p }

// WithOpts implements support.E2EClusterProvider.
func (p *Provider) WithOpts(opts ...support.ClusterOpts) support.E2EClusterProvider {
	for _, o := range opts {
		o(p)
	}
	return p
}

// SetDefaults implements support.E2EClusterProvider.
func (p *Provider) SetDefaults() support.E2EClusterProvider {
	if p.name == "" {
		p.name = "cachebench"
	}
	if p.kind == nil {
		p.kind = kindcluster.NewProvider(kindcluster.ProviderWithDocker(), kindcluster.ProviderWithLogger(kindLogger{p.log}))
	}
	return p
}

func (p *Provider) image() string {
	if p.nodeImage != "" {
		return p.nodeImage
	}
	if p.version != "" {
		return "kindest/node:" + p.version
	}
	return ""
}

// Exists reports whether a kind cluster of this name runs.
func (p *Provider) Exists() (bool, error) {
	p.SetDefaults()
	names, err := p.kind.List()
	if err != nil {
		return false, fmt.Errorf("list kind clusters: %w", err)
	}
	return slices.Contains(names, p.name), nil
}

// kubeconfigFile is where the cluster's kubeconfig goes: the path given, or
// cachebench's own file named after the cluster.
func (p *Provider) kubeconfigFile() string {
	if p.kubeconfigPath != "" {
		return p.kubeconfigPath
	}
	return p.ownKubeconfig()
}

func (p *Provider) ownKubeconfig() string {
	return cachePath("kube", p.name+".kubeconfig")
}

// cachePath is a path under cachebench's folder of the user's cache.
func cachePath(elem ...string) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(append([]string{dir, "cachebench"}, elem...)...)
}

// Create creates the cluster (or takes over a running one when reuse is on)
// and returns the path of its kubeconfig.
func (p *Provider) Create(ctx context.Context, args ...string) (string, error) {
	p.SetDefaults()
	p.kubeconfigPath = p.kubeconfigFile()
	if err := os.MkdirAll(filepath.Dir(p.kubeconfigPath), 0o755); err != nil {
		return "", fmt.Errorf("kubeconfig of %q: %w", p.name, err)
	}
	exists, err := p.Exists()
	if err != nil {
		return "", err
	}
	if exists {
		if !p.reuse {
			return "", fmt.Errorf("a kind cluster named %q already exists: reuse it (--reuse, CACHEBENCH_REUSE=1), pick another --cluster-name, or delete it (cachebench cluster down --cluster-name %s)", p.name, p.name)
		}
		p.log.Infof("reusing kind cluster %q", p.name)
		p.reused = true
		if err := p.kind.ExportKubeConfig(p.name, p.kubeconfigPath, false); err != nil {
			return "", fmt.Errorf("export kubeconfig of %q: %w", p.name, err)
		}
		if err := p.writeMirrors(); err != nil {
			return "", err
		}
		return p.kubeconfigPath, p.loadRestConfig()
	}
	cfg := &kindv1alpha4.Cluster{
		Networking: kindv1alpha4.Networking{DisableDefaultCNI: !p.defaultCNI},
		Nodes:      []kindv1alpha4.Node{{Role: kindv1alpha4.ControlPlaneRole}},
	}
	if workers(p.nodes) > 0 {
		if err := os.MkdirAll(p.sharedDir(), 0o755); err != nil {
			return "", fmt.Errorf("shared folder of %q: %w", p.name, err)
		}
	}
	for range workers(p.nodes) {
		cfg.Nodes = append(cfg.Nodes, kindv1alpha4.Node{Role: kindv1alpha4.WorkerRole, ExtraMounts: p.sharedMount()})
	}
	if len(p.mirrors) > 0 {
		cfg.ContainerdConfigPatches = []string{mirrorPatch}
	}
	opts := []kindcluster.CreateOption{
		kindcluster.CreateWithV1Alpha4Config(cfg),
		kindcluster.CreateWithKubeconfigPath(p.kubeconfigPath),
		kindcluster.CreateWithWaitForReady(p.waitForReady),
		kindcluster.CreateWithDisplayUsage(false),
		kindcluster.CreateWithDisplaySalutation(false),
	}
	if img := p.image(); img != "" {
		opts = append(opts, kindcluster.CreateWithNodeImage(img))
	}
	start := time.Now()
	p.log.Infof("creating kind cluster %q (node image %s)", p.name, orDefault(p.image(), "kind's default"))
	// From here on a node may exist, whatever kind returns.
	p.created, p.createErr = true, nil
	// kind's Create takes no context: on Ctrl-C let it finish, so that the
	// teardown that follows deletes a whole cluster rather than half of one.
	done := make(chan error, 1)
	go func() { done <- p.kind.Create(p.name, opts...) }()
	lctx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	wired := make(chan error, 1)
	if !p.defaultCNI && workers(p.nodes) > 0 {
		go func() { wired <- p.wireBridges(lctx) }()
	} else {
		wired <- nil
	}
	loaded := make(chan error, 1)
	if p.images != nil {
		go func() { loaded <- p.loadWhileCreating(lctx) }()
	} else {
		loaded <- nil
	}
	select {
	case err = <-done:
	case <-ctx.Done():
		p.log.Warnf("interrupted: waiting for kind to finish creating %q so that it can be deleted", p.name)
		err = <-done
		if err == nil {
			err = ctx.Err()
		}
	}
	if err != nil {
		stopLoad()
	}
	if lerr := <-loaded; err == nil && lerr != nil {
		err = fmt.Errorf("load images: %w", lerr)
	}
	if werr := <-wired; err == nil && werr != nil {
		err = fmt.Errorf("wire the nodes' pod networks: %w", werr)
	}
	if err != nil {
		if takenMeanwhile(err) {
			// Another run created the name after Exists looked: kind made
			// nothing, and that cluster is not ours to delete.
			p.created = false
		}
		p.createErr = err
		return "", fmt.Errorf("create kind cluster %q: %w", p.name, err)
	}
	if err := p.writeMirrors(); err != nil {
		p.createErr = err
		return "", err
	}
	p.log.Infof("kind cluster %q is up in %s", p.name, time.Since(start).Round(100*time.Millisecond))
	if err := p.loadRestConfig(); err != nil {
		p.createErr = err
		return "", err
	}
	return p.kubeconfigPath, nil
}

// workers is how many worker nodes a cluster with n nodes for builds has.
func workers(n int) int {
	if n <= 1 {
		return 0
	}
	return n
}

// takenMeanwhile reports kind's refusal to create a cluster whose name has
// nodes already (kind has no typed error for it), made before any node.
func takenMeanwhile(err error) bool {
	return strings.Contains(err.Error(), "already exist for a cluster with the name")
}

// Reused reports whether Create took over an existing cluster.
func (p *Provider) Reused() bool { return p.reused }

// Created reports whether Create asked kind for the cluster, successfully or
// not: the cluster, or what is left of it, is then this provider's to delete.
func (p *Provider) Created() bool { return p.created }

// Failed reports whether creating the cluster failed or was interrupted
// after kind was asked for it (the control plane wait included): what is
// left is not a cluster to keep.
func (p *Provider) Failed() bool { return p.created && p.createErr != nil }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (p *Provider) loadRestConfig() error {
	cfg, err := clientcmd.BuildConfigFromFlags("", p.kubeconfigPath)
	if err != nil {
		return fmt.Errorf("load kubeconfig %s: %w", p.kubeconfigPath, err)
	}
	p.restConfig = cfg
	return nil
}

// CreateWithConfig creates the cluster from a kind config file.
func (p *Provider) CreateWithConfig(ctx context.Context, configFile string) (string, error) {
	return "", errors.New("cachebench's kind provider builds its own kind config; CreateWithConfig is not supported")
}

// GetKubeconfig returns the kubeconfig path.
func (p *Provider) GetKubeconfig() string { return p.kubeconfigPath }

// GenerateKubeconfig writes the kubeconfig again and returns its path.
func (p *Provider) GenerateKubeconfig(args ...string) (string, error) {
	p.SetDefaults()
	if err := p.kind.ExportKubeConfig(p.name, p.kubeconfigPath, false); err != nil {
		return "", fmt.Errorf("export kubeconfig: %w", err)
	}
	return p.kubeconfigPath, nil
}

// GetKubectlContext returns the kubeconfig context kind writes.
func (p *Provider) GetKubectlContext() string { return "kind-" + p.name }

// ExportLogs collects node logs into dest.
func (p *Provider) ExportLogs(ctx context.Context, dest string) error {
	p.SetDefaults()
	if err := p.kind.CollectLogs(p.name, dest); err != nil {
		return fmt.Errorf("collect logs of %q: %w", p.name, err)
	}
	return nil
}

// Destroy deletes the cluster, whoever created it (cachebench cluster down).
func (p *Provider) Destroy(ctx context.Context) error {
	p.SetDefaults()
	p.log.Infof("deleting kind cluster %q", p.name)
	return p.delete()
}

// Cleanup deletes what Create made: the cluster it created, or what a failed
// or interrupted Create left behind, which would make the next run refuse
// the name. It leaves alone a cluster Create took over (reuse), refused to
// touch, or never asked kind for. Pass a context that outlives Ctrl-C.
func (p *Provider) Cleanup(ctx context.Context) error {
	p.SetDefaults()
	switch {
	case p.reused:
		p.log.Infof("leaving kind cluster %q running: it was there before this run (reuse), so it is not this run's to delete", p.name)
		return nil
	case !p.created:
		p.log.Debugf("kind cluster %q: not created by this run, nothing to delete", p.name)
		return nil
	case p.createErr == nil:
		p.log.Infof("deleting kind cluster %q", p.name)
		return p.delete()
	}
	how := "a failed"
	if errors.Is(p.createErr, context.Canceled) {
		how = "an interrupted"
	}
	// kind deletes the nodes of a failed Create itself, mostly: ask rather
	// than assume.
	exists, err := p.Exists()
	switch {
	case err != nil:
		// Deleting nothing is harmless; not deleting would leave a node.
		p.log.Warnf("%v; deleting kind cluster %q left by %s create anyway", err, p.name, how)
	case !exists:
		p.log.Infof("kind cluster %q: %s create left nothing behind", p.name, how)
		p.created = false
		return nil
	default:
		p.log.Infof("deleting kind cluster %q left by %s create", p.name, how)
	}
	return p.delete()
}

func (p *Provider) delete() error {
	path := p.kubeconfigFile()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p.emptyShared(ctx)
	if err := p.kind.Delete(p.name, path); err != nil {
		return fmt.Errorf("delete kind cluster %q: %w", p.name, err)
	}
	if err := p.removeSharedDir(); err != nil {
		p.log.Warnf("%v", err)
	}
	p.created, p.createErr, p.restConfig = false, nil, nil
	if path == p.ownKubeconfig() {
		// kind only removes the cluster's entries: the emptied file is ours.
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			p.log.Warnf("remove kubeconfig of deleted cluster %q: %v", p.name, err)
		}
	}
	return nil
}

// WaitForControlPlane waits until the node is Ready and kube-system's pods run.
func (p *Provider) WaitForControlPlane(ctx context.Context, _ klient.Client) error {
	if p.restConfig == nil {
		return errors.New("wait for control plane: cluster not created")
	}
	err := WaitForControlPlane(ctx, p.restConfig, 3*time.Minute)
	if err != nil && p.created {
		// The cluster is there but not usable: as good as a failed create.
		p.createErr = err
	}
	return err
}

// WaitForControlPlane waits until every node is Ready and every kube-system
// pod is ready, so that DNS works before anything else is deployed.
func WaitForControlPlane(ctx context.Context, cfg *rest.Config, timeout time.Duration) error {
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	var last string
	err = wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		nodes, err := kc.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil || len(nodes.Items) == 0 {
			last = fmt.Sprintf("no nodes yet (%v)", err)
			return false, nil
		}
		for _, n := range nodes.Items {
			if !nodeReady(n) {
				last = "node " + n.Name + " not Ready"
				return false, nil
			}
		}
		pods, err := kc.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		for _, pod := range pods.Items {
			if !podReady(pod) {
				last = "pod kube-system/" + pod.Name + " not ready"
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("wait for control plane: %s: %w", last, err)
	}
	return nil
}

func nodeReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podReady(p corev1.Pod) bool {
	if p.Status.Phase == corev1.PodSucceeded {
		return true
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// KubernetesRestConfig returns the REST config of the created cluster.
func (p *Provider) KubernetesRestConfig() *rest.Config { return p.restConfig }

// LoadImage is not supported: cachebench loads archives it built itself.
func (p *Provider) LoadImage(ctx context.Context, image string, args ...string) error {
	return fmt.Errorf("load image %s: only image archives can be loaded (LoadImageArchive)", image)
}

// LoadImageArchive imports an image archive (docker save format) into every
// node's containerd, as "kind load image-archive" does.
func (p *Provider) LoadImageArchive(ctx context.Context, archivePath string, args ...string) error {
	p.SetDefaults()
	nodes, err := p.kind.ListInternalNodes(p.name)
	if err != nil {
		return fmt.Errorf("list nodes of %q: %w", p.name, err)
	}
	for _, n := range nodes {
		if err := ctx.Err(); err != nil {
			return err
		}
		f, err := os.Open(archivePath)
		if err != nil {
			return err
		}
		err = nodeutils.LoadImageArchive(n, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("load %s into node %s: %w", filepath.Base(archivePath), n.String(), err)
		}
	}
	return nil
}

var errImportEnded = errors.New("the import ended")

// loadWhileCreating waits until kubeadm has started on every node of the
// cluster being created (its CA exists: kind has configured containerd,
// and restarted it when patched, by then) and containerd answers, then
// loads the images into them.
func (p *Provider) loadWhileCreating(ctx context.Context) error {
	start := time.Now()
	_, err := p.awaitNodes(ctx, 1, "test -e /etc/kubernetes/pki/ca.crt && ctr version", 500*time.Millisecond, 3*time.Minute)
	if err != nil {
		return fmt.Errorf("wait for the nodes' containerd: %w", err)
	}
	p.log.Infof("loading images into %q while its control plane starts", p.name)
	if err := p.LoadImages(ctx, p.images); err != nil {
		return err
	}
	p.loaded = true
	p.log.Infof("images loaded in %s", time.Since(start).Round(100*time.Millisecond))
	return nil
}

// awaitNodes waits until kind lists at least want nodes of the cluster
// and script succeeds in each of them, and returns them.
func (p *Provider) awaitNodes(ctx context.Context, want int, script string, every, timeout time.Duration) ([]nodes.Node, error) {
	var ns []nodes.Node
	err := wait.PollUntilContextTimeout(ctx, every, timeout, true, func(ctx context.Context) (bool, error) {
		var err error
		if ns, err = p.kind.ListInternalNodes(p.name); err != nil || len(ns) < want {
			return false, nil
		}
		for _, n := range ns {
			if n.CommandContext(ctx, "sh", "-c", script).Run() != nil {
				return false, nil
			}
		}
		return true, nil
	})
	return ns, err
}

// wireBridges gives each node of a cluster of several a pod subnet of its
// own, and routes to the others': the offline node image's network is a
// bridge on one subnet (10.244.0.0/24), which one node needs and two
// would share. The control plane keeps it, worker N takes 10.244.N.0/24.
// It runs while kind creates the cluster, before the workers join, so no
// pod of theirs has an address of the wrong subnet.
func (p *Provider) wireBridges(ctx context.Context) error {
	want := 1 + workers(p.nodes)
	ns, err := p.awaitNodes(ctx, want, "true", 200*time.Millisecond, 2*time.Minute)
	if err != nil {
		return fmt.Errorf("wait for %d node containers: %w", want, err)
	}
	ips := map[int]string{}
	for _, n := range ns {
		ip, _, err := n.IP()
		if err != nil {
			return fmt.Errorf("address of node %s: %w", n.String(), err)
		}
		ips[nodeIndex(n.String())] = ip
	}
	for _, n := range ns {
		i := nodeIndex(n.String())
		script := fmt.Sprintf("sed -i 's#10.244.0.0/24#%s#' %s", podSubnet(i), bridgeConfig)
		for j, ip := range ips {
			if j != i {
				script += fmt.Sprintf(" && ip route replace %s via %s", podSubnet(j), ip)
			}
		}
		var out bytes.Buffer
		if err := n.CommandContext(ctx, "sh", "-c", script).SetStdout(&out).SetStderr(&out).Run(); err != nil {
			return fmt.Errorf("node %s: %s: %w: %s", n.String(), script, err, out.String())
		}
	}
	p.log.Infof("pod networks of %d nodes wired (10.244.N.0/24 on node N, routed between them)", len(ns))
	return nil
}

// bridgeConfig is the offline node image's CNI configuration.
const bridgeConfig = "/etc/cni/net.d/10-cachebench-bridge.conflist"

// nodeIndex numbers kind's nodes: the control plane 0, "worker" 1,
// "workerN" N.
func nodeIndex(name string) int {
	_, suffix, ok := strings.Cut(name, "-worker")
	if !ok {
		return 0
	}
	if suffix == "" {
		return 1
	}
	n, _ := strconv.Atoi(suffix)
	return n
}

// podSubnet is node i's pod subnet.
func podSubnet(i int) string { return fmt.Sprintf("10.244.%d.0/24", i) }

// ImagesLoaded says whether Create loaded the images it was given.
func (p *Provider) ImagesLoaded() bool { return p.loaded }

// Holds lists what every node's containerd holds (what some node lacks is
// left out): the image references and the digests of the content (layers,
// configurations, manifests).
func (p *Provider) Holds(ctx context.Context) (map[string]bool, error) {
	p.SetDefaults()
	nodes, err := p.kind.ListInternalNodes(p.name)
	if err != nil {
		return nil, fmt.Errorf("list nodes of %q: %w", p.name, err)
	}
	var all map[string]bool
	for _, n := range nodes {
		has := map[string]bool{}
		for _, list := range [][]string{{"images", "list", "--quiet"}, {"content", "list", "--quiet"}} {
			var out bytes.Buffer
			if err := n.CommandContext(ctx, "ctr", append([]string{"--namespace=k8s.io"}, list...)...).SetStdout(&out).Run(); err != nil {
				return nil, fmt.Errorf("list the %s of node %s: %w", list[0], n.String(), err)
			}
			for _, x := range strings.Fields(out.String()) {
				if all == nil || all[x] {
					has[x] = true
				}
			}
		}
		all = has
	}
	return all, nil
}

// LoadImages imports, into every node's containerd, the image archive that
// write produces (docker save format, several images in it): one import
// per node for all of them, streamed, with no file written.
func (p *Provider) LoadImages(ctx context.Context, write func(io.Writer) error) error {
	p.SetDefaults()
	nodes, err := p.kind.ListInternalNodes(p.name)
	if err != nil {
		return fmt.Errorf("list nodes of %q: %w", p.name, err)
	}
	for _, n := range nodes {
		if err := ctx.Err(); err != nil {
			return err
		}
		pr, pw := io.Pipe()
		wrote := make(chan error, 1)
		go func() {
			err := write(pw)
			pw.CloseWithError(err)
			wrote <- err
		}()
		err := nodeutils.LoadImageArchive(n, pr)
		// Unblocks the writer when the import stopped reading early.
		pr.CloseWithError(errImportEnded)
		if werr := <-wrote; werr != nil && !errors.Is(werr, errImportEnded) {
			err = errors.Join(werr, err)
		}
		if err != nil {
			return fmt.Errorf("load images into node %s: %w", n.String(), err)
		}
	}
	return nil
}

// EmptyDirPath is where the kubelet of a kind node keeps a pod's emptyDir
// volume (its default root directory, which kind keeps).
func EmptyDirPath(podUID, volume string) string {
	return path.Join("/var/lib/kubelet/pods", podUID, "volumes/kubernetes.io~empty-dir", volume)
}

// DiskUsage is how many bytes the files under path on node take (du), for
// a volume whose folder is on the node.
func (p *Provider) DiskUsage(ctx context.Context, node, path string) (int64, error) {
	p.SetDefaults()
	nodes, err := p.kind.ListInternalNodes(p.name)
	if err != nil {
		return 0, fmt.Errorf("list nodes of %q: %w", p.name, err)
	}
	for _, n := range nodes {
		if n.String() != node {
			continue
		}
		var out bytes.Buffer
		if err := n.CommandContext(ctx, "du", "-sxb", path).SetStdout(&out).Run(); err != nil {
			return 0, fmt.Errorf("du %s on node %s: %w", path, node, err)
		}
		size, _, _ := strings.Cut(out.String(), "\t")
		return strconv.ParseInt(strings.TrimSpace(size), 10, 64)
	}
	return 0, fmt.Errorf("no node %s in cluster %q", node, p.name)
}
