package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/support"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/builders/all"
	"github.com/cachebench/cachebench/builders/kaniko"
	"github.com/cachebench/cachebench/cluster"
	"github.com/cachebench/cachebench/cluster/gitserver"
	"github.com/cachebench/cachebench/cluster/kind"
	"github.com/cachebench/cachebench/cluster/pkgcache"
	"github.com/cachebench/cachebench/cluster/registry"
	"github.com/cachebench/cachebench/images"
	"github.com/cachebench/cachebench/log"
	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/scenarios"
)

// Session is one benchmark: options, images, cluster, results.
type Session struct {
	Config Config
	Log    log.Logger
	RunID  string
	// Matrix is what the benchmark crosses.
	Matrix

	Images   *images.Set
	Provider support.E2EClusterProvider
	Writer   *results.Writer
	Runner   *Runner
	// Resumed is what --resume keeps of the benchmark it continues.
	Resumed *Resumption
	// gitCopyNotes warn of workloads that copy the clone's .git.
	gitCopyNotes []string
}

// BuildCAConfigMap holds the CA bundle mounted into build steps.
const BuildCAConfigMap = "build-ca"

// Preflight says, in one line, why a benchmark cannot run here.
func (c Config) Preflight(ctx context.Context) error {
	if err := checkBases(ctx, c); err != nil {
		return err
	}
	if c.Cluster.Kubeconfig == "" {
		if err := cluster.CheckDocker(ctx); err != nil {
			return err
		}
		// A kind cluster that runs already holds its memory.
		if avail, ok := meminfo("MemAvailable"); ok && !c.Cluster.Reuse {
			if err := checkMemory(c.Cluster.Nodes, slices.Max(append([]int{1}, c.Plan.Concurrency...)), avail); err != nil {
				return err
			}
		}
	}
	if c.Images.Mode != images.Online && os.Geteuid() != 0 {
		return errors.New("building images offline needs root (mmdebstrap, chroot): run as root, or with --images=online where a registry can be reached")
	}
	if c.Images.Mode != images.Online {
		if _, err := exec.LookPath("mmdebstrap"); err != nil {
			return errors.New("mmdebstrap not found: run `sudo make docker` (host/install-docker.sh installs it)")
		}
	}
	return nil
}

// checkBases refuses, before any image is built, a user's workload whose
// base image an offline run cannot have.
func checkBases(ctx context.Context, c Config) error {
	mode := c.Images.Mode
	if len(c.Plan.Dirs) == 0 || mode == images.Online || (mode == images.Auto && images.CanPull(ctx)) {
		return nil
	}
	for _, d := range c.Plan.Dirs {
		for _, image := range d.Images {
			if _, err := images.RequireOfflineBase(image); err != nil {
				return fmt.Errorf("--workload-dir %s: %w", d.Dir, err)
			}
		}
	}
	return nil
}

// NewSession checks that the benchmark c describes can run here and
// prepares the images (building what the cache lacks when offline).
func NewSession(ctx context.Context, c Config, l log.Logger) (*Session, error) {
	s := &Session{Config: c, Log: l, RunID: cmp.Or(c.Results.Resume, c.Results.RunID)}
	if s.RunID == "" {
		s.RunID = results.NewRunID(time.Now(), "")
	}
	if c.Results.Resume != "" {
		res, err := loadResumable(s.ResultsDir())
		if err != nil {
			return nil, err
		}
		earlier, err := results.LoadSuperseded(s.ResultsDir())
		if err != nil {
			return nil, fmt.Errorf("--resume %s: %w", s.RunID, err)
		}
		r := Resume(res.Environment, res.Runs, earlier, c.Plan.WarmRuns)
		s.Resumed = &r
		l.Infof("resuming benchmark %s: %d runs kept; %d runs of rounds cut off are set aside and those rounds run again; %s of its budget spent", s.RunID, len(r.Kept), len(r.Superseded), r.Spent.Round(time.Second))
	} else if err := results.CheckFree(s.ResultsDir()); err != nil {
		return nil, fmt.Errorf("--run-id %s: %w; a new benchmark's runs would be mixed into it: continue it with --resume %s, choose another --run-id (or none, for one named by the time), or remove the folder", s.RunID, err, s.RunID)
	}
	if err := c.Preflight(ctx); err != nil {
		return nil, err
	}
	// Said before any image is built or cluster created: on a new machine
	// that is most of an hour the user need not wait to read it.
	early, err := c.Plan.selection(builders.Settings{}, nil)
	if err != nil {
		return nil, err
	}
	if s.gitCopyNotes, err = gitCopyNotes(early.Workloads); err != nil {
		return nil, err
	}
	for _, n := range s.gitCopyNotes {
		l.Warnf("%s", n)
	}
	ic := c.Images
	opts := []images.Option{images.WithCacheDir(ic.CacheDir), images.WithLogger(l), images.WithKubernetesVersion(ic.Kubernetes), images.WithNodeImage(ic.NodeImage), images.WithBases(c.Plan.baseNames()...), images.WithTriggers(c.Runs.Start == results.StartTrigger)}
	if c.Cluster.Kubeconfig != "" {
		opts = append(opts, images.WithoutNodeImage())
	}
	factory, err := images.NewFactory(opts...)
	if err != nil {
		return nil, err
	}
	if s.Images, err = factory.Resolve(ctx, ic.Mode, all.Images(c.Plan.Definitions)); err != nil {
		return nil, fmt.Errorf("prepare images: %w", err)
	}
	if ic.Registry != "" {
		if err := s.Images.Relocate(ctx, ic.Registry, l); err != nil {
			return nil, fmt.Errorf("prepare images: %w", err)
		}
	}
	bi := builders.Settings{Images: maps.Clone(s.Images.Builders), AuthSecret: registry.AuthSecret}
	if c.Runs.CAFile != "" {
		bi.CABundle = BuildCAConfigMap
	}
	if ic.Executor != "" {
		bi.Images[kaniko.RoleExecutor] = ic.Executor
	}
	if ic.Warmer != "" {
		bi.Images[kaniko.RoleWarmer] = ic.Warmer
	}
	if s.Matrix, err = c.Plan.selection(bi, s.Images); err != nil {
		return nil, err
	}
	s.Config.Cluster.Log = l
	if s.Images.Mode == images.Online {
		s.Config.Cluster.NodeImage = "" // the image set has it, by digest
	}
	s.Provider = cluster.Provider(s.Config.Cluster, s.Images)
	return s, nil
}

// Setup returns the env.Funcs that bring everything up, the last of which
// installs the pipeline, removes what earlier benchmarks left in the
// namespace and opens the results folder.
func (s *Session) Setup() []env.Func {
	return append(s.clusterSteps(), func(ctx context.Context, _ *envconf.Config) (context.Context, error) {
		return ctx, s.start(ctx, true)
	})
}

// ClusterSetup is Setup without a benchmark: the cluster with the pipeline
// installed, and no results folder.
func (s *Session) ClusterSetup() []env.Func {
	return append(s.clusterSteps(), func(ctx context.Context, _ *envconf.Config) (context.Context, error) {
		return ctx, s.start(ctx, false)
	})
}

func (s *Session) clusterSteps() []env.Func {
	var repos []gitserver.Repo
	for _, w := range s.Workloads {
		repos = append(repos, gitserver.Repo{Name: w.Name, Files: w.Files})
	}
	return cluster.Setup(s.Config.Cluster, s.Images, s.Provider, repos)
}

// gitCopyNotes says, for each workload whose Dockerfile copies the clone's
// .git into the image, which instructions do and what that costs a cache.
func gitCopyNotes(ws []scenarios.Workload) ([]string, error) {
	var notes []string
	for _, w := range ws {
		copies, err := w.GitCopies()
		if err != nil {
			return nil, err // it names the workload
		}
		if len(copies) > 0 {
			notes = append(notes, fmt.Sprintf("Workload %s copies the clone's .git into its image (%s, %s): two clones of one commit differ in .git, so a layer cache cannot serve that instruction, nor what follows it in its stage, whatever the change (findings mark it where a cache was expected). A .dockerignore naming .git at the context's root keeps it out.", w.Name, w.Dockerfile, strings.Join(copies, "; ")))
		}
	}
	return notes, nil
}

// networkInfo describes the network profiles for the environment: each of
// the upstream registry's, and the cache registry's.
func (s *Session) networkInfo() []results.NetworkInfo {
	var out []results.NetworkInfo
	for _, p := range s.Networks {
		out = append(out, results.NetworkInfo{Role: string(registry.Upstream), Name: p.Name, Profile: p.Describe()})
	}
	return append(out, results.NetworkInfo{Role: string(registry.Cache), Name: s.CacheNetwork.Name, Profile: s.CacheNetwork.Describe()})
}

func (s *Session) start(ctx context.Context, benchmark bool) error {
	e, ok := cluster.EnvFrom(ctx)
	if !ok {
		return errors.New("start benchmark: cluster setup left no environment")
	}
	versions := map[string]string{}
	for k, v := range e.Versions {
		versions[k] = v
	}
	var infos []results.BuilderInfo
	for _, b := range s.Builders {
		for role, ref := range b.Images() {
			key := b.Name() + "-" + role // kaniko-executor
			if role == "image" {
				key = b.Name() // the builder's one image
			}
			versions[key] = ref
		}
		infos = append(infos, builders.Info(b))
	}
	cl := describeCluster(ctx, e, s.Config.Cluster)
	for k, v := range cl.versions {
		versions[k] = v
	}
	envInfo := results.Environment{
		RunID: s.RunID, Started: time.Now().UTC(), Versions: versions, Settings: s.Config.Settings, GoOS: cl.os, GoArch: cl.arch,
		Builders: infos,
		Networks: s.networkInfo(),
		Notes: []string{
			"Tekton feature flag coschedule=disabled: the pv-warm build binds two PVC workspaces, which the default (workspaces) refuses.",
			"Wall time is the harness's monotonic clock from PipelineRun creation to completion; Tekton status times have one-second resolution.",
			"Each PipelineRun starts after a random wait of up to 1 s: the kubelet notices container exits at a once-a-second relist, which would otherwise lock back-to-back runs to whole seconds.",
			"Between runs the previous run's PipelineRun, pods and volumes are deleted and their deletion awaited before the next run's clock starts.",
			"Builds reach each registry through Toxiproxy in the cluster, which adds the network profile's delay and bandwidth limit in user space (our hosts' kernels have no netem); local adds nothing but the proxy itself. The bandwidth is per connection and direction; the proxy does not model TCP's window.",
		},
	}
	for _, w := range s.Workloads {
		if w.Custom {
			envInfo.Notes = append(envInfo.Notes, fmt.Sprintf("Workload %s is %s; its FROM lines were rewritten to take each base from the upstream registry (as %s), a \"# syntax=\" line, if any, was blanked, and nothing else in it changed.", w.Name, w.Description, strings.Join(w.Bases, ", ")))
		}
	}
	if nodes := e.BuildNodes; len(nodes) > 0 {
		envInfo.Notes = append(envInfo.Notes, fmt.Sprintf("The kind cluster had %d worker nodes for builds (%s) beside its control plane, which kind taints; the harness's registries, git server, network proxy and package cache ran on the control plane, apart from the builds, as a team's registries are apart from its build nodes. Each round's runs, cold and warm, went to one worker, the rounds in turn (a warm run of several builds at once: see the concurrency note), by a node selector in the PipelineRun's pod template (the harness places them, not the scheduler): a round's workspace and cache volumes are folders on the node that mounts them.", len(nodes), strings.Join(nodes, ", ")))
	}
	if s.Matrix.VolumeShared {
		envInfo.Notes = append(envInfo.Notes, fmt.Sprintf("A pv-warm round's cache volume was shared by the nodes (--cache-volume shared): one host folder, %s in every worker, as an NFS share is on a cluster of machines, which kind's nodes, containers on one host, reach through their common kernel and disk. Each round's volume was a folder in it (a ReadWriteMany volume made by the harness), warmed by a pod on another worker than the round's, and a warm run's builds at once spread over the workers. Its figures are what a share served by local disk gives; a network file system adds its own latency.", kind.SharedPath))
	}
	if s.Config.Runs.SideBySide {
		envInfo.Notes = append(envInfo.Notes, "Runs went side by side (--side-by-side): each round's builders at once, every builder's runs in order, to prove rather than time. A run's overlapped count says how many runs were under way during it: its duration is then not its own alone. Every round pulled bases of its own (copies in upstream under the round's path, whose package settings carry the round's tag), so a run's traffic to upstream and the mirror is counted from its round's repositories, as its traffic to the cache registry is (every builder pushes to a repository of its own, its runs one after another, and every round has a layer cache of its own), and its package traffic from its round's tag.")
	}
	envInfo.Notes = append(envInfo.Notes, s.gitCopyNotes...)
	envInfo.Notes = append(envInfo.Notes, s.changeNotes()...)
	if s.Config.Runs.Start == results.StartTrigger {
		envInfo.Notes = append(envInfo.Notes, "Runs start from push events (Tekton Triggers): before each run the harness pushes a commit to the round's branch of the git server (for the cold run the branch's first commit, for a warm run its change's commit, or one that changes no file), then POSTs a GitHub push event signed with the webhook secret (X-Hub-Signature-256) to the EventListener, through a port-forward. The round's Trigger (CEL filter: repository and branch; then the GitHub interceptor: signature and event type) makes the same PipelineRun the API start creates, with the event's clone URL and commit. Times from the event are the harness's monotonic clock, from sending it until the watch sees the PipelineRun labelled with its event id, and until the pod watch sees the first step run; the wall time starts when the PipelineRun is seen.")
	}
	if caFile := s.Config.Runs.CAFile; caFile != "" {
		envInfo.Notes = append(envInfo.Notes, "Build steps trust the CA bundle "+caFile+" of the host (mounted over /etc/ssl/certs/ca-certificates.crt during the build, not part of the images).")
		ca, err := os.ReadFile(caFile)
		if err != nil {
			return fmt.Errorf("read build CA bundle: %w", err)
		}
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: BuildCAConfigMap, Namespace: e.Namespace},
			Data:       map[string]string{builders.CABundleKey: string(ca)},
		}
		if err := e.Clients.ApplyObjects(ctx, cm); err != nil {
			return fmt.Errorf("build CA bundle: %w", err)
		}
	}
	if s.Config.Runs.Packages == results.PackagesProxied {
		envInfo.Notes = append(envInfo.Notes, "Packages proxied: RUN instructions download apt packages, Go modules and npm packages through the package cache in the cluster, behind the upstream registry's network profile. Every build takes its base images from copies whose configuration points the package managers there (http_proxy for apt's http sources, GOPROXY, npm_config_registry); Dockerfiles are unchanged. Before the first run, one unmeasured build of each workload filled the cache from the internet; then it was frozen, so every run downloads the same bytes and a miss fails the run. Each run's requests to it are counted from its log.")
		ca := ""
		if s.Config.Runs.CAFile != "" {
			ca = BuildCAConfigMap
		}
		var err error
		if e.Packages, err = pkgcache.Deploy(ctx, e.Clients, e.Namespace, s.Images.PackageCache, ca, builders.CABundleKey, s.Log); err != nil {
			return err
		}
	} else {
		envInfo.Notes = append(envInfo.Notes, "Packages direct: RUN instructions download apt packages, Go modules and npm packages from the internet, as their Dockerfiles say, outside any network profile.")
	}
	if note := s.concurrencyNote(); note != "" {
		envInfo.Notes = append(envInfo.Notes, note)
		envInfo.Notes = append(envInfo.Notes, s.Matrix.SkippedLevels()...)
	}
	fillHost(&envInfo)
	for _, n := range append(s.Matrix.Skipped(), s.Matrix.SkippedLevels()...) {
		s.Log.Infof("%s", n)
	}
	s.Runner = NewRunner(e, s.Matrix, s.Config.Runs, s.RunID, versions, s.Log)
	if err := s.Runner.Install(ctx); err != nil {
		return fmt.Errorf("install pipeline: %w", err)
	}
	if !benchmark {
		return nil
	}
	// A benchmark killed earlier may have left a PipelineRun building: the
	// clock must not start until the cluster is quiet.
	note, err := s.Runner.Quiet(ctx)
	if err != nil {
		return err
	}
	envInfo.Notes = append(envInfo.Notes, note)
	if s.Resumed == nil {
		envInfo.Plan = s.Config.Planned
		if s.Writer, err = results.Create(s.ResultsDir(), envInfo); err != nil {
			return err
		}
	} else {
		if s.Writer, err = results.Reopen(s.ResultsDir(), s.Resumed.Superseded); err != nil {
			return fmt.Errorf("--resume %s: %w", s.RunID, err)
		}
		at := time.Now()
		err = s.Writer.UpdateEnvironment(func(e *results.Environment) {
			e.Resumed = append(e.Resumed, at.UTC())
			e.Notes = append(e.Notes, s.Resumed.Note(at), note)
		})
		if err != nil {
			return fmt.Errorf("--resume %s: %w", s.RunID, err)
		}
		s.Runner.resume(s.Resumed)
	}
	s.Runner.SetWriter(s.Writer)
	if err := s.Runner.PreparePackages(ctx); err != nil {
		return err
	}
	s.Log.Infof("results: %s", filepath.Join(s.ResultsDir(), results.ResultsFile))
	return nil
}

// Teardown returns the env.Funcs that clean up: everything labelled with
// the benchmark's run id is removed (awaited), then the cluster goes
// unless it is kept or was not created by this benchmark.
func (s *Session) Teardown() []env.Func {
	closeRunner := func(ctx context.Context, _ *envconf.Config) (context.Context, error) {
		if s.Runner != nil {
			if err := s.Runner.Close(ctx); err != nil {
				s.Log.Warnf("%v", err)
			}
		}
		if s.Writer != nil {
			s.Writer.Close()
		}
		return ctx, nil
	}
	return append([]env.Func{closeRunner}, cluster.Teardown(s.Config.Cluster, s.Provider)...)
}

// ResultsDir is where this session writes.
func (s *Session) ResultsDir() string { return filepath.Join(s.Config.Results.Root, s.RunID) }

// fillHost records the machine the benchmark ran on.
func fillHost(e *results.Environment) {
	e.Host, _ = os.Hostname()
	e.CPUs = runtime.NumCPU()
	e.GoVersion = runtime.Version()
	if e.GoArch == "" {
		e.GoOS, e.GoArch = runtime.GOOS, runtime.GOARCH
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		e.Kernel = strings.TrimSpace(string(b))
	}
	e.Cgroup = "v1"
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		e.Cgroup = "v2"
	}
	if b, ok := meminfo("MemTotal"); ok {
		e.MemoryGiB = float64(int(float64(b)/(1<<30)*10)) / 10
	}
	if out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").Output(); err == nil {
		e.Docker = strings.TrimSpace(string(out))
	}
}

// clusterFacts are what the report says of the cluster itself.
type clusterFacts struct {
	os, arch string
	versions map[string]string
}

// describeCluster reads what actually runs: the node's architecture, the
// default StorageClass and its provisioner (cache volumes and workspaces
// live there), and the kind node's image.
func describeCluster(ctx context.Context, e *cluster.Env, cfg cluster.Config) clusterFacts {
	f := clusterFacts{versions: map[string]string{}}
	kc := e.Clients.Kube
	if nodes, err := kc.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err == nil && len(nodes.Items) > 0 {
		f.os, f.arch = nodes.Items[0].Status.NodeInfo.OperatingSystem, nodes.Items[0].Status.NodeInfo.Architecture
		f.versions["container-runtime"] = nodes.Items[0].Status.NodeInfo.ContainerRuntimeVersion
	}
	f.versions["storage-class"] = "none is the default"
	if scs, err := kc.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{}); err == nil {
		for _, sc := range scs.Items {
			if sc.Annotations["storageclass.kubernetes.io/is-default-class"] == "true" {
				f.versions["storage-class"] = fmt.Sprintf("%s (provisioner %s)", sc.Name, sc.Provisioner)
			}
		}
	}
	switch {
	case cfg.Kubeconfig != "":
		f.versions["node-image"] = "(existing cluster)"
	default:
		// The image the node container runs, which --reuse may make
		// another than the one this benchmark would have used.
		out, err := exec.CommandContext(ctx, "docker", "inspect", "--format", "{{.Config.Image}}", cfg.Name+"-control-plane").Output()
		if img := strings.TrimSpace(string(out)); err == nil && img != "" {
			f.versions["node-image"] = img
		}
	}
	return f
}

// concurrencyNote says, for the results' environment, how the builds of
// a concurrency level were made ("" when there is one build at a time).
func (s *Session) concurrencyNote() string {
	levels := s.Matrix.levels()
	if slices.Max(levels) == 1 {
		return ""
	}
	start := "together (burst)"
	if a := s.Config.Runs.Arrival; a.Rate > 0 {
		start = fmt.Sprintf("one after another at the random gaps of a Poisson process of %g builds a minute (%s), drawn from the run id so that a resumed benchmark repeats them", a.Rate, a)
	}
	where := ""
	if s.Config.Cluster.Nodes > 1 {
		where = " With several build nodes, a warm run's builds go to the nodes in turn, from its round's node, unless the strategy keeps its cache on a volume (a folder on one node): then they all go to its round's node."
	}
	return fmt.Sprintf("Concurrency levels %s: each level's rounds are rounds of their own (a cache reset, one cold build), then each warm run is that many builds, started %s. Each build has a round of its own within the level's round: with a source or deps change, or runs started by pushes, a branch of its own (for pushes with a Trigger of its own), on which its change or push commit is made before the builds start, so each builds its own commit; a stamp change gives each a stamp of its own; a base change is made once for them all. Builds at once share the round's layer cache and bases; their registry and package traffic is not counted per build (no request is one build's alone). Each build is a run of the results, with its wall time, time queued (PipelineRun created to first step) and start time on the host's clock.%s", joinInts(levels), start, where)
}
