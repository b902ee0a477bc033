package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	"knative.dev/pkg/apis"

	"github.com/cachebench/cachebench/cluster"
	"github.com/cachebench/cachebench/log"
	"github.com/cachebench/cachebench/measure"
	"github.com/cachebench/cachebench/reports"
	"github.com/cachebench/cachebench/scenarios"
)

// Labels put on everything a benchmark creates.
const (
	LabelRunID    = "cachebench/run-id"
	LabelWorkload = "cachebench/workload"
	LabelStrategy = "cachebench/strategy"
	LabelPhase    = "cachebench/phase"
)

// CacheVolumeSize is the size of a cache volume (base images of a workload).
var CacheVolumeSize = resource.MustParse("4Gi")

// Runner runs benchmark steps against a prepared cluster.
type Runner struct {
	env      *cluster.Env
	tekton   tektonclient.Interface
	builder  scenarios.Builder
	opts     Options
	runID    string
	out      *reports.Writer
	log      log.Logger
	seq      int
	rounds   map[string]*round
	versions map[string]string
}

// round is the state of one strategy's round on one workload.
type round struct {
	cacheRepo  string
	claim      string
	prepareSec float64
}

// NewRunner returns a Runner writing to out; versions go into every run.
func NewRunner(env *cluster.Env, b scenarios.Builder, opts Options, runID string, versions map[string]string, out *reports.Writer, l log.Logger) (*Runner, error) {
	tc, err := tektonclient.NewForConfig(env.Clients.Config)
	if err != nil {
		return nil, err
	}
	return &Runner{env: env, tekton: tc, builder: b, opts: opts, runID: runID, out: out, log: l, rounds: map[string]*round{}, versions: versions}, nil
}

// Install creates (or updates) the Tasks and the Pipeline, after Tekton's
// own validation.
func (r *Runner) Install(ctx context.Context) error {
	ns := r.env.Namespace
	clone, build := scenarios.CloneTask(r.env.Images.Git), r.builder.Task(scenarios.BuildTaskName(r.builder))
	pipeline := scenarios.Pipeline(r.builder)
	for _, v := range []interface {
		Validate(context.Context) *apis.FieldError
	}{clone, build, pipeline} {
		// Validate returns a typed nil: compare it as such, not as an error.
		if ferr := v.Validate(ctx); ferr != nil {
			return fmt.Errorf("invalid pipeline object: %w", ferr)
		}
	}
	clone.Namespace, build.Namespace, pipeline.Namespace = ns, ns, ns
	if err := r.env.Clients.ApplyObjects(ctx, clone, build, pipeline); err != nil {
		return fmt.Errorf("install pipeline: %w", err)
	}
	return nil
}

func roundKey(s Step) string {
	return fmt.Sprintf("%s/%s/%d", s.Strategy.Name, s.Workload.Name, s.Round)
}

// Do runs one step and appends its result. A cold step resets the
// strategy's cache first; a warm step whose round has not started (its
// cold run was filtered out) runs that cold run first, since a warm number
// means nothing without it.
func (r *Runner) Do(ctx context.Context, s Step) ([]reports.Run, error) {
	var runs []reports.Run
	rd, ok := r.rounds[roundKey(s)]
	if !ok || s.Phase == reports.Cold {
		if err := r.startRound(ctx, s); err != nil {
			// The round's run cannot happen: it is recorded as failed, with why.
			// The next step of the round starts it again, cold run first.
			delete(r.rounds, roundKey(s))
			run := r.newRun(s, &round{})
			run.Reason = "prepare the cache: " + err.Error()
			if werr := r.out.Append(run); werr != nil {
				err = errors.Join(err, werr)
			}
			return []reports.Run{run}, err
		}
		rd = r.rounds[roundKey(s)]
		if s.Phase == reports.Warm {
			r.log.Infof("%s: its round has no cold run yet; running it first", s.Name())
			cold := s
			cold.Phase, cold.Attempt = reports.Cold, 0
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
func (r *Runner) startRound(ctx context.Context, s Step) error {
	if old, ok := r.rounds[roundKey(s)]; ok && old.claim != "" {
		r.deleteClaim(ctx, old.claim)
	}
	rd := &round{}
	r.rounds[roundKey(s)] = rd
	if s.Strategy.LayerRepo != "" {
		rd.cacheRepo = scenarios.CacheRepo(r.env.Registry.Host, s.Strategy, s.Workload.Name+"/"+r.runID, s.Round)
		if err := r.checkEmptyRepo(ctx, rd.cacheRepo); err != nil {
			return err
		}
	}
	if s.Strategy.CacheVolume {
		start := time.Now()
		rd.claim = dnsName(fmt.Sprintf("cache-%s-%s-%s-r%d", s.Strategy.Name, s.Workload.Name, r.runID, s.Round))
		if err := r.warmVolume(ctx, s, rd); err != nil {
			return fmt.Errorf("%s: warm cache volume: %w", s.Name(), err)
		}
		rd.prepareSec = time.Since(start).Seconds()
		r.log.Infof("%s: cache volume %s warmed in %.1fs", s.Name(), rd.claim, rd.prepareSec)
	}
	return nil
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

func (r *Runner) warmVolume(ctx context.Context, s Step, rd *round) error {
	ns := r.env.Namespace
	kc := r.env.Clients.Kube
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: rd.claim, Namespace: ns, Labels: r.labels(s)},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: CacheVolumeSize}},
		},
	}
	if _, err := kc.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create volume claim: %w", err)
	}
	spec, err := r.builder.WarmerPod(r.request(s, rd, ""), rd.claim)
	if err != nil || spec == nil {
		return fmt.Errorf("warmer pod: %v", err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "warm-" + s.Workload.Name + "-", Namespace: ns, Labels: r.labels(s)}, Spec: *spec}
	created, err := kc.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create warmer pod: %w", err)
	}
	defer kc.CoreV1().Pods(ns).Delete(context.WithoutCancel(ctx), created.Name, metav1.DeleteOptions{})
	var phase corev1.PodPhase
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, r.opts.RunTimeout, true, func(ctx context.Context) (bool, error) {
		p, err := kc.CoreV1().Pods(ns).Get(ctx, created.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		phase = p.Status.Phase
		return phase == corev1.PodSucceeded || phase == corev1.PodFailed, nil
	})
	if err != nil {
		return fmt.Errorf("warmer pod %s did not finish: %w", created.Name, err)
	}
	if phase != corev1.PodSucceeded {
		logs, _ := r.podLog(ctx, created.Name, "warmer", false)
		return fmt.Errorf("warmer pod %s failed:\n%s", created.Name, measure.Tail(logs, 20))
	}
	return nil
}

func (r *Runner) deleteClaim(ctx context.Context, claim string) {
	err := r.env.Clients.Kube.CoreV1().PersistentVolumeClaims(r.env.Namespace).Delete(context.WithoutCancel(ctx), claim, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		r.log.Warnf("delete cache volume %s: %v", claim, err)
	}
}

// Close deletes the cache volumes of the benchmark.
func (r *Runner) Close(ctx context.Context) {
	for _, rd := range r.rounds {
		if rd.claim != "" {
			r.deleteClaim(ctx, rd.claim)
		}
	}
}

func (r *Runner) labels(s Step) map[string]string {
	return map[string]string{
		"app.kubernetes.io/part-of": "cachebench",
		LabelRunID:                  r.runID,
		LabelWorkload:               s.Workload.Name,
		LabelStrategy:               s.Strategy.Name,
		LabelPhase:                  string(s.Phase),
	}
}

func (r *Runner) request(s Step, rd *round, stamp string) scenarios.BuildRequest {
	return scenarios.BuildRequest{
		Workload: s.Workload, Strategy: s.Strategy,
		Registry: r.env.Registry.Host, Bases: r.env.Bases,
		CacheRepo: rd.cacheRepo, Stamp: stamp,
	}
}

// newRun numbers a run and fills in what is known before it starts.
func (r *Runner) newRun(s Step, rd *round) reports.Run {
	r.seq++
	return reports.Run{
		RunID: r.runID, Seq: r.seq, Workload: s.Workload.Name, Builder: r.builder.Name(),
		Strategy: s.Strategy.Name, Round: s.Round, Phase: s.Phase, Attempt: s.Attempt,
		CacheRepo: rd.cacheRepo, Versions: r.versions,
	}
}

// runOnce runs one PipelineRun and records it, successful or not.
func (r *Runner) runOnce(ctx context.Context, s Step, rd *round) (reports.Run, error) {
	run := r.newRun(s, rd)
	if s.Phase == reports.Cold {
		run.PrepareSeconds = rd.prepareSec
	}
	record := func(err error) (reports.Run, error) {
		if werr := r.out.Append(run); werr != nil {
			return run, errors.Join(err, werr)
		}
		return run, err
	}
	stamp := fmt.Sprintf("%s-%d", r.runID, r.seq)
	args, err := r.builder.Args(r.request(s, rd, stamp))
	if err != nil {
		run.Reason = err.Error()
		return record(err)
	}
	pr, err := scenarios.PipelineRun(scenarios.Run{
		Namespace: r.env.Namespace, Builder: r.builder, Workload: s.Workload,
		Name:      "pending",
		RepoURL:   r.env.Git.URL(s.Workload.Name),
		Image:     fmt.Sprintf("%s/bench/%s:%s-%s-%d", r.env.Registry.Host, s.Workload.Name, r.runID, s.Strategy.Name, r.seq),
		ExtraArgs: args, CacheClaim: rd.claim, Timeout: r.opts.RunTimeout, Labels: r.labels(s),
	})
	if err != nil {
		run.Reason = err.Error()
		return record(err)
	}
	prefix := dnsName(fmt.Sprintf("%s-%s-r%d-%s%d-", s.Workload.Name, s.Strategy.Name, s.Round, s.Phase, s.Attempt))
	pr.Name = prefix + "x" // Validate wants a name; the API server will make one
	if err := pr.Validate(ctx); err != nil {
		run.Reason = "invalid PipelineRun: " + err.Error()
		return record(errors.New(run.Reason))
	}
	pr.Name, pr.GenerateName = "", prefix

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
	start := time.Now()
	created, err := r.tekton.TektonV1().PipelineRuns(r.env.Namespace).Create(ctx, pr, metav1.CreateOptions{})
	if err != nil {
		run.Reason = "create PipelineRun: " + err.Error()
		return record(errors.New(run.Reason))
	}
	run.PipelineRun = created.Name
	r.log.Infof("%s: PipelineRun %s started", s.Name(), created.Name)
	done, err := r.waitDone(ctx, created.Name)
	run.WallMillis = time.Since(start).Milliseconds()
	if err != nil {
		if ctx.Err() != nil {
			r.cancel(created.Name)
			run.Reason = "interrupted"
		} else {
			run.Reason = "waiting for completion: " + err.Error()
		}
		run.WallMillis = 0
		return record(err)
	}
	r.collect(ctx, done, &run)
	if run.Success {
		r.log.Infof("%s: done in %.1fs (layer cache hits %d, misses %d, local cache hits %d)", s.Name(), run.WallSeconds(), run.Kaniko.CacheHits, run.Kaniko.CacheMisses, run.Kaniko.LocalCacheHits)
		// A finished run's workspace volume is not needed any more.
		r.tekton.TektonV1().PipelineRuns(r.env.Namespace).Delete(context.WithoutCancel(ctx), created.Name, metav1.DeleteOptions{})
	} else {
		r.log.Warnf("%s: failed: %s", s.Name(), run.Reason)
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

// waitDone watches a PipelineRun until it succeeds or fails. The watch
// delivers the change as it happens; the harness clock stops then.
func (r *Runner) waitDone(ctx context.Context, name string) (*pipelinev1.PipelineRun, error) {
	prs := r.tekton.TektonV1().PipelineRuns(r.env.Namespace)
	for {
		cur, err := prs.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		if isDone(cur) {
			return cur, nil
		}
		w, err := prs.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name, ResourceVersion: cur.ResourceVersion})
		if err != nil {
			return nil, err
		}
		for ev := range w.ResultChan() {
			if pr, ok := ev.Object.(*pipelinev1.PipelineRun); ok && isDone(pr) {
				w.Stop()
				return pr, nil
			}
		}
		w.Stop()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// The watch ended (server timeout): look again and watch anew.
	}
}

func isDone(pr *pipelinev1.PipelineRun) bool {
	c := pr.Status.GetCondition("Succeeded")
	return c != nil && c.Status != corev1.ConditionUnknown
}

// cancel stops a running PipelineRun (on Ctrl-C), so that it does not go on
// building in a cluster that may be kept.
func (r *Runner) cancel(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	patch := []byte(`{"spec":{"status":"` + string(pipelinev1.PipelineRunSpecStatusCancelled) + `"}}`)
	if _, err := r.tekton.TektonV1().PipelineRuns(r.env.Namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		r.log.Warnf("cancel PipelineRun %s: %v", name, err)
		return
	}
	r.log.Infof("cancelled PipelineRun %s", name)
}

// dnsName makes a valid Kubernetes name (lower case, at most 63 characters).
func dnsName(s string) string {
	s = strings.ToLower(s)
	var b strings.Builder
	for _, c := range s {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' {
			b.WriteRune(c)
		} else {
			b.WriteRune('-')
		}
	}
	out := b.String()
	if len(out) > 63 {
		out = out[:63]
	}
	return out
}
