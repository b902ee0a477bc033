package bench

import (
	"context"
	"errors"
	"fmt"
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
	"k8s.io/client-go/kubernetes"
	watchtools "k8s.io/client-go/tools/watch"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	"knative.dev/pkg/apis"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/cluster"
	"github.com/cachebench/cachebench/cluster/network"
	"github.com/cachebench/cachebench/cluster/pkgcache"
	"github.com/cachebench/cachebench/cluster/registry"
	"github.com/cachebench/cachebench/log"
	"github.com/cachebench/cachebench/measure"
	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/scenarios"
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

// Runner runs benchmark planned against a prepared cluster.
type Runner struct {
	env    *cluster.Env
	tekton tektonclient.Interface
	matrix Matrix
	opts   Config
	runID  string
	// names is what the cluster's names of the benchmark's rounds start
	// with: the run id, with the session's number for a resumed one (its
	// cut-off rounds' repositories and branches may still be there).
	names    string
	out      *results.Writer
	log      log.Logger
	clean    *cleaner
	seq      int
	rounds   map[string]*round
	versions map[string]string
	streak   streak
	runs     []results.Run
	// filled is each workload's package traffic while it filled the
	// package cache: what one build of it asks.
	filled map[string]results.PackageTraffic
	// expected caches the expected cache use per workload and change.
	expected map[string][]scenarios.ExpectedInstruction

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
	// inFlight are the runs under way, by sequence number, and overlaps
	// counts for each the runs it overlapped.
	inFlight map[int]bool
	overlaps map[int]int
}

// round is the state of one builder's strategy's round on one workload.
type round struct {
	cacheRepo  string
	claim      string
	prepareSec float64
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
func NewRunner(env *cluster.Env, m Matrix, opts Config, runID string, versions map[string]string, l log.Logger) *Runner {
	tc := env.Clients.Tekton
	return &Runner{
		env: env, tekton: tc, matrix: m, opts: opts, runID: runID, names: runID, log: l,
		clean:  &cleaner{ns: env.Namespace, kube: env.Clients.Kube, tekton: tc, log: l},
		rounds: map[string]*round{}, versions: versions, expected: map[string][]scenarios.ExpectedInstruction{},
		streak:   streak{limit: opts.StopAfterFailures},
		inFlight: map[int]bool{}, overlaps: map[int]int{}, filled: map[string]results.PackageTraffic{},
	}
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
	r.names = fmt.Sprintf("%s-%d", r.runID, res.Session)
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
	rd, ok := r.rounds[roundKey(s)]
	return rd, ok
}

// started notes that a run is under way, overlapping every run already
// under way (and they it).
func (r *Runner) started(seq int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for other := range r.inFlight {
		r.overlaps[other]++
		r.overlaps[seq]++
	}
	r.inFlight[seq] = true
}

// ended notes that a run is over and returns how many runs it overlapped.
func (r *Runner) ended(seq int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.inFlight, seq)
	n := r.overlaps[seq]
	delete(r.overlaps, seq)
	return n
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

func roundKey(s PlannedRun) string {
	return fmt.Sprintf("%s/%s/%s/%s/%s/%d", s.Builder.Name(), s.Strategy.Name, s.Workload.Name, s.Change, s.Network.Slug(), s.Round)
}

// roundPath names a round in git branches and registry repositories:
// lower case, unique within the cluster.
func (r *Runner) roundPath(s PlannedRun) string {
	return "rounds/" + strings.Trim(nameChars(fmt.Sprintf("%s-%s-%s-%s-%s-%s-r%d", r.names, s.Workload.Name, s.Builder.Name(), s.Strategy.Name, s.Change, s.Network.Slug(), s.Round)), "-")
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
// cause it returns a *StoppedError: the benchmark should end there.
func (r *Runner) Do(ctx context.Context, s PlannedRun) ([]results.Run, error) {
	if s.Change == "" {
		s.Change = s.Workload.DefaultChange()
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
	run, err := r.runOnce(ctx, s, rd)
	return append(runs, run), err
}

// startRound resets a strategy's cache: a layer cache repository never
// used before, and a new volume warmed with the workload's base images.
func (r *Runner) startRound(ctx context.Context, s PlannedRun) error {
	r.endRound(ctx, s)
	rd := &round{}
	r.mu.Lock()
	r.rounds[roundKey(s)] = rd
	r.mu.Unlock()
	if s.Strategy.LayerRepo != "" {
		// Each change pattern has rounds of its own, and so repositories.
		rd.cacheRepo = builders.CacheRepo(r.env.Registry.Host, s.Strategy, s.Builder.Name()+"/"+s.Workload.Name+"/"+string(s.Change)+"/"+r.names+"/"+s.Network.Slug(), s.Round)
		if err := r.checkEmptyRepo(ctx, rd.cacheRepo); err != nil {
			return err
		}
	}
	if err := r.startChanges(ctx, s, rd); err != nil {
		return fmt.Errorf("%s: %w", s.Name(), err)
	}
	if s.Strategy.CacheVolume {
		start := time.Now()
		if err := r.warmVolume(ctx, s, rd); err != nil {
			return fmt.Errorf("%s: warm cache volume: %w", s.Name(), err)
		}
		rd.prepareSec = time.Since(start).Seconds()
		r.log.Infof("%s: cache volume %s warmed in %.1fs", s.Name(), rd.claim, rd.prepareSec)
	}
	if r.opts.Start == results.StartTrigger {
		// Last: the template names the round's cache volume.
		return r.addTrigger(ctx, s, rd)
	}
	return nil
}

// endRound forgets a round and deletes its cache volume, awaited.
func (r *Runner) endRound(ctx context.Context, s PlannedRun) {
	r.mu.Lock()
	old, ok := r.rounds[roundKey(s)]
	delete(r.rounds, roundKey(s))
	r.mu.Unlock()
	if ok {
		r.removeTrigger(cleanupContext(ctx), old)
	}
	if ok && old.claim != "" {
		if err := r.clean.removeClaim(cleanupContext(ctx), old.claim); err != nil {
			r.log.Warnf("%v", err)
		}
	}
}

// cleanupContext outlives a Ctrl-C: what was created must still go.
func cleanupContext(ctx context.Context) context.Context {
	return context.WithoutCancel(ctx)
}

// checkEmptyRepo proves that a round's cache starts empty.
func (r *Runner) checkEmptyRepo(ctx context.Context, ref string) error {
	repo := strings.TrimPrefix(ref, r.env.Registry.Host+"/")
	sess, err := r.env.Registry.Connect(ctx)
	if err != nil {
		return err
	}
	defer sess.Close()
	tags, err := sess.Tags(ctx, repo)
	if err != nil {
		return fmt.Errorf("check cache repository %s: %w", repo, err)
	}
	if len(tags) > 0 {
		return fmt.Errorf("cache repository %s is not empty (%d tags): a round must start cold; use a new --run-id", repo, len(tags))
	}
	return nil
}

// warmVolume creates the round's cache volume and fills it with the
// builder's warm-up pod. The claim's name is generated, so a retried round
// never collides with an earlier claim, however long the run id.
func (r *Runner) warmVolume(ctx context.Context, s PlannedRun, rd *round) error {
	ns := r.env.Namespace
	kc := r.env.Clients.Kube
	labels := r.labels(s)
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{GenerateName: namePrefix("cache-" + s.Builder.Name() + "-" + s.Strategy.Name + "-" + s.Workload.Name + "-" + s.Network.Slug()), Namespace: ns, Labels: labels},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: CacheVolumeSize}},
		},
	}
	created, err := kc.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create volume claim: %w", err)
	}
	// From here on the round owns the claim: endRound deletes it on every path.
	rd.claim = created.Name
	bctx, cancel := context.WithTimeout(ctx, r.opts.RunTimeout)
	err = waitClaimBound(bctx, kc, created, r.log)
	cancel()
	if err != nil {
		return err
	}
	spec, err := s.Builder.WarmerPod(r.request(s, rd, ""), rd.claim)
	if err != nil {
		return fmt.Errorf("warm-up pod: %w", err)
	}
	if spec == nil {
		return fmt.Errorf("warm-up pod: builder %s has none", s.Builder.Name())
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: namePrefix("warm-" + s.Builder.Name() + "-" + s.Workload.Name), Namespace: ns, Labels: labels}, Spec: *spec}
	warm, err := kc.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create warm-up pod: %w", err)
	}
	// The warm-up pod's teardown must not land inside the cold run's clock.
	defer func() {
		if err := r.clean.removePod(cleanupContext(ctx), warm.Name); err != nil {
			r.log.Warnf("%v", err)
		}
	}()
	wctx, cancel := context.WithTimeout(ctx, r.opts.RunTimeout)
	defer cancel()
	defer watchStalls(wctx, kc, ns, s.Name()+": warm-up", metav1.ListOptions{FieldSelector: "metadata.name=" + warm.Name}, r.log)()
	done, err := waitPodDone(wctx, kc, ns, warm.Name)
	if err != nil {
		return fmt.Errorf("warm-up pod %s: %w", warm.Name, err)
	}
	if done.Status.Phase != corev1.PodSucceeded {
		logs, _ := r.podLog(ctx, warm.Name, "warmer", false)
		return fmt.Errorf("warm-up pod %s failed:\n%s", warm.Name, measure.Tail(logs, 20))
	}
	return nil
}

// waitPodDone watches a pod until it succeeds or fails. API errors end the
// wait and are returned.
func waitPodDone(ctx context.Context, kc kubernetes.Interface, ns, name string) (*corev1.Pod, error) {
	pods := kc.CoreV1().Pods(ns)
	ev, err := watchtools.UntilWithSync(ctx, fieldSelectorLW(name, pods.List, pods.Watch), &corev1.Pod{}, nil, func(ev watch.Event) (bool, error) {
		if ev.Type == watch.Deleted {
			return false, errors.New("deleted before it finished")
		}
		p, ok := ev.Object.(*corev1.Pod)
		return ok && (p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed), nil
	})
	if err != nil {
		return nil, err
	}
	return ev.Object.(*corev1.Pod), nil
}

// Close removes everything the benchmark created (labelled with its run
// id) and waits until it is gone.
func (r *Runner) Close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(cleanupContext(ctx), RemoveTimeout)
	defer cancel()
	r.mu.Lock()
	r.rounds = map[string]*round{}
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
	return map[string]string{
		"app.kubernetes.io/part-of": "cachebench",
		LabelRunID:                  r.runID,
		LabelWorkload:               s.Workload.Name,
		LabelBuilder:                s.Builder.Name(),
		LabelNetwork:                s.Network.Slug(),
		LabelChange:                 string(s.Change),
		LabelStrategy:               s.Strategy.Name,
		LabelRound:                  fmt.Sprint(s.Round),
		LabelCache:                  string(s.Cache),
	}
}

func (r *Runner) request(s PlannedRun, rd *round, stamp string) builders.BuildRequest {
	req := builders.BuildRequest{
		Workload: s.Workload, Strategy: s.Strategy,
		BaseRegistry: r.env.Upstream.Host, Mirror: r.env.Mirror.Host, Bases: r.env.Bases,
		CacheRepo: rd.cacheRepo, Stamp: stamp,
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
	args, err := s.Builder.Args(r.request(s, rd, stamp))
	if err != nil {
		return nil, err
	}
	pr, err := builders.PipelineRun(builders.PipelineRunParams{
		Namespace: r.env.Namespace, Builder: s.Builder, Workload: s.Workload,
		Name:    "pending",
		RepoURL: repoURL, Revision: rd.branch,
		Image:     fmt.Sprintf("%s/bench/%s:%s", r.env.Registry.Host, s.Workload.Name, tag),
		ExtraArgs: args, CacheClaim: rd.claim, Timeout: r.opts.RunTimeout, Labels: r.labels(s),
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
func (r *Runner) recordFirstStep(run *results.Run, firstStep <-chan time.Time, created time.Time) {
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
		RunID: r.runID, Seq: seq, Workload: s.Workload.Name, Change: string(s.Change), Network: s.Network.Name, Start: r.opts.Start, Builder: s.Builder.Name(),
		Strategy: s.Strategy.Name, Round: s.Round, Cache: s.Cache, Attempt: s.Attempt,
		CacheRepo: rd.cacheRepo, Versions: r.versions,
	}
}

// DeadlineGrace is how long after Tekton's own timeout the harness stops
// waiting for a PipelineRun that never reports completion.
var DeadlineGrace = 2 * time.Minute

// runOnce runs one PipelineRun and records it, successful or not. Before
// it returns, the PipelineRun, its pods and its volumes are deleted and
// their deletion awaited, so that the next run's clock starts on a quiet
// cluster.
func (r *Runner) runOnce(ctx context.Context, s PlannedRun, rd *round) (results.Run, error) {
	run := r.newRun(s, rd)
	if s.Cache == results.Cold {
		run.PrepareSeconds = rd.prepareSec
	}
	record := func(err error) (results.Run, error) {
		if werr := r.append(run); werr != nil {
			return run, errors.Join(err, werr)
		}
		return run, err
	}
	stamp, err := r.makeChange(ctx, s, rd, changeToken(r.runID, run.Seq))
	if err != nil {
		run.Reason = err.Error()
		if ctx.Err() != nil {
			run.Reason = "interrupted"
		}
		return record(err)
	}
	var pr *pipelinev1.PipelineRun
	if r.opts.Start == results.StartTrigger {
		err = r.pushCommit(ctx, s, rd, changeToken(r.runID, run.Seq))
	} else {
		pr, err = r.pipelineRun(s, rd, stamp, r.env.Git.URL(s.Workload.Name), fmt.Sprintf("%s-%s-%s-%d", r.runID, s.Builder.Name(), s.Strategy.Name, run.Seq))
		if pr != nil {
			pr.GenerateName = namePrefix(fmt.Sprintf("%s-%s-%s-%s-r%d-%s%d", s.Workload.Name, s.Network.Slug(), s.Builder.Name(), s.Strategy.Name, s.Round, s.Cache, s.Attempt))
		}
	}
	if err != nil {
		run.Reason = err.Error()
		if ctx.Err() != nil {
			run.Reason = "interrupted"
		}
		return record(err)
	}

	// The kubelet notices a container's exit at its next relist (once a
	// second), so a run started right after the previous one finished is
	// phase-locked to those ticks and its wall time comes out in whole
	// seconds. A random wait of up to a second dithers the start, turning
	// that quantisation into unbiased noise that medians average out.
	select {
	case <-time.After(rand.N(time.Second)):
	case <-ctx.Done():
		run.Reason = "interrupted"
		return record(ctx.Err())
	}
	var start time.Time
	var created *pipelinev1.PipelineRun
	r.started(run.Seq)
	overlapped := func() { run.Overlapped = r.ended(run.Seq) }
	if pr != nil {
		start = time.Now()
		created, err = r.tekton.TektonV1().PipelineRuns(r.env.Namespace).Create(ctx, pr, metav1.CreateOptions{})
		if err != nil {
			overlapped()
			run.Reason = "create PipelineRun: " + err.Error()
			return record(errors.New(run.Reason))
		}
	} else {
		created, start, run.Trigger, err = r.startTrigger(ctx, s, rd)
		if err != nil {
			overlapped()
			run.Reason = err.Error()
			if ctx.Err() != nil {
				run.Reason = "interrupted"
			}
			return record(err)
		}
	}
	run.PipelineRun = created.Name
	defer func() {
		// Cancelled first if it still runs (Ctrl-C, the harness's deadline).
		cctx, cancel := context.WithTimeout(cleanupContext(ctx), RemoveTimeout)
		defer cancel()
		if err := r.clean.removePipelineRun(cctx, created.Name); err != nil {
			r.log.Warnf("%v", err)
		}
	}()
	r.log.Infof("%s: PipelineRun %s started", s.Name(), created.Name)
	// The harness's own deadline, beside Tekton's timeout: a PipelineRun
	// whose controller never reports an end must not hang the benchmark.
	wctx, cancel := context.WithTimeout(ctx, r.opts.RunTimeout+DeadlineGrace)
	defer cancel()
	firstStep := r.watchFirstStep(wctx, created.Name)
	stopStalls := watchStalls(wctx, r.env.Clients.Kube, r.env.Namespace, s.Name(), metav1.ListOptions{LabelSelector: "tekton.dev/pipelineRun=" + created.Name}, r.log)
	done, err := r.waitDone(wctx, created.Name)
	stopStalls()
	end := time.Now()
	overlapped()
	run.WallMillis = end.Sub(start).Milliseconds()
	r.recordFirstStep(&run, firstStep, start)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			run.Reason = "interrupted"
		case wctx.Err() != nil:
			run.Reason = fmt.Sprintf("no completion reported within %s (Tekton's timeout %s plus %s): %v", r.opts.RunTimeout+DeadlineGrace, r.opts.RunTimeout, DeadlineGrace, err)
		default:
			run.Reason = "waiting for completion: " + err.Error()
		}
		if !isDoneName(cleanupContext(ctx), r.tekton, r.env.Namespace, created.Name) {
			r.clean.cancel(cleanupContext(ctx), created.Name)
		}
		run.WallMillis = 0
		return record(err)
	}
	if text := r.collect(ctx, s.Builder, done, &run); text != "" && r.out != nil {
		if run.BuildLogFile, err = r.out.WriteLog(run.Seq, text); err != nil {
			r.log.Warnf("%v", err)
		}
	}
	// A round with bases of its own (ownBases) tells its traffic to the
	// mirror and upstream from other runs' by their repositories, and its
	// package traffic by its tag.
	if run.Traffic, err = r.traffic(ctx, start, end, rd.basePath); err != nil {
		r.log.Warnf("%s: registry traffic: %v", s.Name(), err)
	}
	r.packageTraffic(ctx, &run, start, end, rd.packageTag)
	if run.Success {
		run.Check = CheckRun(s, run)
		if rd.commit != "" && run.Commit != rd.commit {
			run.Check.Verdict = results.Contradicted
			run.Check.Problems = append(run.Check.Problems, fmt.Sprintf("the run built commit %s, not the change's %s", run.Commit, rd.commit))
		}
		run.Findings = r.findings(s, run)
		image, problems, findings, err := r.checkImage(ctx, s, run)
		if err != nil {
			r.log.Warnf("%s: the image was not checked: %v", s.Name(), err)
		} else {
			run.Check.Image = image
			if len(problems) > 0 {
				run.Check.Verdict = results.Contradicted
				run.Check.Problems = append(run.Check.Problems, problems...)
			}
			run.Findings = append(run.Findings, findings...)
		}
		r.log.Infof("%s: done in %.1fs (layer cache hits %d, misses %d, local cache hits %d; cache use %s%s%s)", s.Name(), run.WallSeconds(), run.BuildLog.CacheHits, run.BuildLog.CacheMisses, run.BuildLog.LocalCacheHits, run.Check.Verdict, imageNote(run.Check.Image), trafficNote(run.Traffic)+packagesNote(run.Packages))
		for _, p := range run.Check.Problems {
			r.log.Warnf("%s: %s", s.Name(), p)
		}
		for _, f := range run.Findings {
			r.log.Infof("%s: finding: %s", s.Name(), f)
		}
	} else {
		r.log.Warnf("%s: failed: %s%s", s.Name(), run.Reason, packagesNote(run.Packages))
		// A failure is never a duration.
		run.WallMillis = 0
	}
	if _, err := record(nil); err != nil {
		return run, err
	}
	if !run.Success {
		return run, fmt.Errorf("%s: PipelineRun %s failed: %s", s.Name(), created.Name, run.Reason)
	}
	return run, nil
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
	out := nameChars(s)
	return out[:min(len(out), 63)]
}

// nameChars is s in lower case with every character other than a letter,
// a digit or '-' replaced by '-': a name git, registries and Kubernetes
// all take, of any length.
func nameChars(s string) string {
	return strings.Map(func(c rune) rune {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' {
			return c
		}
		return '-'
	}, strings.ToLower(s))
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
