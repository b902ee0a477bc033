// Package bench runs the benchmark: for every workload and cache strategy,
// rounds that each start from a reset cache with a cold run, followed by
// warm runs interleaved across strategies. Every finished run is appended
// to results.jsonl at once.
package bench

import (
	"cmp"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/builders/all"
	"github.com/cachebench/cachebench/cluster"
	"github.com/cachebench/cachebench/cluster/network"
	"github.com/cachebench/cachebench/decision"
	"github.com/cachebench/cachebench/images"
	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/scenarios"
	"github.com/cachebench/cachebench/versions"
)

// Options are the settings of a benchmark. The same flags serve the CLI
// (--warm-runs) and go test (CACHEBENCH_WARM_RUNS).
type Options struct {
	// Workloads are built-in workloads by name; none given means small,
	// or only the WorkloadDirs when there are some.
	Workloads []string
	// WorkloadDirs are users' own builds (DIR or NAME=DIR), each with a
	// Dockerfile; Dockerfile, Context and BuildArgs apply to every one.
	WorkloadDirs []string
	Dockerfile   string
	Context      string
	BuildArgs    []string
	SourceFile   string
	DepsFile     string
	// Changes are the change patterns between a round's runs, each a
	// dimension of the matrix; none given means each workload's default.
	Changes []string
	// Networks are the upstream registry's network profiles, each a
	// dimension of the matrix; CacheNetwork is the cache registry's one.
	Networks     []string
	CacheNetwork string
	// Packages is how build steps download packages: results.PackagesProxied
	// (through the in-cluster package cache, filled before the runs and
	// then frozen) or results.PackagesDirect (from the internet).
	Packages string
	// Start is how runs start: results.StartAPI or results.StartTrigger.
	Start      string
	Strategies []string
	Builders   []string
	WarmRuns   int
	// Rounds fixes the number of rounds; 0 lets Precision and Budget decide.
	Rounds int
	// Precision is the relative half-width of the 95% interval every row
	// should reach (0.1 for ±10%); Budget bounds the whole benchmark.
	Precision  float64
	Budget     time.Duration
	RunTimeout time.Duration
	OutRoot    string
	RunID      string
	// Resume names a benchmark cut off earlier to continue (its run id).
	Resume      string
	ClusterName string
	// Nodes is how many nodes of a kind cluster run builds.
	Nodes int
	// Concurrency are the levels measured: how many builds each warm run
	// starts together; Arrival how they start (ParseArrival).
	Concurrency []int
	Arrival     string
	// CacheVolume is where pv-warm's volumes are: one per round
	// (VolumePerRound), one per build node (VolumePerNode), or one per
	// round shared by every build node (VolumeShared).
	CacheVolume string
	// Soak is how many builds go in a row through one daemon (0: no soak):
	// a round of the daemon strategy, a cold build then Soak-1 warm ones.
	Soak int
	// GCLimit is the cache size above which a daemon's garbage collection
	// prunes it, as a Kubernetes quantity ("" keeps the daemon's own policy).
	GCLimit string
	// Daemons is how many daemons a round of the daemon strategy has;
	// Placement which of them each build goes to (PlacementSticky,
	// PlacementSpread).
	Daemons    int
	Placement  string
	Kubeconfig string
	Reuse      bool
	Keep       bool
	Images     string
	// ImageRegistry is where the images cachebench makes are pushed and
	// pulled from, for a cluster it cannot load them into (Kubeconfig).
	ImageRegistry string
	// RegistryMirrors are HOST=URL pairs: the kind cluster's nodes pull
	// the images of registry HOST through the mirror at URL.
	RegistryMirrors []string
	NodeImage       string
	Kubernetes      string
	Executor        string
	Warmer          string
	CacheDir        string
	BuildCA         string
	// StopAfterFailures ends the benchmark after that many failed runs in
	// a row with the same cause (0: never).
	StopAfterFailures int
	// SideBySide runs each round's builders side by side, every builder's
	// runs in order (CI's smoke, which proves and does not time).
	SideBySide bool
	Verbose    bool
	// Decision is what the report's recommendation weighs: the team's
	// commit mix, its rules and prices.
	Decision decision.Flags
}

// Defaults returns the default options.
func Defaults() Options {
	return Options{
		// One workload, every builder: six rounds (the least an interval
		// needs) fit into the budget on a 2-core machine; gobuild doubles it.
		Builders:     append([]string(nil), Builders...),
		Networks:     []string{network.Local},
		CacheNetwork: network.Local,
		Packages:     results.PackagesProxied,
		Start:        results.StartAPI,
		WarmRuns:     1,
		Precision:    0.10,
		Budget:       90 * time.Minute,
		RunTimeout:   20 * time.Minute,
		OutRoot:      results.DefaultRoot(),
		ClusterName:  "cachebench",
		Nodes:        1,
		Concurrency:  []int{1},
		Arrival:      ArrivalBurst,
		CacheVolume:  VolumePerRound,
		Daemons:      1,
		Placement:    PlacementSticky,
		Images:       string(images.Auto),
		CacheDir:     images.DefaultCacheDir(),
		BuildCA:      "auto",

		StopAfterFailures: 3,
		Decision:          decision.NewFlags(),
	}
}

// EnvPrefix prefixes the environment variable of every flag.
const EnvPrefix = "CACHEBENCH_"

// EnvName is the environment variable of a flag: --warm-runs is CACHEBENCH_WARM_RUNS.
func EnvName(flag string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// AddFlags registers the options on fs, with o's values as defaults.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringSliceVar(&o.Workloads, "workloads", o.Workloads, "built-in workloads to build: "+strings.Join(scenarios.WorkloadNames(), ", ")+" (default small, or none when --workload-dir is given)")
	fs.StringSliceVar(&o.WorkloadDirs, "workload-dir", o.WorkloadDirs, "your own build: a directory with a Dockerfile, as DIR or NAME=DIR; repeat it or give a list")
	fs.StringVar(&o.Dockerfile, "dockerfile", o.Dockerfile, "the Dockerfile's path inside each --workload-dir (default Dockerfile)")
	fs.StringVar(&o.Context, "context", o.Context, "the build context's path inside each --workload-dir (default the directory itself)")
	fs.StringArrayVar(&o.BuildArgs, "build-arg", o.BuildArgs, "a build argument KEY=VALUE of every --workload-dir build; repeat it for more")
	fs.StringVar(&o.SourceFile, "source-file", o.SourceFile, "the application source file that --change source edits, inside each --workload-dir")
	fs.StringVar(&o.DepsFile, "deps-file", o.DepsFile, "the dependency manifest that --change deps edits, inside each --workload-dir (e.g. go.mod, package.json)")
	fs.StringSliceVar(&o.Changes, "change", o.Changes, "what each warm run's commit changes, each measured: none (the same commit), stamp (a new build argument value), source (a source file edited), deps (the dependency manifest edited), base (base images with a new digest); default: stamp for workloads with a stamp argument, else none")
	fs.StringSliceVar(&o.Networks, "network", o.Networks, "network profiles between the builders and the upstream registry (base images), each measured: "+strings.Join(network.PresetNames(), ", ")+" or <rtt>[+-<jitter>]/<bandwidth>, e.g. 30ms/100mbit")
	fs.StringVar(&o.CacheNetwork, "cache-network", o.CacheNetwork, "network profile between the builders and the cache registry (layer caches, pushed images)")
	fs.StringVar(&o.Packages, "packages", o.Packages, "how RUN instructions download apt packages, Go modules and npm packages: proxied (through a package cache in the cluster, behind the upstream network profile, filled by one unmeasured build of each workload and then frozen, so every run downloads the same) or direct (from the internet, as the Dockerfile says)")
	fs.StringVar(&o.Start, "start", o.Start, "how each run starts: api (the harness creates the PipelineRun) or trigger (a commit pushed to the git server, announced by a signed GitHub push event to a Tekton Triggers "+versions.Triggers+" EventListener, whose Trigger creates the PipelineRun; the event's latency is measured too)")
	fs.StringSliceVar(&o.Strategies, "strategies", o.Strategies, "cache strategies to measure, each under every builder (default: none, registry, pv-warm; mirror when named, and daemon, BuildKit's and Docker's only)")
	fs.StringSliceVar(&o.Builders, "builders", o.Builders, "image builders to compare ("+strings.Join(Builders, ", ")+")")
	// --builder was the flag while kaniko was the only builder.
	fs.StringSliceVar(&o.Builders, "builder", o.Builders, "same as --builders")
	_ = fs.MarkDeprecated("builder", "use --builders")
	fs.IntVar(&o.WarmRuns, "warm-runs", o.WarmRuns, "warm runs per strategy and round, after the round's cold run")
	fs.IntVar(&o.Rounds, "rounds", o.Rounds, "rounds per strategy, each starting from a reset cache with one cold run (default: as many as --precision needs within --budget)")
	fs.Var((*percent)(&o.Precision), "precision", "run rounds until every row's 95% interval (of its speedup vs none; of the median for none) is this tight, e.g. 10% (ignored with --rounds)")
	fs.DurationVar(&o.Budget, "budget", o.Budget, "time for the whole benchmark: no round starts that would overrun it (ignored with --rounds)")
	fs.DurationVar(&o.RunTimeout, "run-timeout", o.RunTimeout, "limit for one PipelineRun")
	fs.StringVar(&o.OutRoot, "out", o.OutRoot, "folder that receives the results folder <out>/<run-id> (git-ignored in the checkout)")
	fs.StringVar(&o.RunID, "run-id", o.RunID, "name of this benchmark's results folder (default: UTC time; not trend or examples)")
	fs.StringVar(&o.Resume, "resume", o.Resume, "continue the benchmark of this run id, cut off earlier (Ctrl-C, a crash, a lost machine), with the options it was planned with: the rounds it recorded whole are kept, those cut off run again from their cold run, and the budget left is what it had left")
	fs.StringVar(&o.ClusterName, "cluster-name", o.ClusterName, "name of the kind cluster")
	fs.IntVar(&o.Nodes, "nodes", o.Nodes, "nodes of the kind cluster that run builds: above 1, that many workers beside the control plane, which then holds the harness's registries and servers; each round's runs go to one worker, the rounds in turn")
	fs.IntSliceVar(&o.Concurrency, "concurrency", o.Concurrency, "builds each warm run starts together, each level measured in rounds of its own (e.g. 1,2,4,8): every build of a warm run builds its own change, and the report gives each level's latency percentiles, throughput and time queued")
	fs.StringVar(&o.CacheVolume, "cache-volume", o.CacheVolume, "where a cache volume strategy (pv-warm) keeps its volumes on several nodes: per-round (one volume, each round's runs on its node) or per-node (a volume on every node, each warmed the same; a warm run's builds spread over the nodes, so a build can find its node's volume without the round's layers), or shared (one volume every node mounts, ReadWriteMany, warmed from another node than the round's; a warm run's builds spread over the nodes)")
	fs.StringVar(&o.Arrival, "arrival", o.Arrival, "how the builds of a warm run at a level above 1 start: burst (together) or poisson:RATE (one after another at random, RATE builds a minute on average, as independent pushes arrive)")
	fs.IntVar(&o.Soak, "soak", o.Soak, "a soak of the daemon strategy: this many builds in a row through one daemon (one round: a cold build, then warm ones, each a commit of --change, or, with --mix, of the mix's patterns at their shares); the report charts each build's layer cache hit rate and the daemon's state against the build count, so with --gc-limit you see where the limit starts costing hits")
	fs.StringVar(&o.GCLimit, "gc-limit", o.GCLimit, "the daemon strategy's garbage collection: a daemon prunes what no build is using once its cache takes more than this, e.g. 500Mi or 2G (default: the daemon's own policy)")
	fs.IntVar(&o.Daemons, "daemons", o.Daemons, "daemons in each round of the daemon strategy, each started with an empty state; --placement says which one each build goes to, and the report gives each daemon's builds and hit rate")
	fs.StringVar(&o.Placement, "placement", o.Placement, "which of --daemons each build goes to: sticky (every build of a workload to the same daemon) or spread (round-robin, build after build; a build on a daemon that has not yet built the round's workload is judged as a cold one)")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "use the existing cluster of this kubeconfig instead of kind")
	fs.BoolVar(&o.Reuse, "reuse", o.Reuse, "use a running kind cluster of the same name instead of refusing")
	fs.BoolVar(&o.Keep, "keep", o.Keep, "keep the cluster running at the end")
	fs.StringVar(&o.Images, "images", o.Images, "where images come from: auto, online (official images), offline (built locally)")
	fs.StringVar(&o.ImageRegistry, "image-registry", o.ImageRegistry, "a registry (REGISTRY[/PATH], e.g. ghcr.io/you/cachebench) to push the images cachebench makes itself to (the git server, the package cache; offline, all of them), which the cluster then pulls from there, by digest: needed with --kubeconfig, whose nodes cachebench cannot load images into; your docker login is used")
	fs.StringArrayVar(&o.RegistryMirrors, "registry-mirror", o.RegistryMirrors, "HOST=URL: the kind cluster's nodes pull the images of registry HOST (docker.io, quay.io, ...) through the mirror at URL (e.g. docker.io=http://10.89.0.1:5000, a pull-through cache of your network); repeat it for more")
	fs.StringVar(&o.NodeImage, "node-image", o.NodeImage, "kind node image (default: online kindest/node of --kubernetes-version as kind publishes it, by digest; offline the one built here)")
	fs.StringVar(&o.Kubernetes, "kubernetes-version", o.Kubernetes, "Kubernetes version of the kind node (default: offline "+versions.Kubernetes+"; online the newest node image kind "+versions.Kind+" publishes that boots here: 1.34 on a cgroup v1 host, kind's default on cgroup v2; online, a version kind publishes; offline, v1.34 releases)")
	fs.StringVar(&o.Executor, "kaniko-executor", o.Executor, "kaniko executor image, e.g. a fork's (default: the image set's)")
	fs.StringVar(&o.Warmer, "kaniko-warmer", o.Warmer, "kaniko warmer image (default: the image set's)")
	fs.StringVar(&o.CacheDir, "cache-dir", o.CacheDir, "cache of built images and binaries (offline mode)")
	fs.StringVar(&o.BuildCA, "build-ca", o.BuildCA, "CA bundle mounted as the system bundle of build steps, so RUN instructions trust what the host trusts: a file, auto (the host's bundle) or none")
	fs.IntVar(&o.StopAfterFailures, "stop-after-failures", o.StopAfterFailures, "end the benchmark after this many failed runs in a row with the same cause (0: never)")
	fs.BoolVar(&o.SideBySide, "side-by-side", o.SideBySide, "run the builders' runs side by side, to prove rather than time (CI's smoke): runs that overlap are marked so in the results; every round pulls bases of its own, so each run's registry and package traffic stays its own")
	fs.BoolVarP(&o.Verbose, "verbose", "v", o.Verbose, "show debug output")
	o.Decision.Register(fs)
}

// ApplyEnv sets every flag whose CACHEBENCH_* variable is set, except
// flags given on the command line, which win. Errors name the variable.
func ApplyEnv(fs *pflag.FlagSet) error {
	var errs []string
	fs.VisitAll(func(f *pflag.Flag) {
		name := EnvName(f.Name)
		v, ok := os.LookupEnv(name)
		if !ok || f.Changed {
			return
		}
		if sv, isSlice := f.Value.(pflag.SliceValue); isSlice {
			// Replace, do not append to, the default list.
			if err := sv.Replace(splitList(v)); err != nil {
				errs = append(errs, fmt.Sprintf("%s=%q: %v", name, v, err))
			}
			return
		}
		if err := f.Value.Set(v); err != nil {
			errs = append(errs, fmt.Sprintf("%s=%q: %v (flag --%s)", name, v, err, f.Name))
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("bad environment: %s", strings.Join(errs, "; "))
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// The places of pv-warm's volumes (--cache-volume).
const (
	VolumePerRound = "per-round"
	VolumePerNode  = "per-node"
	VolumeShared   = "shared"
)

// MaxNodes bounds --nodes: each is a container of kind's on this machine.
const MaxNodes = 8

// Placements of --placement.
const (
	PlacementSticky = "sticky"
	PlacementSpread = "spread"
)

// maxDaemons bounds --daemons: each is a pod beside the builds.
const maxDaemons = 8

// maxSoak bounds --soak: a build at a time, a thousand take hours.
const maxSoak = 1000

// minGCLimit bounds --gc-limit from below.
const minGCLimit = 10 << 20

// MaxConcurrency bounds a --concurrency level.
const MaxConcurrency = 32

// checkLevels refuses concurrency levels that mean nothing.
func checkLevels(levels []int) error {
	if len(levels) == 0 {
		return fmt.Errorf("empty: give the levels, e.g. 1 or 1,2,4")
	}
	seen := map[int]bool{}
	for _, k := range levels {
		if k < 1 || k > MaxConcurrency {
			return fmt.Errorf("%d: each level is 1 to %d builds at once", k, MaxConcurrency)
		}
		if seen[k] {
			return fmt.Errorf("%s: %d is named twice", joinInts(levels), k)
		}
		seen[k] = true
	}
	return nil
}

// clusterNameRe: kind names node containers and kubeconfig contexts after it.
var clusterNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,40}$`)

// Validate checks the options and says, for each bad one, which setting it
// is and what to do.
func (o Options) Validate() error {
	_, err := o.Parse()
	return err
}

// Parse checks the options and reads them into a Config, reading each
// workload's folder and the CA file once; for each bad option the error
// says which setting it is and what to do.
func (o Options) Parse() (Config, error) {
	c := Config{
		Cluster:  cluster.Config{Name: o.ClusterName, Kubeconfig: o.Kubeconfig, Reuse: o.Reuse, Keep: o.Keep, NodeImage: o.NodeImage, Nodes: o.Nodes},
		Images:   ImageConfig{CacheDir: o.CacheDir, Kubernetes: o.Kubernetes, NodeImage: o.NodeImage, Registry: o.ImageRegistry, Executor: o.Executor, Warmer: o.Warmer},
		Plan:     PlanConfig{Strategies: o.Strategies, WarmRuns: o.WarmRuns, Rounds: o.Rounds, Precision: o.Precision, Budget: o.Budget, Concurrency: slices.Sorted(slices.Values(o.Concurrency))},
		Runs:     RunConfig{Start: o.Start, Packages: o.Packages, Timeout: o.RunTimeout, StopAfterFailures: o.StopAfterFailures, SideBySide: o.SideBySide},
		Results:  ResultsConfig{Root: o.OutRoot, RunID: o.RunID, Resume: o.Resume},
		Settings: o.Settings(),
		Planned:  o.Plan(),
	}
	p := &c.Plan
	var errs []string
	bad := func(flag, format string, args ...any) {
		errs = append(errs, fmt.Sprintf("--%s (%s): %s", flag, EnvName(flag), fmt.Sprintf(format, args...)))
	}
	var builtinErr, dirErr error
	if p.Builtin, builtinErr = scenarios.SelectWorkloads(o.workloadNames()); builtinErr != nil {
		bad("workloads", "%v", builtinErr)
	}
	if p.Dirs, dirErr = o.readWorkloadDirs(); dirErr != nil {
		bad("workload-dir", "%v", dirErr)
	}
	if len(o.WorkloadDirs) == 0 {
		for _, f := range []struct {
			flag string
			set  bool
		}{{"dockerfile", o.Dockerfile != ""}, {"context", o.Context != ""}, {"build-arg", len(o.BuildArgs) > 0}, {"source-file", o.SourceFile != ""}, {"deps-file", o.DepsFile != ""}} {
			if f.set {
				bad(f.flag, "applies to --workload-dir builds only: give a --workload-dir, or drop it")
			}
		}
	}
	switch o.Start {
	case results.StartAPI, results.StartTrigger:
	default:
		bad("start", "%q: use api or trigger", o.Start)
	}
	var err error
	if p.Changes, err = scenarios.ParseChanges(o.Changes); err != nil {
		bad("change", "%v", err)
	} else if builtinErr == nil && dirErr == nil {
		if err := checkChanges(p.Builtin, p.Dirs, p.Changes); err != nil {
			bad("change", "%v", err)
		}
	}
	if len(o.Builders) == 0 {
		bad("builders", "empty: choose from %s", strings.Join(Builders, ", "))
	} else if p.Definitions, err = all.Select(o.Builders); err != nil {
		bad("builders", "%v", err)
	} else {
		for _, b := range newBuilders(p.Definitions, builders.Settings{}) {
			if _, isDaemon := b.(builders.Daemon); !isDaemon && slices.Contains(o.Strategies, builders.DaemonName) {
				bad("strategies", "%s: builder %s has no daemon; drop it from --builders, or %s from --strategies (the builders with one: %s)", builders.DaemonName, b.Name(), builders.DaemonName, strings.Join(daemonBuilders(), ", "))
				break
			}
			if _, err := builders.SelectStrategies(b, o.Strategies); err != nil {
				bad("strategies", "%v", err)
				break
			}
		}
	}
	if p.Networks, err = network.ParseList(o.Networks); err != nil {
		bad("network", "%v", err)
	}
	if p.CacheNetwork, err = network.Parse(o.CacheNetwork); err != nil {
		bad("cache-network", "%v", err)
	}
	if p.Decision, err = o.Decision.Inputs(); err != nil {
		errs = append(errs, err.Error())
	} else {
		if o.Soak >= 2 && o.Soak <= maxSoak && len(p.Decision.Mix) > 0 {
			p.Mix = soakMix(p.Decision.Mix, o.Soak-1)
		}
		if builtinErr == nil && dirErr == nil && len(p.Definitions) > 0 {
			if err := p.checkDecision(o.Builders); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	if o.Packages != results.PackagesProxied && o.Packages != results.PackagesDirect {
		bad("packages", "%q: want %s or %s", o.Packages, results.PackagesProxied, results.PackagesDirect)
	}
	if o.WarmRuns < 0 || o.WarmRuns > 1000 {
		bad("warm-runs", "%d: want 0 to 1000", o.WarmRuns)
	}
	if o.Rounds < 0 || o.Rounds > 1000 {
		bad("rounds", "%d: want 1 to 1000, or 0 to let --precision and --budget decide", o.Rounds)
	}
	if o.Rounds == 0 {
		if o.Precision <= 0 || o.Precision >= 1 {
			bad("precision", "%s: want a relative half-width above 0%% and below 100%%, e.g. 10%%", pct(o.Precision))
		}
		if o.Budget < 5*time.Minute {
			bad("budget", "%s: want at least 5m (a cluster and one round of runs)", o.Budget)
		}
	}
	if o.RunTimeout < time.Minute {
		bad("run-timeout", "%s: want at least 1m (a cold build pulls and unpacks base images)", o.RunTimeout)
	}
	if o.RunID != "" {
		if err := results.CheckRunID(o.RunID); err != nil {
			bad("run-id", "%v", err)
		}
	}
	if o.Resume != "" {
		if err := results.CheckRunID(o.Resume); err != nil {
			bad("resume", "%v", err)
		} else if o.RunID != "" && o.RunID != o.Resume {
			bad("run-id", "%q with --resume %s: a resumed benchmark keeps its run id; drop --run-id", o.RunID, o.Resume)
		}
	}
	if o.StopAfterFailures < 0 {
		bad("stop-after-failures", "%d: want 0 (never stop) or more", o.StopAfterFailures)
	}
	if o.OutRoot == "" {
		bad("out", "empty")
	}
	if o.Nodes < 1 || o.Nodes > MaxNodes {
		bad("nodes", "%d: want 1 to %d", o.Nodes, MaxNodes)
	}
	switch o.CacheVolume {
	case VolumePerRound:
	case VolumePerNode, VolumeShared:
		switch {
		case o.Nodes < 2:
			bad("cache-volume", "%s needs builds on several nodes: give --nodes 2 or more, or drop it", o.CacheVolume)
		case o.CacheVolume == VolumePerNode:
			p.VolumeNodes = o.Nodes
		default:
			p.VolumeShared = true
		}
	default:
		bad("cache-volume", "%q: choose %s, %s or %s", o.CacheVolume, VolumePerRound, VolumePerNode, VolumeShared)
	}
	if err := checkLevels(o.Concurrency); err != nil {
		bad("concurrency", "%v", err)
	} else if slices.Max(o.Concurrency) > 1 {
		if o.WarmRuns < 1 {
			bad("concurrency", "%s with --warm-runs 0: a level's builds are its warm runs; give --warm-runs 1 or more", joinInts(o.Concurrency))
		}
	}
	if c.Runs.Arrival, err = ParseArrival(o.Arrival); err != nil {
		bad("arrival", "%v", err)
	} else if c.Runs.Arrival.Rate > 0 && len(o.Concurrency) > 0 && slices.Max(o.Concurrency) == 1 {
		bad("arrival", "%s applies to builds started together: give --concurrency above 1 (e.g. 1,4), or drop it", o.Arrival)
	}
	if o.GCLimit != "" {
		q, err := resource.ParseQuantity(o.GCLimit)
		switch {
		case err != nil:
			bad("gc-limit", "%q: want a size, e.g. 500Mi or 2G", o.GCLimit)
		case q.Value() < minGCLimit:
			bad("gc-limit", "%s: want at least %s (a base image alone takes more)", o.GCLimit, resource.NewQuantity(minGCLimit, resource.BinarySI))
		case !slices.Contains(o.Strategies, builders.DaemonName):
			bad("gc-limit", "applies to the %s strategy's daemons: add %s to --strategies, or drop it", builders.DaemonName, builders.DaemonName)
		default:
			c.Runs.GCLimit = q.Value()
		}
	}
	switch {
	case o.Daemons < 1 || o.Daemons > maxDaemons:
		bad("daemons", "%d: want 1 to %d", o.Daemons, maxDaemons)
	case o.Daemons > 1 && !slices.Contains(o.Strategies, builders.DaemonName):
		bad("daemons", "applies to the %s strategy: add %s to --strategies, or drop it", builders.DaemonName, builders.DaemonName)
	case o.Daemons > 1 && o.Soak != 0:
		bad("daemons", "a soak goes through one daemon: drop --daemons %d", o.Daemons)
	default:
		c.Runs.Daemons = o.Daemons
	}
	switch {
	case o.Placement != PlacementSticky && o.Placement != PlacementSpread:
		bad("placement", "%q: choose %s or %s", o.Placement, PlacementSticky, PlacementSpread)
	case o.Placement != Defaults().Placement && o.Daemons < 2:
		bad("placement", "places builds on several daemons: give --daemons 2 or more")
	default:
		c.Runs.Placement = o.Placement
	}
	if o.Soak != 0 {
		defaults := Defaults()
		switch {
		case o.Soak < 2 || o.Soak > maxSoak:
			bad("soak", "%d: want 2 to %d builds (a cold one, then warm ones)", o.Soak, maxSoak)
		case !slices.Equal(o.Strategies, []string{builders.DaemonName}):
			bad("soak", "its builds go through one daemon: give --strategies %s alone (now %s)", builders.DaemonName, cmp.Or(strings.Join(o.Strategies, ","), "the defaults"))
		case o.Rounds > 1:
			bad("soak", "is one round of %d builds: drop --rounds %d", o.Soak, o.Rounds)
		case o.WarmRuns != defaults.WarmRuns && o.WarmRuns != o.Soak-1:
			bad("soak", "sets the warm runs (%d after the cold one): drop --warm-runs %d", o.Soak-1, o.WarmRuns)
		case len(o.Concurrency) > 0 && slices.Max(o.Concurrency) > 1:
			bad("soak", "builds one at a time: drop --concurrency %s", joinInts(o.Concurrency))
		case len(p.Mix) > 0 && len(o.Changes) > 0:
			bad("change", "a soak's commits follow --mix (%s) when it is given: drop --change %s, or --mix", p.Decision.Mix, strings.Join(o.Changes, ","))
		default:
			p.Rounds, p.WarmRuns = 1, o.Soak-1
		}
	}
	if !clusterNameRe.MatchString(o.ClusterName) {
		bad("cluster-name", "%q: use lower-case letters, digits and '-'", o.ClusterName)
	}
	if c.Images.Mode, err = images.ParseMode(o.Images); err != nil {
		bad("images", "%v", err)
	}
	if err := images.WithKubernetesVersion(o.Kubernetes)(&images.Factory{}); err != nil {
		bad("kubernetes-version", "%v", err)
	}
	if c.Runs.CAFile, err = o.buildCAFile(); err != nil {
		bad("build-ca", "%v", err)
	}
	if c.Cluster.RegistryMirrors, err = o.registryMirrors(); err != nil {
		bad("registry-mirror", "%v", err)
	}
	if o.Kubeconfig != "" {
		if _, err := os.Stat(o.Kubeconfig); err != nil {
			bad("kubeconfig", "%v", err)
		}
		if o.ImageRegistry == "" {
			bad("kubeconfig", "the nodes of a cluster cachebench did not create cannot have the images it makes loaded into them (the git server, the package cache; offline, every image): give --image-registry REGISTRY (%s) to push them there for the nodes to pull, or use a kind cluster (--cluster-name, with --reuse for one that runs)", EnvName("image-registry"))
		}
		if o.Reuse {
			bad("reuse", "only applies to kind clusters; drop it when giving --kubeconfig")
		}
		if o.Nodes != 1 {
			bad("nodes", "only applies to kind clusters: the nodes of --kubeconfig's cluster are its own; drop it")
		}
		if o.NodeImage != "" {
			bad("node-image", "only applies to kind clusters: the nodes of --kubeconfig's cluster are its own; drop it")
		}
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("bad options:\n  %s", strings.Join(errs, "\n  "))
	}
	return c, nil
}

// hostCABundles are where distributions keep the system CA bundle.
var hostCABundles = []string{"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"}

// buildCAFile resolves --build-ca to a file ("" for none).
func (o Options) buildCAFile() (string, error) {
	switch o.BuildCA {
	case "none", "":
		return "", nil
	case "auto":
		for _, p := range hostCABundles {
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
		return "", nil
	}
	data, err := os.ReadFile(o.BuildCA)
	if err != nil {
		return "", err
	}
	if !strings.Contains(string(data), "BEGIN CERTIFICATE") {
		return "", fmt.Errorf("%s holds no PEM certificate", o.BuildCA)
	}
	return o.BuildCA, nil
}

// Settings renders the options for the results' environment file.
func (o Options) Settings() map[string]string {
	strategies := strings.Join(o.Strategies, ",")
	if strategies == "" {
		strategies = "all"
	}
	settings := map[string]string{
		"workloads":           strings.Join(o.workloadNames(), ","),
		"strategies":          strategies,
		"builders":            strings.Join(o.Builders, ","),
		"network":             strings.Join(o.Networks, ","),
		"cache-network":       o.CacheNetwork,
		"packages":            o.Packages,
		"warm-runs":           fmt.Sprint(o.WarmRuns),
		"rounds":              fmt.Sprint(o.Rounds),
		"run-timeout":         o.RunTimeout.String(),
		"images":              o.Images,
		"kubernetes":          cmp.Or(o.Kubernetes, "(the image set's)"),
		"build-ca":            o.BuildCA,
		"stop-after-failures": fmt.Sprint(o.StopAfterFailures),
		"cluster":             map[bool]string{true: "existing kubeconfig", false: "kind " + o.ClusterName}[o.Kubeconfig != ""],
		"nodes":               fmt.Sprint(o.Nodes),
	}
	if len(o.Concurrency) > 0 && slices.Max(o.Concurrency) > 1 {
		settings["concurrency"] = joinInts(slices.Sorted(slices.Values(o.Concurrency)))
		settings["arrival"] = o.Arrival
	}
	if o.CacheVolume != VolumePerRound {
		settings["cache-volume"] = o.CacheVolume
	}
	if o.Daemons > 1 {
		settings["daemons"] = fmt.Sprint(o.Daemons)
		settings["placement"] = o.Placement
	}
	if len(o.WorkloadDirs) > 0 {
		settings["workload-dir"] = strings.Join(o.WorkloadDirs, ",")
		settings["dockerfile"] = cmp.Or(o.Dockerfile, "Dockerfile")
		settings["context"] = cmp.Or(o.Context, ".")
		settings["build-arg"] = strings.Join(o.BuildArgs, " ")
		settings["source-file"] = o.SourceFile
		settings["deps-file"] = o.DepsFile
	}
	if len(o.Changes) > 0 {
		settings["change"] = strings.Join(o.Changes, ",")
	}
	if o.SideBySide {
		settings["side-by-side"] = "true"
	}
	settings["start"] = o.Start
	for k, v := range o.Decision.Settings() {
		settings[k] = v
	}
	return settings
}

// soakMix is what the n warm runs of a soak that follows mix make.
func soakMix(mix decision.Mix, n int) []scenarios.Change {
	var out []scenarios.Change
	for _, p := range mix.Sequence(n) {
		out = append(out, scenarios.Change(p))
	}
	return out
}

// checkDecision refuses a --mix pattern or a --current row the benchmark
// will not measure, before anything starts.
func (c PlanConfig) checkDecision(builderNames []string) error {
	m := Matrix{Changes: c.Changes}
	for _, p := range c.Decision.Mix.Patterns() {
		if !slices.Contains(scenarios.Changes, scenarios.Change(p)) {
			_, err := scenarios.ParseChanges([]string{p})
			return fmt.Errorf("--mix (%s): %v", EnvName("mix"), err)
		}
		if len(c.Mix) > 0 {
			if err := c.checkSoakMix(scenarios.Change(p)); err != nil {
				return fmt.Errorf("--mix (%s): %v", EnvName("mix"), err)
			}
			continue
		}
		for _, w := range changeWorkloads(c.Builtin, c.Dirs) {
			if !slices.Contains(m.ChangesOf(w), scenarios.Change(p)) {
				return fmt.Errorf("--mix (%s): %s is not measured for %s: add it to --change (now %s), or leave it out of --mix",
					EnvName("mix"), p, w.Name, changeNames(m.ChangesOf(w)))
			}
		}
	}
	if cur := c.Decision.Current; cur != nil {
		if !slices.Contains(builderNames, cur.Builder) {
			return fmt.Errorf("--current (%s): %s is not measured: add %s to --builders (now %s)", EnvName("current"), cur, cur.Builder, strings.Join(builderNames, ","))
		}
		for _, b := range newBuilders(c.Definitions, builders.Settings{}) {
			if b.Name() != cur.Builder {
				continue
			}
			names := c.Strategies
			if len(names) == 0 {
				names = builders.DefaultStrategyNames(b)
			}
			if !slices.Contains(names, cur.Strategy) {
				return fmt.Errorf("--current (%s): %s is not measured: add %s to --strategies (now %s)", EnvName("current"), cur, cur.Strategy, strings.Join(names, ","))
			}
		}
	}
	return nil
}

// checkSoakMix says why a soak that follows the mix cannot make p's
// commits: a stamp is a build argument, not a commit, and every workload
// must take p; and a pattern of the mix that the soak's warm runs do not
// make at all would leave the recommendation without it.
func (c PlanConfig) checkSoakMix(p scenarios.Change) error {
	if c.Decision.Mix[string(p)] == 0 {
		return fmt.Errorf("a soak's commits follow it, and %s has weight 0: leave it out", p)
	}
	if p == scenarios.ChangeStamp {
		return fmt.Errorf("a soak's commits follow it, and a stamp is a new build argument on the same commit, not a commit: leave %s out", p)
	}
	for _, w := range changeWorkloads(c.Builtin, c.Dirs) {
		if err := w.CheckChange(p); err != nil {
			return fmt.Errorf("a soak's commits follow it, and workload %s cannot take %s (%v): leave %s out, or the workload", w.Name, p, err, p)
		}
	}
	if !slices.Contains(c.Mix, p) {
		// n: the warm runs of the shortest soak that makes a p change.
		for n := len(c.Mix) + 1; n < maxSoak; n++ {
			if slices.Contains(soakMix(c.Decision.Mix, n), p) {
				return fmt.Errorf("a soak of %d builds makes no %s change at its share (%s): give --soak %d or more, or a larger share", len(c.Mix)+1, p, c.Decision.Mix, n+1)
			}
		}
		return fmt.Errorf("a soak makes no %s change at its share (%s) in up to %d builds: give it a larger share", p, c.Decision.Mix, maxSoak)
	}
	return nil
}

func changeNames(cs []scenarios.Change) string {
	var s []string
	for _, c := range cs {
		s = append(s, string(c))
	}
	return strings.Join(s, ",")
}

// DefaultWorkload is built when no workload is named.
const DefaultWorkload = "small"

// workloadNames are the built-in workloads to build.
func (o Options) workloadNames() []string {
	if len(o.Workloads) == 0 && len(o.WorkloadDirs) == 0 {
		return []string{DefaultWorkload}
	}
	return o.Workloads
}

// baseNames are the base images (by logical name) that the workloads
// build FROM: built and pushed before the runs. Users' bases that only an
// online run has are added once the images are known (images.Set.AddBase).
func (c PlanConfig) baseNames() []string {
	var names []string
	add := func(n string) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, w := range c.Builtin {
		for _, b := range w.Bases {
			add(b)
		}
	}
	for _, d := range c.Dirs {
		for _, image := range d.Images {
			if n, ok := images.OfflineBase(image); ok {
				add(n)
			}
		}
	}
	return names
}

// readWorkloadDirs reads every --workload-dir; their names must differ from
// each other's (the built-in ones are checked when each is read).
func (o Options) readWorkloadDirs() ([]*scenarios.WorkloadDir, error) {
	var out []*scenarios.WorkloadDir
	seen := map[string]string{}
	for _, spec := range o.WorkloadDirs {
		w, err := scenarios.LoadWorkloadDir(spec, scenarios.DirOptions{Dockerfile: o.Dockerfile, Context: o.Context, BuildArgs: o.BuildArgs, SourceFile: o.SourceFile, DepsFile: o.DepsFile})
		if err != nil {
			return nil, err
		}
		if other, dup := seen[w.Name]; dup {
			return nil, fmt.Errorf("%s and %s are both named %q: name one with NAME=DIR", other, w.Dir, w.Name)
		}
		seen[w.Name] = w.Dir
		out = append(out, w)
	}
	return out, nil
}

// checkChanges refuses change patterns of which some workload can take
// none; patterns only some workloads can take are left out for the others
// (Matrix.Skipped says so).
func checkChanges(builtin []scenarios.Workload, dirs []*scenarios.WorkloadDir, changes []scenarios.Change) error {
	if len(changes) == 0 {
		return nil
	}
	for _, w := range changeWorkloads(builtin, dirs) {
		if (Matrix{Changes: changes}).ChangesOf(w) != nil {
			continue
		}
		var why, named []string
		for _, c := range changes {
			why = append(why, w.CheckChange(c).Error())
			named = append(named, string(c))
		}
		return fmt.Errorf("workload %s can take none of %s (%s): add a change it can take, or leave the workload out", w.Name, strings.Join(named, ","), strings.Join(why, "; "))
	}
	return nil
}

// changeWorkloads are the workloads as far as their change patterns go.
func changeWorkloads(builtin []scenarios.Workload, dirs []*scenarios.WorkloadDir) []scenarios.Workload {
	ws := slices.Clone(builtin)
	for _, d := range dirs {
		ws = append(ws, scenarios.Workload{Name: d.Name, SourceFile: d.SourceFile, DepsFile: d.DepsFile})
	}
	return ws
}

// percent is a flag value given as "10%" or "0.1".
type percent float64

func (p *percent) String() string { return pct(float64(*p)) }

func (p *percent) Set(s string) error {
	s = strings.TrimSpace(s)
	scale := 1.0
	if strings.HasSuffix(s, "%") {
		s, scale = strings.TrimSuffix(s, "%"), 100
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("%q: want a percentage such as 10%% (or a fraction such as 0.1)", s)
	}
	*p = percent(v / scale)
	return nil
}

func (p *percent) Type() string { return "percent" }

// registryMirrors parses the HOST=URL pairs of --registry-mirror.
func (o Options) registryMirrors() (map[string]string, error) {
	m := map[string]string{}
	for _, pair := range o.RegistryMirrors {
		host, mirror, ok := strings.Cut(pair, "=")
		u, err := url.Parse(mirror)
		switch {
		case !ok || host == "" || strings.Contains(host, "/"):
			return nil, fmt.Errorf("%q: want HOST=URL, e.g. docker.io=http://10.89.0.1:5000", pair)
		case err != nil || (u.Scheme != "http" && u.Scheme != "https"):
			return nil, fmt.Errorf("%q: the mirror %q must be an http:// or https:// URL", pair, mirror)
		case u.Hostname() == "":
			return nil, fmt.Errorf("%q: the mirror %q names no host: give the address the cluster's nodes reach it at", pair, mirror)
		}
		m[host] = mirror
	}
	return m, nil
}
