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
	"github.com/cachebench/cachebench/measure"
	"github.com/cachebench/cachebench/results"
)

// pipelineCollector fills a run from its finished PipelineRun: success,
// status times, its TaskRuns and pods, kubelet events (image pulls), the
// builder's log read into cache hits and phases (and kept beside the
// results), and why it failed.
type pipelineCollector struct{ r *Runner }

// Collect implements Collector.
func (c pipelineCollector) Collect(ctx context.Context, f Finished, run *results.Run) {
	r, b, pr := c.r, f.Planned.Builder, f.PipelineRun
	start := f.Start
	if run.Trigger != nil {
		// The run's clock starts when the watch sees the PipelineRun; its
		// pods are placed from the push event on.
		start = start.Add(-time.Duration(run.Trigger.PipelineRunMillis) * time.Millisecond)
	}
	if text := c.collect(ctx, b, pr, start, f.Pods, run); text != "" && r.out != nil {
		var err error
		if run.BuildLogFile, err = r.out.WriteLog(run.Seq, text); err != nil {
			r.log.Warnf("%v", err)
		}
	}
}

// collect fills the run and returns the builder's log ("" when it could
// not be read). started is when the run began (its create call, or its
// push event); seen is what the harness saw of its pods while it ran.
func (c pipelineCollector) collect(ctx context.Context, b builders.Builder, pr *pipelinev1.PipelineRun, started time.Time, seen PodsSeen, run *results.Run) (buildLog string) {
	r := c.r
	ns := r.env.Namespace
	run.Pipeline = measure.Pipeline(pr)
	cond := pr.Status.GetCondition("Succeeded")
	run.Success = cond != nil && cond.Status == corev1.ConditionTrue
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
		var task *results.Task
		if i := slices.IndexFunc(run.Tasks, func(t results.Task) bool { return t.TaskRun == tr.Name }); i >= 0 {
			task = &run.Tasks[i]
		}
		events, err := r.env.Clients.Kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + pod})
		if err == nil {
			run.Pulls = append(run.Pulls, measure.Pulls(pod, events.Items)...)
			at, ok := seen.Scheduled[pod]
			if !ok {
				at, ok = measure.Scheduled(events.Items)
			}
			if ok && task != nil && !started.IsZero() {
				task.ScheduledMillis = at.Sub(started).Milliseconds()
			}
		}
		if p, err := r.env.Clients.Kube.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{}); err != nil {
			r.log.Warnf("node of %s: %v", pod, err)
		} else if task != nil {
			task.Node = p.Spec.NodeName
		}
		if u, ok := seen.Usage[pod]; ok && task != nil {
			task.CPUSeconds, task.PeakMemoryBytes = u.CPU.Seconds(), u.PeakMemory
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
		run.TimedOut = pr.IsTimeoutConditionSet()
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
