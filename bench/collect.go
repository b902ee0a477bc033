package bench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/cluster/registry"
	"github.com/cachebench/cachebench/measure"
	"github.com/cachebench/cachebench/results"
)

// collect fills a run from the finished PipelineRun: status times, its
// TaskRuns and pods, kubelet events and the builder's log, which it
// returns ("" when it could not be read).
func (r *Runner) collect(ctx context.Context, b builders.Builder, pr *pipelinev1.PipelineRun, run *results.Run) (buildLog string) {
	ns := r.env.Namespace
	run.Pipeline = measure.Pipeline(pr)
	c := pr.Status.GetCondition("Succeeded")
	run.Success = c != nil && c.Status == corev1.ConditionTrue
	for _, res := range pr.Status.Results {
		switch res.Name {
		case "commit":
			run.Commit = res.Value.StringVal
		case "image-digest":
			run.ImageDigest = res.Value.StringVal
		}
	}
	trList, err := r.tekton.TektonV1().TaskRuns(ns).List(ctx, metav1.ListOptions{LabelSelector: "tekton.dev/pipelineRun=" + pr.Name})
	if err != nil {
		r.log.Warnf("list TaskRuns of %s: %v", pr.Name, err)
		return
	}
	run.Tasks = measure.Tasks(trList.Items)
	var failure *stepFailure
	for _, tr := range trList.Items {
		pod := tr.Status.PodName
		if pod == "" {
			continue
		}
		events, err := r.env.Clients.Kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + pod})
		if err == nil {
			run.Pulls = append(run.Pulls, measure.Pulls(pod, events.Items)...)
		}
		if tr.Labels[measure.PipelineTaskLabel] == builders.BuildTask {
			logText, err := r.podLog(ctx, pod, "step-"+b.StepName(), true)
			if err != nil {
				r.log.Warnf("read build log of %s: %v", pod, err)
			} else {
				run.BuildLog = b.ReadLog(measure.ParseTimestamped(logText))
				buildLog = logText
			}
		}
		if failure == nil && failed(&tr) {
			failure = r.failedStep(ctx, &tr)
		}
	}
	if !run.Success {
		run.Reason = measure.FailureReason(pr, trList.Items)
		if failure != nil {
			run.LogTail = failure.tail
			// The builder's own error line says what failed; the step's
			// exit code does not.
			if failure.message != "" {
				run.Reason = failure.step + ": " + failure.message
			}
		}
	}
	return buildLog
}

// stepFailure is what the log of a failed step says.
type stepFailure struct {
	step    string // container name
	message string // the error line found in its log, "" if none
	tail    string // the log's last lines, ending at that error line
}

func failed(tr *pipelinev1.TaskRun) bool {
	c := tr.Status.GetCondition("Succeeded")
	return c != nil && c.Status == corev1.ConditionFalse
}

// failedStepOf is, for an error message, what the first failed step of
// PipelineRun pr printed: its error line and the lines up to it ("" if
// none can be read).
func (r *Runner) failedStepOf(ctx context.Context, pr string) string {
	trs, err := r.tekton.TektonV1().TaskRuns(r.env.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "tekton.dev/pipelineRun=" + pr})
	if err != nil {
		return ""
	}
	for _, tr := range trs.Items {
		if !failed(&tr) {
			continue
		}
		if f := r.failedStep(ctx, &tr); f != nil {
			return fmt.Sprintf("\n%s printed:\n%s", f.step, measure.Tail(f.tail, 15))
		}
	}
	return ""
}

// failedStep reads the log of the first step that failed: the error line
// its builder printed (or, for other steps, the last error line) and the
// lines up to it.
func (r *Runner) failedStep(ctx context.Context, tr *pipelinev1.TaskRun) *stepFailure {
	for _, s := range tr.Status.Steps {
		if s.Terminated == nil || s.Terminated.ExitCode == 0 {
			continue
		}
		f := &stepFailure{step: s.Container}
		text, err := r.podLog(ctx, tr.Status.PodName, s.Container, false)
		if err != nil {
			f.tail = fmt.Sprintf("(log of %s unavailable: %v)", s.Container, err)
			return f
		}
		if msg, line, ok := measure.BuildError(text); ok {
			f.message, f.tail = msg, measure.TailTo(text, line, 40)
		} else {
			f.tail = measure.Tail(text, 40)
		}
		return f
	}
	return nil
}

func (r *Runner) podLog(ctx context.Context, pod, container string, timestamps bool) (string, error) {
	req := r.env.Clients.Kube.CoreV1().Pods(r.env.Namespace).GetLogs(pod, &corev1.PodLogOptions{Container: container, Timestamps: timestamps})
	rc, err := req.Stream(ctx)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	var sb strings.Builder
	_, err = io.Copy(&sb, rc)
	return sb.String(), err
}

// traffic reads what the run asked of each registry, between its start
// and its end, from the registries' access logs: requests are attributed
// by the kubelet's timestamp of their log line (warm-ups and cache checks
// happen before a run starts). With bases, a repository path that is the
// run's round's alone, only the requests for repositories under it count
// at the upstream registry and the mirror, which tells the run's requests
// from those of runs beside it. The bytes pushed are looked up blob by
// blob, since the access log holds response sizes only.
func (r *Runner) traffic(ctx context.Context, from, to time.Time, bases string) (map[string]results.RegistryTraffic, error) {
	out := map[string]results.RegistryTraffic{}
	for _, reg := range r.env.Registries() {
		log, err := r.env.Clients.LogsSince(ctx, r.env.Namespace, reg.PodSelector(), reg.LogContainer(), from.Add(-time.Second))
		if err != nil {
			return nil, fmt.Errorf("%s registry: %w", reg.Role, err)
		}
		reqs := measure.AccessLog(measure.ParseTimestamped(log))
		if bases != "" && reg.Role != registry.Cache {
			reqs = slices.DeleteFunc(reqs, func(q measure.Request) bool { return !strings.HasPrefix(q.Repository(), bases+"/") })
		}
		t := measure.Tally(reqs, from, to)
		rt := results.RegistryTraffic{
			Requests: t.Requests, Pulls: t.Pulls, BlobGets: t.BlobGets, PulledBytes: t.PulledBytes,
			PushedBlobs: len(t.Pushed), ManifestPuts: t.ManifestPuts,
		}
		if len(t.Pushed) > 0 {
			sess, err := reg.Connect(ctx)
			if err != nil {
				return nil, err
			}
			for _, b := range t.Pushed {
				n, err := sess.BlobSize(ctx, b.Repository, b.Digest)
				if err != nil {
					sess.Close()
					return nil, fmt.Errorf("%s registry: %w", reg.Role, err)
				}
				rt.PushedBytes += n
			}
			sess.Close()
		}
		out[string(reg.Role)] = rt
	}
	return out, nil
}
