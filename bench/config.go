package bench

import (
	"time"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/cluster"
	"github.com/cachebench/cachebench/cluster/network"
	"github.com/cachebench/cachebench/decision"
	"github.com/cachebench/cachebench/images"
	"github.com/cachebench/cachebench/scenarios"
)

// Config is the options parsed once (Options.Parse), split by who reads
// them: the cluster, the image factory, the plan, each run and the results
// folder each get their own part, and nothing after Parse reads a flag, a
// workload's folder or a CA file again.
type Config struct {
	// Cluster is where the benchmark runs (the session adds its logger).
	Cluster cluster.Config
	Images  ImageConfig
	Plan    PlanConfig
	Runs    RunConfig
	Results ResultsConfig
	// Settings and Planned are the options as the results record them:
	// Settings for the report, Planned for --resume.
	Settings map[string]string
	Planned  map[string][]string
}

// ImageConfig is where the images come from and what overrides them.
type ImageConfig struct {
	Mode     images.Mode
	CacheDir string
	// Kubernetes is --kubernetes-version ("" for the image set's).
	Kubernetes string
	NodeImage  string
	// Registry is --image-registry: where the images cachebench makes are
	// pushed for a cluster it cannot load them into.
	Registry string
	// Executor and Warmer override kaniko's images.
	Executor, Warmer string
}

// PlanConfig is what the benchmark measures, and how many times.
type PlanConfig struct {
	// Builtin are the built-in workloads named; Dirs the --workload-dir
	// builds, read from their folders.
	Builtin []scenarios.Workload
	Dirs    []*scenarios.WorkloadDir
	Changes []scenarios.Change
	// Mix is what a soak's warm runs' commits make, in order, when the
	// soak follows --mix (Matrix.Mix).
	Mix []scenarios.Change
	// Networks are the upstream registry's profiles; CacheNetwork the
	// cache registry's.
	Networks     []network.Profile
	CacheNetwork network.Profile
	// Definitions are the builders named, in their order.
	Definitions []builders.Definition
	// Strategies are the strategies named (none: the builders' defaults).
	Strategies []string
	WarmRuns   int
	// Rounds fixes the number of rounds; 0 lets Precision and Budget decide.
	Rounds    int
	Precision float64
	Budget    time.Duration
	// Decision is what the report's recommendation weighs.
	Decision decision.Inputs
	// Concurrency are the levels measured, ascending.
	Concurrency []int
	// VolumeNodes is how many build nodes have a cache volume each
	// (--cache-volume per-node); 0 for one volume per round.
	VolumeNodes int
	// VolumeShared gives a round one volume that every build node mounts
	// (--cache-volume shared).
	VolumeShared bool
}

// RunConfig is how each run goes: what the runner reads.
type RunConfig struct {
	// Start is results.StartAPI or results.StartTrigger.
	Start string
	// Packages is results.PackagesProxied or results.PackagesDirect.
	Packages string
	Timeout  time.Duration
	// StopAfterFailures ends the benchmark after that many failed runs in
	// a row with the same cause (0: never).
	StopAfterFailures int
	SideBySide        bool
	// CAFile is --build-ca resolved to a file ("" for none).
	CAFile string
	// Arrival is how the builds of a warm run at a level above 1 start.
	Arrival Arrival
	// GCLimit is the size in bytes above which a daemon's garbage
	// collection prunes its cache (0: the daemon's own policy).
	GCLimit int64
	// Daemons is how many daemons a round of the daemon strategy has
	// (below 2: one); Placement is which one each build goes to.
	Daemons   int
	Placement string
}

// ResultsConfig is where the results go.
type ResultsConfig struct {
	Root  string
	RunID string
	// Resume is the run id of the benchmark to continue ("" for a new one).
	Resume string
}
