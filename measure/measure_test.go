package measure

import (
	"math"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

var t0 = time.Date(2026, 11, 26, 13, 16, 54, 0, time.UTC)

func at(sec int) metav1.Time { return metav1.NewTime(t0.Add(time.Duration(sec) * time.Second)) }

func taskRun(name, task string, start, end int, steps ...pipelinev1.StepState) pipelinev1.TaskRun {
	s, e := at(start), at(end)
	tr := pipelinev1.TaskRun{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{PipelineTaskLabel: task}}}
	tr.Status.StartTime, tr.Status.CompletionTime = &s, &e
	tr.Status.Steps = steps
	return tr
}

func step(name string, start, end int, code int32) pipelinev1.StepState {
	return pipelinev1.StepState{Name: name, ContainerState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{StartedAt: at(start), FinishedAt: at(end), ExitCode: code}}}
}

func TestTasks(t *testing.T) {
	trs := []pipelinev1.TaskRun{
		// Listed out of order: Tasks sorts by start.
		taskRun("pr-build-push", "build-push", 6, 17, step("build", 9, 17, 0)),
		taskRun("pr-fetch-source", "fetch-source", 0, 5, step("clone", 5, 5, 0)),
	}
	got := Tasks(trs)
	if len(got) != 2 || got[0].Name != "fetch-source" || got[1].Name != "build-push" {
		t.Fatalf("tasks = %+v", got)
	}
	tests := []struct {
		i                     int
		seconds, podStart, st float64
	}{{0, 5, 5, 0}, {1, 11, 3, 8}}
	for _, tt := range tests {
		g := got[tt.i]
		if g.Seconds != tt.seconds || g.PodStartSeconds != tt.podStart || g.Steps[0].Seconds != tt.st {
			t.Errorf("%s: seconds %v, pod start %v, step %v; want %v, %v, %v", g.Name, g.Seconds, g.PodStartSeconds, g.Steps[0].Seconds, tt.seconds, tt.podStart, tt.st)
		}
	}
}

func TestTasksUnfinished(t *testing.T) {
	tr := pipelinev1.TaskRun{ObjectMeta: metav1.ObjectMeta{Name: "x"}}
	got := Tasks([]pipelinev1.TaskRun{tr})
	if len(got) != 1 || got[0].Seconds != 0 || got[0].Name != "x" {
		t.Fatalf("unfinished task = %+v", got)
	}
}

func TestPipeline(t *testing.T) {
	pr := &pipelinev1.PipelineRun{}
	s, e := at(0), at(17)
	pr.Status.StartTime, pr.Status.CompletionTime = &s, &e
	if got := Pipeline(pr); got.Seconds != 17 {
		t.Fatalf("pipeline = %+v", got)
	}
	if got := Pipeline(&pipelinev1.PipelineRun{}); got.Seconds != 0 {
		t.Fatalf("empty pipeline = %+v", got)
	}
}

func TestPulls(t *testing.T) {
	events := []corev1.Event{
		{Reason: "Pulled", Message: `Successfully pulled image "gcr.io/kaniko-project/executor:v1.24.0" in 2.345s (2.4s including waiting). Image size: 41234567 bytes.`},
		{Reason: "Pulled", Message: `Successfully pulled image "docker.io/library/busybox:1" in 512ms (512ms including waiting)`},
		{Reason: "Pulled", Message: `Container image "cachebench.local/git:bookworm" already present on machine`},
		{Reason: "Pulling", Message: `Pulling image "x"`},
		{Reason: "Pulled", Message: `Successfully pulled image "slow" in 1m2.5s (1m3s including waiting)`},
	}
	got := Pulls("pod-a", events)
	want := []struct {
		image   string
		seconds float64
		bytes   int64
	}{{"gcr.io/kaniko-project/executor:v1.24.0", 2.345, 41234567}, {"docker.io/library/busybox:1", 0.512, 0}, {"slow", 62.5, 0}}
	if len(got) != len(want) {
		t.Fatalf("pulls = %+v", got)
	}
	for i, w := range want {
		if got[i].Image != w.image || math.Abs(got[i].Seconds-w.seconds) > 1e-9 || got[i].Bytes != w.bytes || got[i].Pod != "pod-a" {
			t.Errorf("pull %d = %+v, want %+v", i, got[i], w)
		}
	}
}

func TestFailureReason(t *testing.T) {
	pr := &pipelinev1.PipelineRun{}
	pr.Status.Conditions = duckv1.Conditions{{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse, Reason: "Failed", Message: "Tasks Completed: 2 (Failed: 1)"}}
	tr := taskRun("t", "build-push", 0, 1)
	tr.Status.Conditions = duckv1.Conditions{{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse, Reason: "StepFailed", Message: `"step-build" exited with code 1`}}
	got := FailureReason(pr, []pipelinev1.TaskRun{tr})
	want := `Failed: Tasks Completed: 2 (Failed: 1); task build-push: StepFailed: "step-build" exited with code 1`
	if got != want {
		t.Fatalf("reason = %q\nwant %q", got, want)
	}
	if FailureReason(&pipelinev1.PipelineRun{}, nil) != "unknown" {
		t.Error("want unknown without conditions")
	}
}

func TestScheduled(t *testing.T) {
	at := time.Date(2026, 12, 6, 11, 0, 0, 123456000, time.UTC)
	tests := []struct {
		name   string
		events []corev1.Event
		want   time.Time
		ok     bool
	}{
		{"the scheduler's event time", []corev1.Event{
			{Reason: "Pulled", EventTime: metav1.NewMicroTime(at.Add(time.Second))},
			{Reason: "Scheduled", EventTime: metav1.NewMicroTime(at), FirstTimestamp: metav1.NewTime(at.Add(time.Second))},
		}, at, true},
		{"first seen, without an event time", []corev1.Event{{Reason: "Scheduled", FirstTimestamp: metav1.NewTime(at.Truncate(time.Second))}}, at.Truncate(time.Second), true},
		{"never scheduled", []corev1.Event{{Reason: "FailedScheduling", EventTime: metav1.NewMicroTime(at)}}, time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := Scheduled(tt.events)
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("%s: Scheduled = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}
