package bench

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	watchtools "k8s.io/client-go/tools/watch"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	"knative.dev/pkg/apis"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/cluster"
	"github.com/cachebench/cachebench/cluster/kind"
	"github.com/cachebench/cachebench/cluster/network"
	"github.com/cachebench/cachebench/cluster/pkgcache"
	"github.com/cachebench/cachebench/cluster/registry"
	"github.com/cachebench/cachebench/log"
	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/scenarios"
	"github.com/cachebench/cachebench/stats"
)

// Labels put on everything a benchmark creates.
const (
	LabelRunID    = "cachebench/run-id"
	LabelWorkload = "cachebench/workload"
	LabelBuilder  = "cachebench/builder"
	LabelNetwork  = "cachebench/network"
	LabelChange   = "cachebench/change"
	LabelStrategy = "cachebench/strategy"
	LabelCache    = "cachebench/cache"
	LabelRound    = "cachebench/round"
	// LabelTrigger names a round's Trigger on it and its template.
	LabelTrigger = "cachebench/trigger"
)

// CacheVolumeSize is the size of a cache volume (base images of a workload).
var CacheVolumeSize = resource.MustParse("4Gi")

// Runner makes a benchmark's runs against a prepared cluster.
type Runner struct {
	env    *cluster.Env
	tekton tektonclient.Interface
	matrix Matrix
	cfg    RunConfig
	runID  string
	// names makes what the cluster calls the benchmark's rounds and runs.
	names    names
	out      *results.Writer
	log      log.Logger
	clean    *cleaner
	seq      int
	rounds   map[results.Coordinates]*round
	versions map[string]string
	streak   streak
	runs     []results.Run
	// filled is each workload's package traffic while it filled the
	// package cache: what one build of it asks.
	filled map[string]results.PackageTraffic
	// expected caches the expected cache use per workload and change.
	expected map[string][]scenarios.ExpectedInstruction
	// placed counts the rounds placed on the build nodes, which take them
	// in turn.
	placed int

	// mu guards the fields above, which runs side by side share (see
	// SideBySide).
	mu sync.Mutex
	// network serialises the network profiles' changes.
	network sync.Mutex
	// mirrorCold serialises the mirror's cold runs: distribution's
	// pull-through cache streams a blob that another request is fetching
	// already without storing it, so two rounds filling the mirror with
	// the same layers at once would leave one of them unfilled.
	mirrorCold sync.Mutex
	// overlaps counts, for each run, the runs under way beside it.
	overlaps overlaps
	// accounting reads the kernel's counters of the runs' pods (nil when
	// it cannot).
	accounting *kind.Accounting
}

// round is the state of one builder's strategy's round on one workload.
type round struct {
	// prepared are the round's preparations, undone when it ends.
	prepared []Preparation
	// imageRepo is the cache registry's repository the round's runs push
	// their images to (imageRepo).
	imageRepo string
	cacheRepo string
	// claim is the cache volume's claim the round's runs mount: the
	// round's, or with a volume per node the one of the node they run on
	// (volumes).
	claim   string
	volumes *nodeVolumes
	// daemons are the round's daemons (the daemon strategy).
	daemons *daemonPool
	// sharedVolume is the name of the claim's volume when every build
	// node mounts it (--cache-volume shared).
	sharedVolume string
	prepareSec   float64
	// node is the node the round's pods go to ("" where the scheduler
	// chooses: a cluster of one node, or one cachebench did not make);
	// nodeIndex its place among the build nodes, counted on.
	node      string
	nodeIndex int
	// members are the rounds of the builds of a warm run at a concurrency
	// level above 1, the first member's at index 0 (addMembers).
	members []*round
	// branch is the git branch a source or deps change commits on;
	// basePath the repository path of the round's own base images
	// (ownBases; see builders.BuildRequest), and packageTag what they
	// send with every package request.
	branch     string
	basePath   string
	packageTag string
	// commit is the last change's commit, which the next run must build.
	commit string
	// For runs started by push events: the round's Trigger, when it was
	// made, and the last commit announced by a push (the next push's
	// "before").
	trigger   string
	triggerAt time.Time
	pushed    string
}

// NewRunner returns a Runner; versions go into every run. Runs are
// written to the results folder given by SetWriter.
func NewRunner(env *cluster.Env, m Matrix, cfg RunConfig, runID string, versions map[string]string, l log.Logger) *Runner {
	tc := env.Clients.Tekton
	clean := &cleaner{ns: env.Namespace, kube: env.Clients.Kube, tekton: tc, log: l}
	if env.Kind != nil {
		clean.removeFolder = env.Kind.RemoveShared
	}
	return &Runner{
		env: env, tekton: tc, matrix: m, cfg: cfg, runID: runID, names: names{prefix: runID, start: cfg.Start}, log: l,
		clean:  clean,
		rounds: map[results.Coordinates]*round{}, versions: versions, expected: map[string][]scenarios.ExpectedInstruction{},
		streak:     streak{limit: cfg.StopAfterFailures},
		accounting: accountingOf(env),
		overlaps:   overlaps{inFlight: map[int]bool{}, count: map[int]int{}},
		filled:     map[string]results.PackageTraffic{},
	}
}

// accountingOf reads the counters of a kind cluster's pods; nil for a
// cluster cachebench did not create, whose nodes it cannot see.
func accountingOf(env *cluster.Env) *kind.Accounting {
	if env.Kind == nil {
		return nil
	}
	return env.Kind.Accounting()
}

// append records a finished run, in results.jsonl and in memory.
func (r *Runner) append(run results.Run) error {
	r.mu.Lock()
	r.runs = append(r.runs, run)
	r.mu.Unlock()
	return r.out.Append(run)
}

// resume continues a benchmark: its kept runs count as recorded, and new
// runs number after every run it recorded.
func (r *Runner) resume(res *Resumption) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs = slices.Clone(res.Kept)
	r.seq = res.LastSeq
	r.names.prefix = fmt.Sprintf("%s-%d", r.runID, res.Session)
}

// Runs returns the runs recorded so far.
func (r *Runner) Runs() []results.Run {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.runs)
}

// round returns the state of the planned run's round, if it has started.
func (r *Runner) round(s PlannedRun) (*round, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rd, ok := r.rounds[r.names.roundKey(s)]
	return rd, ok
}

// SetWriter sets where runs are appended.
func (r *Runner) SetWriter(w *results.Writer) { r.out = w }

// Quiet removes what earlier benchmarks left in the namespace and says
// what it found.
func (r *Runner) Quiet(ctx context.Context) (string, error) {
	if r.env.Listener != nil {
		// An earlier benchmark's Triggers would take this one's pushes too.
		if err := r.env.Listener.RemoveTriggers(ctx, LabelRunID); err != nil {
			return "", fmt.Errorf("quiet the cluster: %w", err)
		}
	}
	return r.clean.quiet(ctx)
}

// Install creates (or updates) the clone Task and each builder's build
// Task and Pipeline, after Tekton's own validation.
func (r *Runner) Install(ctx context.Context) error {
	ns := r.env.Namespace
	clone := builders.CloneTask(r.env.Images.Git)
	clone.Namespace = ns
	objs := []runtime.Object{clone}
	checks := []interface {
		Validate(context.Context) *apis.FieldError
	}{clone}
	for _, b := range r.matrix.Builders {
		build, pipeline := b.Task(builders.BuildTaskName(b)), builders.Pipeline(b)
		build.Namespace, pipeline.Namespace = ns, ns
		objs = append(objs, build, pipeline)
		checks = append(checks, build, pipeline)
	}
	for _, v := range checks {
		// Validate returns a typed nil: compare it as such, not as an error.
		if ferr := v.Validate(ctx); ferr != nil {
			return fmt.Errorf("invalid pipeline object: %w", ferr)
		}
	}
	if err := r.env.Clients.ApplyObjects(ctx, objs...); err != nil {
		return fmt.Errorf("install pipeline: %w", err)
	}
	return nil
}

// setNetwork gives the registries the planned run's network profiles:
// its own in front of upstream, the benchmark's in front of the cache
// registry and the mirror. Toxiproxy is asked only; nothing changes when they are set.
func (r *Runner) setNetwork(ctx context.Context, s PlannedRun) error {
	if r.env.Network == nil {
		return errors.New("no network proxy in the cluster")
	}
	r.network.Lock()
	defer r.network.Unlock()
	// The mirror is near the cluster, as the cache registry is.
	// The package cache stands for the internet's package servers, which
	// are as far as upstream.
	err := r.env.Network.Set(ctx, map[string]network.Profile{
		registry.Upstream.Name(): s.Network,
		registry.Cache.Name():    r.matrix.CacheNetwork,
		registry.Mirror.Name():   r.matrix.CacheNetwork,
		pkgcache.Name:            s.Network,
	})
	if err != nil {
		return fmt.Errorf("set network profile: %w", err)
	}
	return nil
}

// Do makes one planned run and appends its result. A cold run resets the
// strategy's cache first; a warm run whose round has not started (its
// cold run was filtered out) runs that cold run first, since a warm number
// means nothing without it. After too many failures in a row with the same
// cause it returns a *StoppedError: the benchmark should end there. A run
// at or above the level where its row's builds at once timed out
// (stats.EndedLevels) is not run: it returns no runs.
func (r *Runner) Do(ctx context.Context, s PlannedRun) ([]results.Run, error) {
	if s.Change == "" {
		s.Change = s.Workload.DefaultChange()
	}
	if stats.IsEnded(stats.EndedLevels(r.Runs()), r.keyOf(s)) {
		r.log.Warnf("%s: not run: its row's builds at once stopped finishing within the run timeout (%s) at this level or one below", s.Name(), r.cfg.Timeout)
		return nil, nil
	}
	if s.Strategy.Mirror && s.Cache == results.Cold {
		r.mirrorCold.Lock()
		defer r.mirrorCold.Unlock()
	}
	runs, err := r.do(ctx, s)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, run := range runs {
		if stop := r.streak.add(run); stop != nil {
			return runs, errors.Join(err, stop)
		}
	}
	return runs, err
}

func (r *Runner) do(ctx context.Context, s PlannedRun) ([]results.Run, error) {
	var runs []results.Run
	// The warm-up of a cold run's cache pulls under the planned run's profile too.
	if err := r.setNetwork(ctx, s); err != nil {
		run := r.newRun(s, &round{})
		run.Reason = err.Error()
		if werr := r.append(run); werr != nil {
			err = errors.Join(err, werr)
		}
		return []results.Run{run}, err
	}
	rd, ok := r.round(s)
	if !ok || s.Cache == results.Cold {
		if err := r.startRound(ctx, s); err != nil {
			// The round's run cannot happen: it is recorded as failed, with why.
			// The round's next planned run starts it again, cold run first.
			r.endRound(ctx, s)
			run := r.newRun(s, &round{})
			run.Reason = "prepare the cache: " + err.Error()
			if ctx.Err() != nil {
				run.Reason = "interrupted"
			}
			if werr := r.append(run); werr != nil {
				err = errors.Join(err, werr)
			}
			return []results.Run{run}, err
		}
		rd, _ = r.round(s)
		if s.Cache == results.Warm {
			r.log.Infof("%s: its round has no cold run yet; running it first", s.Name())
			cold := s
			cold.Cache, cold.Attempt = results.Cold, 0
			run, err := r.runOnce(ctx, cold, rd)
			runs = append(runs, run)
			if err != nil {
				return runs, err
			}
		}
	}
	batch, err := r.runBatch(ctx, s, rd)
	return append(runs, batch...), err
}

// startRound resets a strategy's cache and prepares the round
// (preparations): after it the round's cold run can start.
func (r *Runner) startRound(ctx context.Context, s PlannedRun) error {
	r.endRound(ctx, s)
	// The row's earlier rounds are over: their daemons, volumes and
	// Triggers would only weigh on this one's runs.
	r.mu.Lock()
	earlier := otherRoundsOfRow(maps.Keys(r.rounds), r.names.roundKey(s))
	r.mu.Unlock()
	for _, k := range earlier {
		r.endRoundOf(ctx, k)
	}
	rd := &round{prepared: r.preparations(s), imageRepo: r.names.imageRepo(s)}
	r.mu.Lock()
	r.rounds[r.names.roundKey(s)] = rd
	if nodes := r.env.BuildNodes; len(nodes) > 0 {
		// Rounds in turn: a round's runs, cold and warm, on one node,
		// where its volume (pv-warm) lives.
		rd.nodeIndex = r.placed
		rd.node = nodes[r.placed%len(nodes)]
		r.placed++
	}
	r.mu.Unlock()
	for _, p := range rd.prepared {
		if err := p.Start(ctx, s, rd); err != nil {
			return err
		}
	}
	return r.addMembers(ctx, s, rd)
}

// otherRoundsOfRow are the keys among rounds of the rounds of key's row
// other than key's own.
func otherRoundsOfRow(rounds iter.Seq[results.Coordinates], key results.Coordinates) []results.Coordinates {
	var other []results.Coordinates
	for k := range rounds {
		if k != key && k.OfGroup() == key.OfGroup() {
			other = append(other, k)
		}
	}
	return other
}

// endRound forgets a round and undoes its preparations, last first.
func (r *Runner) endRound(ctx context.Context, s PlannedRun) {
	r.endRoundOf(ctx, r.names.roundKey(s))
}

// endRoundOf is endRound by the round's key.
func (r *Runner) endRoundOf(ctx context.Context, key results.Coordinates) {
	r.mu.Lock()
	old, ok := r.rounds[key]
	delete(r.rounds, key)
	r.mu.Unlock()
	if !ok {
		return
	}
	for _, p := range slices.Backward(old.prepared) {
		p.End(cleanupContext(ctx), old)
	}
}

// cleanupContext outlives a Ctrl-C: what was created must still go.
func cleanupContext(ctx context.Context) context.Context {
	return context.WithoutCancel(ctx)
}

// Close removes everything the benchmark created (labelled with its run
// id) and waits until it is gone.
func (r *Runner) Close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(cleanupContext(ctx), RemoveTimeout)
	defer cancel()
	r.mu.Lock()
	r.rounds = map[results.Coordinates]*round{}
	r.mu.Unlock()
	if _, err := r.clean.removeAll(ctx, LabelRunID+"="+r.runID); err != nil {
		return fmt.Errorf("clean up benchmark %s: %w", r.runID, err)
	}
	if r.env.Listener != nil {
		if err := r.env.Listener.RemoveTriggers(ctx, LabelRunID+"="+r.runID); err != nil {
			return fmt.Errorf("clean up benchmark %s: %w", r.runID, err)
		}
	}
	return nil
}

// Leftovers names the objects labelled with the benchmark's run id that
// still exist.
func (r *Runner) Leftovers(ctx context.Context) ([]string, error) {
	return r.clean.leftovers(ctx, LabelRunID+"="+r.runID)
}

func (r *Runner) labels(s PlannedRun) map[string]string {
	c := r.names.coordinates(s)
	return map[string]string{
		"app.kubernetes.io/part-of": "cachebench",
		LabelRunID:                  r.runID,
		LabelWorkload:               c.Workload,
		LabelBuilder:                c.Builder,
		LabelNetwork:                results.Slug(c.Network),
		LabelChange:                 c.Change,
		LabelStrategy:               c.Strategy,
		LabelRound:                  fmt.Sprint(c.Round),
		LabelCache:                  string(c.Cache),
	}
}

func (r *Runner) request(s PlannedRun, rd *round, stamp string) builders.BuildRequest {
	req := builders.BuildRequest{
		Workload: s.Workload, Strategy: s.Strategy,
		BaseRegistry: r.env.Upstream.Host, Mirror: r.env.Mirror.Host, Bases: r.env.Bases,
		CacheRepo: rd.cacheRepo, Stamp: stamp,
	}
	if _, d := rd.daemons.of(s); d != nil {
		req.Daemon = d.addr
	}
	if bp := r.basePath(rd); bp != "" {
		req.BasePath = bp
		req.Bases = map[string]string{}
		for logical := range r.env.Bases {
			req.Bases[logical] = r.env.Upstream.Ref(bp + "/" + r.baseRepo(logical))
		}
	}
	return req
}

// pipelineRun renders the run's PipelineRun, checked by Tekton's own
// validation; tag is the pushed image's tag.
func (r *Runner) pipelineRun(s PlannedRun, rd *round, stamp, repoURL, tag string) (*pipelinev1.PipelineRun, error) {
	if rd.imageRepo == "" {
		return nil, fmt.Errorf("%s: no image repository to push to", s.Name())
	}
	args, err := s.Builder.Args(r.request(s, rd, stamp))
	if err != nil {
		return nil, err
	}
	pr, err := builders.PipelineRun(builders.PipelineRunParams{
		Namespace: r.env.Namespace, Builder: s.Builder, Workload: s.Workload,
		Name:    "pending",
		RepoURL: repoURL, Revision: rd.branch,
		Image:     fmt.Sprintf("%s/%s:%s", r.env.Registry.Host, rd.imageRepo, tag),
		ExtraArgs: args, CacheClaim: rd.claim, Timeout: r.cfg.Timeout, Labels: r.labels(s),
		Node: rd.node,
	})
	if err != nil {
		return nil, err
	}
	pr.Name = "x" // Validate wants a name; the API server will make one
	if err := pr.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("invalid PipelineRun: %w", err)
	}
	pr.Name = ""
	return pr, nil
}

// recordFirstStep puts into run when its first step started, if the pod
// watch saw it, from the PipelineRun's creation and, for a push, from the
// event.
func recordFirstStep(run *results.Run, firstStep <-chan time.Time, created time.Time) {
	select {
	case at, ok := <-firstStep:
		if !ok {
			return
		}
		run.FirstStepMillis = at.Sub(created).Milliseconds()
		if run.Trigger != nil {
			run.Trigger.FirstStepMillis = run.Trigger.PipelineRunMillis + run.FirstStepMillis
		}
	default:
	}
}

// newRun numbers a run and fills in what is known before it starts.
func (r *Runner) newRun(s PlannedRun, rd *round) results.Run {
	r.mu.Lock()
	r.seq++
	seq := r.seq
	r.mu.Unlock()
	return results.Run{
		RunID: r.runID, Seq: seq, Coordinates: r.names.coordinates(s), MixChange: string(s.MixChange),
		ImageRepo: rd.imageRepo, CacheRepo: rd.cacheRepo, Versions: r.versions,
	}
}

// keyOf is the key of the row the planned run measures.
func (r *Runner) keyOf(s PlannedRun) stats.Key {
	return stats.KeyOf(results.Run{Coordinates: r.names.coordinates(s)})
}

// DeadlineGrace is how long after Tekton's own timeout the harness stops
// waiting for a PipelineRun that never reports completion.
var DeadlineGrace = 2 * time.Minute

// runOnce runs one PipelineRun and records it, successful or not. Before
// it returns, the PipelineRun, its pods and its volumes are deleted and
// their deletion awaited, so that the next run's clock starts on a quiet
// cluster.
func (r *Runner) runOnce(ctx context.Context, s PlannedRun, rd *round) (results.Run, error) {
	p, err := r.prepareRun(ctx, s, rd)
	if err != nil {
		return r.failed(ctx, p.run, err)
	}
	if err := dither(ctx); err != nil {
		return r.failed(ctx, p.run, err)
	}
	return r.startRun(ctx, p)
}

// preparedRun is a run numbered, its change made and its start rendered:
// what is left is to start it.
type preparedRun struct {
	s     PlannedRun
	rd    *round
	run   results.Run
	begin Begin
}

// prepareRun numbers a run, makes its change and renders its start.
func (r *Runner) prepareRun(ctx context.Context, s PlannedRun, rd *round) (preparedRun, error) {
	p := preparedRun{s: s, rd: rd, run: r.newRun(s, rd)}
	if s.Cache == results.Cold {
		p.run.PrepareSeconds = rd.prepareSec
	}
	if rd.volumes != nil && s.Strategy.VolumeLayers && s.Cache == results.Warm {
		p.run.ColdVolume = !rd.volumes.used(rd.node)
	}
	if daemonsOf(rd) != nil {
		i, _ := rd.daemons.of(s)
		p.run.Daemon, p.run.Daemons = i+1, len(rd.daemons.daemons)
		p.run.ColdDaemon = s.Cache == results.Warm && rd.daemons.fresh(i)
	}
	stamp, err := r.makeChange(ctx, s, rd, changeToken(r.runID, p.run.Seq))
	if err != nil {
		return p, err
	}
	p.begin, err = r.starter().Prepare(ctx, s, rd, p.run.Seq, stamp)
	return p, err
}

// record appends a run to the results, with err.
func (r *Runner) record(run results.Run, err error) (results.Run, error) {
	if werr := r.append(run); werr != nil {
		return run, errors.Join(err, werr)
	}
	return run, err
}

// failed records a run that could not go on, saying why.
func (r *Runner) failed(ctx context.Context, run results.Run, err error) (results.Run, error) {
	run.Reason = err.Error()
	if ctx.Err() != nil {
		run.Reason = "interrupted"
	}
	return r.record(run, err)
}

// startRun starts a prepared run, awaits its end, collects its
// measurements and records it.
func (r *Runner) startRun(ctx context.Context, p preparedRun) (results.Run, error) {
	s, rd, run := p.s, p.rd, p.run
	r.overlaps.started(run.Seq)
	daemonAt, daemon := rd.daemons.of(s)
	daemonBefore, daemonRead := daemonPreparation{r}.daemonUsage(ctx, daemon)
	if n, read, err := (daemonPreparation{r}).stateSize(ctx, daemon); err == nil && read {
		run.DaemonStateBeforeBytes = n
	}
	st, err := p.begin(ctx)
	run.Trigger = st.Trigger
	if err != nil {
		run.Overlapped = r.overlaps.ended(run.Seq)
		return r.failed(ctx, run, err)
	}
	run.PipelineRun = st.PipelineRun.Name
	run.StartedAt = st.At.UTC()
	defer r.remove(ctx, st.PipelineRun.Name)
	r.log.Infof("%s: PipelineRun %s started", s.Name(), st.PipelineRun.Name)
	done, end, pods, err := r.await(ctx, s, st, &run)
	if err != nil {
		return r.record(run, err)
	}
	if daemonRead {
		if after, ok := (daemonPreparation{r}).daemonUsage(ctx, daemon); ok {
			run.DaemonCPUSeconds = (after.CPU - daemonBefore.CPU).Seconds()
			run.DaemonPeakMemoryBytes = after.PeakMemory
		}
	}
	f := Finished{Planned: s, PipelineRun: done, Start: st.At, End: end, Pods: pods, round: rd}
	for _, c := range r.collectors() {
		c.Collect(ctx, f, &run)
	}
	if rd.volumes != nil {
		rd.volumes.use(rd.node)
	}
	if daemon != nil {
		rd.daemons.use(daemonAt)
	}
	if !run.Success && daemon != nil {
		if last, dead := (daemonPreparation{r}).died(ctx, daemon); dead {
			// The round's next run starts it again, with a fresh daemon.
			run.Reason += "; the daemon died: " + lastMessage(last)
			run.LogTail += "\n--- the daemon's last lines:\n" + last
			defer r.endRound(ctx, s)
		}
	}
	r.logRun(s, run)
	if !run.Success {
		run.WallMillis = 0 // a failure is never a duration
	}
	if _, err := r.record(run, nil); err != nil {
		return run, err
	}
	if !run.Success {
		return run, fmt.Errorf("%s: PipelineRun %s failed: %s", s.Name(), done.Name, run.Reason)
	}
	return run, nil
}

// dither waits up to a second, at random. The kubelet notices a
// container's exit at its next relist (once a second), so a run started
// right after the previous one finished is phase-locked to those ticks
// and its wall time comes out in whole seconds. A random wait turns that
// quantisation into unbiased noise that medians average out.
func dither(ctx context.Context) error {
	select {
	case <-time.After(rand.N(time.Second)):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// remove deletes a run's PipelineRun, cancelled first if it still runs
// (Ctrl-C, the harness's deadline), and awaits its pods' going.
func (r *Runner) remove(ctx context.Context, name string) {
	cctx, cancel := context.WithTimeout(cleanupContext(ctx), RemoveTimeout)
	defer cancel()
	if err := r.clean.removePipelineRun(cctx, name); err != nil {
		r.log.Warnf("%v", err)
	}
}

// await waits for a started run's PipelineRun to end, and puts into run
// its wall time and when its first step started. The harness's own
// deadline stands beside Tekton's timeout: a PipelineRun whose controller
// never reports an end must not hang the benchmark. On an error, run says
// why and its PipelineRun is cancelled.
func (r *Runner) await(ctx context.Context, s PlannedRun, st Started, run *results.Run) (*pipelinev1.PipelineRun, time.Time, PodsSeen, error) {
	name := st.PipelineRun.Name
	wctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout+DeadlineGrace)
	defer cancel()
	firstStep := r.watchFirstStep(wctx, name)
	stopPods := r.watchPods(wctx, name)
	stopStalls := watchStalls(wctx, r.env.Clients.Kube, r.env.Namespace, s.Name(), metav1.ListOptions{LabelSelector: "tekton.dev/pipelineRun=" + name}, r.log)
	done, err := r.waitDone(wctx, name)
	stopStalls()
	end := time.Now()
	pods := stopPods()
	run.Overlapped = r.overlaps.ended(run.Seq)
	run.WallMillis = end.Sub(st.At).Milliseconds()
	recordFirstStep(run, firstStep, st.At)
	if err == nil {
		return done, end, pods, nil
	}
	switch {
	case ctx.Err() != nil:
		run.Reason = "interrupted"
	case wctx.Err() != nil:
		run.TimedOut = true
		run.Reason = fmt.Sprintf("no completion reported within %s (Tekton's timeout %s plus %s): %v", r.cfg.Timeout+DeadlineGrace, r.cfg.Timeout, DeadlineGrace, err)
	default:
		run.Reason = "waiting for completion: " + err.Error()
	}
	if !isDoneName(cleanupContext(ctx), r.tekton, r.env.Namespace, name) {
		r.clean.cancel(cleanupContext(ctx), name)
	}
	run.WallMillis = 0
	return nil, end, pods, err
}

// logRun says how a finished run went.
func (r *Runner) logRun(s PlannedRun, run results.Run) {
	if !run.Success {
		r.log.Warnf("%s: failed: %s%s", s.Name(), run.Reason, packagesNote(run.Packages))
		return
	}
	cold := ""
	if run.MixChange != "" {
		cold = "; change " + run.MixChange + " (of the mix)"
	}
	if run.ColdVolume {
		cold += "; on a cold volume: its node's had no build of the round yet"
	}
	if run.Daemon > 0 {
		cold += fmt.Sprintf("; on daemon %d", run.Daemon)
		if run.ColdDaemon {
			cold += ", fresh: no build of the round had gone to it yet"
		}
	}
	r.log.Infof("%s: done in %.1fs (layer cache hits %d, misses %d, local cache hits %d%s; cache use %s%s%s)", s.Name(), run.WallSeconds(), run.BuildLog.CacheHits, run.BuildLog.CacheMisses, run.BuildLog.LocalCacheHits, cold, run.Check.Verdict, imageNote(run.Check.Image), trafficNote(run.Traffic)+packagesNote(run.Packages)+usageNote(run))
	for _, p := range run.Check.Problems {
		r.log.Warnf("%s: %s", s.Name(), p)
	}
	for _, f := range run.Findings {
		r.log.Infof("%s: finding: %s", s.Name(), f)
	}
}

// waitDone watches a PipelineRun until it succeeds or fails; the watch
// delivers the change as it happens and the harness clock stops then.
func (r *Runner) waitDone(ctx context.Context, name string) (*pipelinev1.PipelineRun, error) {
	prs := r.tekton.TektonV1().PipelineRuns(r.env.Namespace)
	ev, err := watchtools.UntilWithSync(ctx, fieldSelectorLW(name, prs.List, prs.Watch), &pipelinev1.PipelineRun{}, nil, func(ev watch.Event) (bool, error) {
		if ev.Type == watch.Deleted {
			return false, errors.New("the PipelineRun was deleted before it finished")
		}
		pr, ok := ev.Object.(*pipelinev1.PipelineRun)
		return ok && isDone(pr), nil
	})
	if err != nil {
		return nil, err
	}
	return ev.Object.(*pipelinev1.PipelineRun), nil
}

func isDone(pr *pipelinev1.PipelineRun) bool {
	c := pr.Status.GetCondition("Succeeded")
	return c != nil && c.Status != corev1.ConditionUnknown
}

func isDoneName(ctx context.Context, tc tektonclient.Interface, ns, name string) bool {
	pr, err := tc.TektonV1().PipelineRuns(ns).Get(ctx, name, metav1.GetOptions{})
	return err == nil && isDone(pr)
}

// namePrefix makes a generateName prefix: a valid name short enough for the
// five random characters the API server appends.
func namePrefix(s string) string {
	p := dnsName(s)
	return strings.TrimRight(p[:min(len(p), 52)], "-") + "-"
}

// dnsName makes a valid Kubernetes name (lower case, at most 63 characters).
func dnsName(s string) string {
	out := results.NameChars(s)
	return out[:min(len(out), 63)]
}

// usageNote is what the kernel accounted to the build's pod (and its
// daemon's), for the progress line.
func usageNote(run results.Run) string {
	note := ""
	if t, _ := run.Task(builders.BuildTask); t.CPUSeconds > 0 {
		note = fmt.Sprintf("; build pod %.1f CPU-s, peak %.0f MiB", t.CPUSeconds, float64(t.PeakMemoryBytes)/(1<<20))
	}
	if run.DaemonCPUSeconds > 0 {
		note += fmt.Sprintf("; daemon %.1f CPU-s meanwhile, peak %.0f MiB", run.DaemonCPUSeconds, float64(run.DaemonPeakMemoryBytes)/(1<<20))
	}
	if run.DaemonStateBytes > 0 {
		note += fmt.Sprintf(", state %.1f MB", float64(run.DaemonStateBytes)/1e6)
	}
	return note
}

// trafficNote is the run's registry traffic for the progress line.
func trafficNote(t map[string]results.RegistryTraffic) string {
	if t == nil {
		return ""
	}
	up, cache, mirror := t[string(registry.Upstream)], t[string(registry.Cache)], t[string(registry.Mirror)]
	note := fmt.Sprintf("; upstream %.1f MB in %d pulls; cache registry %.1f MB pulled, %.1f MB pushed", float64(up.PulledBytes)/1e6, up.Pulls, float64(cache.PulledBytes)/1e6, float64(cache.PushedBytes)/1e6)
	if mirror.Requests > 0 {
		note += fmt.Sprintf("; mirror %.1f MB", float64(mirror.PulledBytes)/1e6)
	}
	return note
}
