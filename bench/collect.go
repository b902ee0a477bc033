package bench

import (
	"context"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/cachebench/cachebench/measure"
	"github.com/cachebench/cachebench/reports"
	"github.com/cachebench/cachebench/scenarios"
)

// collect fills a run from the finished PipelineRun: status times, its
// TaskRuns and pods, kubelet events and the builder's log.
func (r *Runner) collect(ctx context.Context, pr *pipelinev1.PipelineRun, run *reports.Run) {
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
	var failedLog string
	for _, tr := range trList.Items {
		pod := tr.Status.PodName
		if pod == "" {
			continue
		}
		events, err := r.env.Clients.Kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + pod})
		if err == nil {
			run.Pulls = append(run.Pulls, measure.Pulls(pod, events.Items)...)
		}
		if tr.Labels[measure.PipelineTaskLabel] == scenarios.BuildTask {
			logText, err := r.podLog(ctx, pod, "step-"+r.builder.StepName(), true)
			if err != nil {
				r.log.Warnf("read build log of %s: %v", pod, err)
			} else {
				run.Kaniko = measure.Kaniko(measure.ParseTimestamped(logText))
			}
		}
		if failedLog == "" && failed(&tr) {
			failedLog = r.failedStepLog(ctx, &tr)
		}
	}
	if !run.Success {
		run.Reason = measure.FailureReason(pr, trList.Items)
		run.LogTail = failedLog
	}
}

func failed(tr *pipelinev1.TaskRun) bool {
	c := tr.Status.GetCondition("Succeeded")
	return c != nil && c.Status == corev1.ConditionFalse
}

// failedStepLog returns the last lines of the first step that failed.
func (r *Runner) failedStepLog(ctx context.Context, tr *pipelinev1.TaskRun) string {
	for _, s := range tr.Status.Steps {
		if s.Terminated != nil && s.Terminated.ExitCode != 0 {
			text, err := r.podLog(ctx, tr.Status.PodName, s.Container, false)
			if err != nil {
				return fmt.Sprintf("(log of %s unavailable: %v)", s.Container, err)
			}
			return measure.Tail(text, 40)
		}
	}
	return ""
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
