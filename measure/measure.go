// Package measure extracts durations from what a finished PipelineRun
// leaves behind: Tekton's status times, the pods' conditions and events,
// and the lines of logs (each builder reads its own log, in builders/).
// Every function here is pure, so that each timing source is tested from
// recorded objects.
package measure

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/cachebench/cachebench/results"
)

// PipelineTaskLabel names the pipeline task a TaskRun runs.
const PipelineTaskLabel = "tekton.dev/pipelineTask"

// Pipeline returns the PipelineRun's own start and completion (Tekton
// status times: one-second resolution).
func Pipeline(pr *pipelinev1.PipelineRun) results.Span {
	var start, end time.Time
	if pr.Status.StartTime != nil {
		start = pr.Status.StartTime.Time
	}
	if pr.Status.CompletionTime != nil {
		end = pr.Status.CompletionTime.Time
	}
	return results.NewSpan(start, end)
}

// Tasks returns per-task timings, ordered by start. PodStartSeconds runs from
// the TaskRun's start to its first step's start: pod creation, scheduling,
// volume binding and Tekton's init containers.
func Tasks(trs []pipelinev1.TaskRun) []results.Task {
	var out []results.Task
	for _, tr := range trs {
		t := results.Task{Name: tr.Labels[PipelineTaskLabel], TaskRun: tr.Name}
		if t.Name == "" {
			t.Name = tr.Name
		}
		var start, end time.Time
		if tr.Status.StartTime != nil {
			start = tr.Status.StartTime.Time
		}
		if tr.Status.CompletionTime != nil {
			end = tr.Status.CompletionTime.Time
		}
		t.Span = results.NewSpan(start, end)
		var first time.Time
		for _, s := range tr.Status.Steps {
			st := results.Step{Name: s.Name}
			if term := s.Terminated; term != nil {
				st.Span = results.NewSpan(term.StartedAt.Time, term.FinishedAt.Time)
				st.ExitCode = term.ExitCode
				if first.IsZero() || (!term.StartedAt.IsZero() && term.StartedAt.Time.Before(first)) {
					first = term.StartedAt.Time
				}
			}
			t.Steps = append(t.Steps, st)
		}
		if !first.IsZero() && !start.IsZero() {
			t.PodStartSeconds = first.Sub(start).Seconds()
		}
		out = append(out, t)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// pulledRe matches the kubelet's event for a finished pull, e.g.
// Successfully pulled image "x" in 1.234s (1.3s including waiting). Image size: 123 bytes.
var pulledRe = regexp.MustCompile(`^Successfully pulled image "([^"]+)" in ([0-9.]+(?:ms|s|m[0-9.]*s?)?)(?:.*Image size: ([0-9]+) bytes)?`)

// Pulls returns the image pulls the kubelet reported for a pod. Images
// already on the node ("already present on machine") cost nothing and are
// not listed.
func Pulls(pod string, events []corev1.Event) []results.Pull {
	var out []results.Pull
	for _, e := range events {
		if e.Reason != "Pulled" {
			continue
		}
		m := pulledRe.FindStringSubmatch(e.Message)
		if m == nil {
			continue
		}
		d, err := time.ParseDuration(m[2])
		if err != nil {
			continue
		}
		p := results.Pull{Image: m[1], Pod: pod, Seconds: d.Seconds()}
		if m[3] != "" {
			p.Bytes, _ = strconv.ParseInt(m[3], 10, 64)
		}
		out = append(out, p)
	}
	return out
}

// Scheduled is when the scheduler placed a pod, from its Scheduled event:
// the event's own time (microseconds) where it has one, else when it was
// first seen, to the second (kube-scheduler 1.34 records no event time).
func Scheduled(events []corev1.Event) (time.Time, bool) {
	for _, e := range events {
		if e.Reason != "Scheduled" {
			continue
		}
		if !e.EventTime.IsZero() {
			return e.EventTime.Time, true
		}
		if !e.FirstTimestamp.IsZero() {
			return e.FirstTimestamp.Time, true
		}
	}
	return time.Time{}, false
}

// FailureReason summarises why a PipelineRun failed, from its Succeeded
// condition and the first failed TaskRun's.
func FailureReason(pr *pipelinev1.PipelineRun, trs []pipelinev1.TaskRun) string {
	var parts []string
	if c := pr.Status.GetCondition("Succeeded"); c != nil && c.Status != corev1.ConditionTrue {
		parts = append(parts, strings.TrimSpace(c.Reason+": "+c.Message))
	}
	for _, tr := range trs {
		if c := tr.Status.GetCondition("Succeeded"); c != nil && c.Status == corev1.ConditionFalse {
			parts = append(parts, "task "+tr.Labels[PipelineTaskLabel]+": "+strings.TrimSpace(c.Reason+": "+c.Message))
			break
		}
	}
	if len(parts) == 0 {
		return "unknown"
	}
	return strings.Join(parts, "; ")
}
