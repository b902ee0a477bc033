// Package results is the record of a benchmark: one JSON line per run in
// results.jsonl, the environment it ran in, and the folder that holds them.
// Everything that writes or reads runs depends on it; it depends on nothing
// else of cachebench's, so that reading results never pulls in cluster or
// plotting code.
package results

import (
	"encoding/json"
	"strings"
	"time"
)

// CacheState tells a run that starts from a freshly reset cache (cold) from
// one that follows it in the same round (warm).
type CacheState string

const (
	Cold CacheState = "cold"
	Warm CacheState = "warm"
)

// Span is a measured interval.
type Span struct {
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Seconds float64   `json:"seconds"`
}

// NewSpan makes a Span; an unset end leaves Seconds at zero.
func NewSpan(start, end time.Time) Span {
	s := Span{Start: start, End: end}
	if !start.IsZero() && !end.IsZero() {
		s.Seconds = end.Sub(start).Seconds()
	}
	return s
}

// Step is one step container of a task.
type Step struct {
	Name string `json:"name"`
	Span
	ExitCode int32 `json:"exitCode"`
}

// Task is one TaskRun of the PipelineRun.
type Task struct {
	Name    string `json:"name"` // pipeline task name (fetch-source, build-push)
	TaskRun string `json:"taskRun"`
	Span
	// PodScheduled..first step start: scheduling, volume and init containers.
	PodStartSeconds float64 `json:"podStartSeconds"`
	// Node is the node its pod ran on.
	Node string `json:"node,omitempty"`
	// ScheduledMillis is the time from the run's start (the PipelineRun's
	// create call or, for a push-started run, the push event) to the
	// harness's watch seeing the task's pod placed on a node.
	ScheduledMillis int64 `json:"scheduledMillis,omitempty"`
	// CPUSeconds and PeakMemoryBytes are what the kernel accounted to its
	// pod's cgroup (every container: init, steps, sidecars), read while it
	// ran; absent where the harness cannot read them (a cluster it did
	// not create).
	CPUSeconds      float64 `json:"cpuSeconds,omitempty"`
	PeakMemoryBytes int64   `json:"peakMemoryBytes,omitempty"`
	Steps           []Step  `json:"steps"`
}

// Pull is one image pull reported by the kubelet.
type Pull struct {
	Image   string  `json:"image"`
	Pod     string  `json:"pod"`
	Seconds float64 `json:"seconds"`
	Bytes   int64   `json:"bytes,omitempty"`
}

// BuildPhase is time spent in one kind of the builder's work, from its log.
type BuildPhase struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// BuildPhases are the kinds of work the phase breakdown reports, in the
// order a build usually does them. Every builder's log is mapped onto
// these (see package measure): base-image is pulling and unpacking base
// images, cache-lookup asking the layer cache (BuildKit: importing the
// cache manifest), snapshot making a layer from a finished step (BuildKit:
// exporting layers), cache-push writing to the layer cache, push sending
// the image.
var BuildPhases = []string{"base-image", "cache-lookup", "unpack", "cache-extract", "commands", "snapshot", "cache-push", "stage-switch", "push"}

// BuildLog holds what the builder's own log says about a run.
type BuildLog struct {
	// Read is false when the log could not be read: the counters below are
	// then unknown, not zero.
	Read bool `json:"read"`
	// CacheHits: layers taken from the layer cache ("Using caching version of cmd").
	CacheHits int `json:"cacheHits"`
	// CacheMisses: commands the layer cache could not serve ("No cached layer found").
	CacheMisses int `json:"cacheMisses"`
	// LocalCacheHits: base images served from a cache volume ("Found sha256:... in local cache").
	LocalCacheHits int `json:"localCacheHits"`
	// CachePushes: layers written to the layer cache.
	CachePushes int          `json:"cachePushes"`
	Phases      []BuildPhase `json:"phases,omitempty"`
	// Instructions are the Dockerfile instructions the builder looked up in
	// its layer cache, in the order it logged them, each with the outcome.
	Instructions []InstructionCache `json:"instructions,omitempty"`
}

// InstructionCache is one Dockerfile instruction's layer-cache outcome, as
// the builder logged it.
type InstructionCache struct {
	// Instruction is the instruction as logged, runs of white space made
	// one space (see NormalizeInstruction): "RUN go mod download".
	Instruction string `json:"instruction"`
	Cached      bool   `json:"cached"`
}

// NormalizeInstruction makes an instruction's text comparable between a
// Dockerfile and a builder's log: line continuations and runs of white
// space become one space.
func NormalizeInstruction(s string) string {
	s = strings.ReplaceAll(s, "\\\n", " ")
	return strings.Join(strings.Fields(s), " ")
}

// Verdict is what the cache-use check concluded from the builder's log.
type Verdict string

const (
	// Verified: the log shows the strategy doing what it claims.
	Verified Verdict = "verified"
	// Contradicted: the log contradicts the strategy (see Problems).
	Contradicted Verdict = "contradicted"
	// Unverified: the log could not be read, so nothing was checked.
	Unverified Verdict = "unverified"
)

// CacheCheck is the verdict on a successful run's cache use.
type CacheCheck struct {
	Verdict  Verdict  `json:"verdict"`
	Problems []string `json:"problems,omitempty"`
	// Image is what the pushed image, read back from the registry, was
	// checked for: a stale cache hit shows there as a file that is not the
	// commit's (a problem).
	Image *ImageCheck `json:"image,omitempty"`
}

// ImageCheck is what the image check compared.
type ImageCheck struct {
	// Files is how many files the Dockerfile copies from the commit into
	// the image and the image holds with the commit's bytes.
	Files int `json:"files"`
	// Skipped are the instructions the check cannot follow ("line N: TEXT").
	Skipped []string `json:"skipped,omitempty"`
	// Notes say what it could not see (a change whose file reaches the
	// image only through an earlier stage).
	Notes []string `json:"notes,omitempty"`
}

// Run is one PipelineRun of the benchmark: one JSON line of results.jsonl.
type Run struct {
	RunID string `json:"runId"`
	Seq   int    `json:"seq"`
	// Coordinates place the run in the benchmark; in results.jsonl their
	// fields are the line's own.
	Coordinates
	// Trigger is what a trigger-started run measured from its push event.
	Trigger *TriggerTimes `json:"trigger,omitempty"`
	// FirstStepMillis is the harness clock from the PipelineRun's creation
	// (the create call; for a trigger, the watch seeing it) to its first
	// step container running: scheduling, volumes and init containers.
	FirstStepMillis int64 `json:"firstStepMillis,omitempty"`

	PipelineRun string `json:"pipelineRun"`
	Success     bool   `json:"success"`
	// Reason and LogTail explain a failure; a failed run has no durations
	// worth reading and is never counted in statistics.
	Reason  string `json:"reason,omitempty"`
	LogTail string `json:"logTail,omitempty"`
	// TimedOut says the run failed by not finishing within the run timeout
	// (Tekton's, or the harness's deadline beside it).
	TimedOut bool `json:"timedOut,omitempty"`
	// ColdVolume says a warm build ran on a node whose cache volume no
	// build of its round had used yet (a volume per node): the volume held
	// the base images, not the round's layers.
	ColdVolume bool `json:"coldVolume,omitempty"`
	// Daemon numbers, from 1, the daemon of its round that the build went
	// to, when the round had several (--daemons), and Daemons is how many
	// it had; ColdDaemon says a warm build went to one that no build of
	// its round had gone to yet.
	Daemon     int  `json:"daemon,omitempty"`
	Daemons    int  `json:"daemons,omitempty"`
	ColdDaemon bool `json:"coldDaemon,omitempty"`
	// MixChange is the change pattern a warm run's commit made when its
	// round follows a commit mix (Change is ChangeMix).
	MixChange string `json:"mixChange,omitempty"`

	// WallMillis is the harness's monotonic clock from create to completion
	// (for a trigger, from the watch seeing the PipelineRun).
	WallMillis int64 `json:"wallMillis"`
	// StartedAt is when that clock started, on the host's wall clock: it
	// lays the builds of one warm run at a concurrency level out in time.
	StartedAt time.Time `json:"startedAt,omitzero"`
	// Overlapped counts the runs that were under way during this one, which
	// happens only when runs go side by side (CI's smoke, which proves and
	// does not time): its duration is then not its own alone (its traffic
	// is: counted from its own repositories).
	Overlapped int    `json:"overlapped,omitempty"`
	Pipeline   Span   `json:"pipeline"`
	Tasks      []Task `json:"tasks,omitempty"`
	Pulls      []Pull `json:"pulls,omitempty"`
	// BuildLog is what the builder's log says (cache hits, phases).
	BuildLog BuildLog `json:"buildLog"`
	// BuildLogFile is the builder's log itself, relative to the results
	// folder (see LogsDir).
	BuildLogFile string `json:"buildLogFile,omitempty"`
	// Traffic is what the run asked of each registry, by role ("upstream",
	// "cache"), from the registries' own access logs.
	Traffic map[string]RegistryTraffic `json:"traffic,omitempty"`
	// Packages is what its build steps asked of the package cache, when
	// the benchmark proxied packages.
	Packages *PackageTraffic `json:"packages,omitempty"`
	// Check is the verdict on the run's cache use (successful runs only).
	Check *CacheCheck `json:"check,omitempty"`
	// Findings are the instructions whose cache outcome in this warm run
	// differs from what its change predicts: a builder's cache trap worth
	// reporting, not a failure.
	Findings []string `json:"findings,omitempty"`
	// Prepare is the time spent resetting and warming the cache before a
	// cold run (the warm-up pod, for pv-warm): not part of the build's time.
	PrepareSeconds float64 `json:"prepareSeconds,omitempty"`
	Commit         string  `json:"commit,omitempty"`
	// ImageRepo is the cache registry's repository the run pushed its
	// image to (the builder's, for the workload), ImageDigest the image's
	// digest there.
	ImageRepo   string `json:"imageRepo,omitempty"`
	ImageDigest string `json:"imageDigest,omitempty"`
	CacheRepo   string `json:"cacheRepo,omitempty"`
	// CacheBytes is the size of the round's layer cache repository after
	// the run (its blobs, each counted once); VolumeBytes what the round's
	// cache volume holds then.
	CacheBytes  int64 `json:"cacheBytes,omitempty"`
	VolumeBytes int64 `json:"volumeBytes,omitempty"`
	// DaemonCPUSeconds is what the round's daemon (the daemon strategy)
	// used while the run went on, from its pod's cgroup as the tasks'
	// figures; builds at once each count the daemon over their own time,
	// which the others' share.
	DaemonCPUSeconds float64 `json:"daemonCpuSeconds,omitempty"`
	// DaemonPeakMemoryBytes is the most memory the round's daemon has held
	// at once since it started, read after the run; DaemonStateBytes what
	// its state (its cache) takes on disk then, and DaemonStateBeforeBytes
	// what it took as the run started (garbage collection between builds
	// shows there: the build after it fills the state again).
	DaemonPeakMemoryBytes  int64 `json:"daemonPeakMemoryBytes,omitempty"`
	DaemonStateBytes       int64 `json:"daemonStateBytes,omitempty"`
	DaemonStateBeforeBytes int64 `json:"daemonStateBeforeBytes,omitempty"`

	Versions map[string]string `json:"versions"`
}

// UnmarshalJSON also reads the lines written before the cold/warm state was
// called "cache" and the builder's log "buildLog" ("phase" and "kaniko").
func (r *Run) UnmarshalJSON(data []byte) error {
	type plain Run
	var v struct {
		plain
		Phase  CacheState `json:"phase"`
		Kaniko *BuildLog  `json:"kaniko"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*r = Run(v.plain)
	if r.Cache == "" {
		r.Cache = v.Phase
	}
	if r.Network == "" {
		r.Network = LocalNetwork
	}
	if r.Change == "" {
		r.Change = DefaultChange(r.Workload)
	}
	if r.Start == "" {
		r.Start = StartAPI
	}
	if v.Kaniko != nil && !r.BuildLog.Read {
		r.BuildLog = *v.Kaniko
		// Old runs recorded a log whenever the run succeeded.
		r.BuildLog.Read = r.Success
	}
	return nil
}

// ChangeMix is the change of a round whose warm runs follow a commit mix,
// each making one of its patterns (MixChange); it agrees with
// scenarios.ChangeMix.
const ChangeMix = "mix"

// DefaultChange is a workload's change when none is named, which is also
// what every run made before --change existed: the built-in workloads with
// a stamp argument (gobuild, node) are stamped, every other workload
// rebuilds the same commit. It agrees with scenarios.Workload.DefaultChange
// (a test there checks).
func DefaultChange(workload string) string {
	if workload == "gobuild" || workload == "node" {
		return "stamp"
	}
	return "none"
}

// How a run starts (Run.Start).
const (
	StartAPI     = "api"
	StartTrigger = "trigger"
)

// TriggerTimes is what a run started by a push event measured, on the
// harness's monotonic clock from the moment the event was sent.
type TriggerTimes struct {
	// EventID is the EventListener's id of the event; the PipelineRun its
	// Trigger made carries it as label triggers.tekton.dev/triggers-eventid.
	EventID string `json:"eventId"`
	// AcceptedMillis: until the EventListener's answer (202, before any
	// Trigger has run).
	AcceptedMillis int64 `json:"acceptedMillis"`
	// PipelineRunMillis: until the watch saw the PipelineRun.
	PipelineRunMillis int64 `json:"pipelineRunMillis"`
	// FirstStepMillis: until the PipelineRun's first step ran.
	FirstStepMillis int64 `json:"firstStepMillis,omitempty"`
}

// PackageTraffic is what one run's build steps asked of the package
// cache (apt, Go modules, npm) when packages were proxied.
type PackageTraffic struct {
	Requests int `json:"requests"`
	// Hits were answered from the cache; Upstream went to the internet (the
	// cache was filling); Refused were misses of a frozen cache or requests
	// it does not serve, the first few of them in RefusedURLs.
	Hits        int      `json:"hits"`
	Upstream    int      `json:"upstream"`
	Refused     int      `json:"refused"`
	RefusedURLs []string `json:"refusedUrls,omitempty"`
	// Bytes are the response bodies' bytes.
	Bytes int64 `json:"bytes"`
}

// Package modes: how build steps download packages.
const (
	PackagesDirect  = "direct"
	PackagesProxied = "proxied"
)

// RegistryTraffic is what one run asked of one registry.
type RegistryTraffic struct {
	Requests int `json:"requests"`
	// Pulls are successful manifest GETs, as Docker Hub counts pulls.
	Pulls    int `json:"pulls"`
	BlobGets int `json:"blobGets"`
	// PulledBytes are the response bodies' bytes; PushedBytes the sizes of
	// the blobs uploaded (PushedBlobs of them) and ManifestPuts the
	// manifests written.
	PulledBytes  int64 `json:"pulledBytes"`
	PushedBytes  int64 `json:"pushedBytes"`
	PushedBlobs  int   `json:"pushedBlobs"`
	ManifestPuts int   `json:"manifestPuts"`
}

// LocalNetwork is the profile that adds nothing: pod to pod on the node.
const LocalNetwork = "local"

// Slug makes a name fit for file names, repositories, labels and test
// names: "30ms/100mbit" becomes "30ms-100mbit", "80ms+-10ms/2.5mbit"
// "80ms-pm10ms-2p5mbit", "small@wan" "small-wan", "small~trigger"
// "small-trigger", "small×4" "small-x4".
func Slug(name string) string {
	return strings.NewReplacer("/", "-", "@", "-", "~", "-", "+-", "-pm", ".", "p", "×", "-x").Replace(name)
}

// EndsLevel says the run is a build at once that timed out: it ends its
// row's level as a finding of the benchmark rather than failing it.
func (r Run) EndsLevel() bool { return r.TimedOut && r.Level() > 1 }

// WallSeconds is the headline duration of a run.
func (r Run) WallSeconds() float64 { return float64(r.WallMillis) / 1000 }

// TaskSeconds returns the duration of a pipeline task, 0 if absent.
func (r Run) TaskSeconds(name string) float64 {
	t, _ := r.Task(name)
	return t.Seconds
}

// Task is the pipeline task of that name, if the run has it.
func (r Run) Task(name string) (Task, bool) {
	for _, t := range r.Tasks {
		if t.Name == name {
			return t, true
		}
	}
	return Task{}, false
}

// CPUSeconds is what the kernel accounted to every task's pod together,
// and to the daemon the run's build went to (0 when the run recorded none).
func (r Run) CPUSeconds() float64 {
	sum := r.DaemonCPUSeconds
	for _, t := range r.Tasks {
		sum += t.CPUSeconds
	}
	return sum
}

// Environment is written once at the start of a benchmark.
type Environment struct {
	RunID     string            `json:"runId"`
	Started   time.Time         `json:"started"`
	Host      string            `json:"host"`
	CPUs      int               `json:"cpus"`
	MemoryGiB float64           `json:"memoryGiB"`
	Kernel    string            `json:"kernel"`
	Cgroup    string            `json:"cgroup"`
	GoOS      string            `json:"goos,omitempty"`   // the node's, where the builds ran
	GoArch    string            `json:"goarch,omitempty"` // the node's
	Docker    string            `json:"docker,omitempty"`
	GoVersion string            `json:"goVersion"`
	Versions  map[string]string `json:"versions"`
	// Settings are the options the benchmark ran with.
	Settings map[string]string `json:"settings"`
	// Plan holds, by flag name, the values of the options that shape the
	// plan and its measurements, as given to the flags: what --resume
	// continues with.
	Plan map[string][]string `json:"plan,omitempty"`
	// Resumed are when the benchmark was continued (--resume), after
	// Started.
	Resumed []time.Time `json:"resumed,omitempty"`
	// Builders are the builders measured, each with its strategies as it
	// implements them and what its build pod needed.
	Builders []BuilderInfo `json:"builders,omitempty"`
	// Networks are the network profiles in front of each registry role.
	Networks []NetworkInfo `json:"networks,omitempty"`
	Notes    []string      `json:"notes,omitempty"`
}

// NetworkInfo is one network profile of a benchmark, in front of one
// registry role (upstream, cache).
type NetworkInfo struct {
	Role    string `json:"role"`
	Name    string `json:"name"`
	Profile string `json:"profile"` // what it adds, in words
}

// BuilderInfo describes one builder of a benchmark.
type BuilderInfo struct {
	Name string `json:"name"`
	// Pod says what the builder's pod needs of the cluster (privileged,
	// seccomp or AppArmor profiles), in words.
	Pod string `json:"pod"`
	// Needs are what every pod of the builder needs that a team may
	// forbid (NeedPrivileged); nil in records made before they were kept.
	Needs      []string       `json:"needs"`
	Strategies []StrategyInfo `json:"strategies"`
}

// StrategyInfo is how one builder implements a strategy.
type StrategyInfo struct {
	Name    string `json:"name"`
	Summary string `json:"summary"`
	// Needs are what the strategy needs beyond the builder's
	// (NeedRegistryWrites); nil in records made before they were kept.
	Needs []string `json:"needs"`
}

// What a builder or strategy may need that a team's rules may forbid.
const (
	// NeedPrivileged: the build runs in a privileged container.
	NeedPrivileged = "privileged"
	// NeedDaemon: builds share a long-lived build daemon.
	NeedDaemon = "daemon"
	// NeedRWX: builds share a ReadWriteMany volume.
	NeedRWX = "rwx"
	// NeedRegistryWrites: builds write a layer cache to a registry.
	NeedRegistryWrites = "registry-writes"
)

// Needs lists every need, in the order the report names them.
var Needs = []string{NeedPrivileged, NeedDaemon, NeedRWX, NeedRegistryWrites}
