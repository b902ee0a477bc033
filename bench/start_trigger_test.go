package bench

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/cachebench/cachebench/cluster/triggers"
	"github.com/cachebench/cachebench/scenarios"
)

func TestTriggerName(t *testing.T) {
	long := "rounds/" + strings.Repeat("20261128-103000-kaniko-chainguard-registry-source-80ms-pm10ms-2p5mbit-", 2) + "r12"
	paths := []string{"rounds/20261128-103000-kaniko-none-none-local-r1", "rounds/20261128-103000-kaniko-none-none-local-r2", long, long + "x"}
	seen := map[string]string{}
	for _, p := range paths {
		n := roundName(p)
		// A Trigger's name is also the value of its round label.
		if errs := validation.IsDNS1123Label(n); len(errs) > 0 {
			t.Errorf("roundName(%q) = %q: %v", p, n, errs)
		}
		if errs := validation.IsValidLabelValue(n); len(errs) > 0 {
			t.Errorf("roundName(%q) = %q is no label value: %v", p, n, errs)
		}
		if other, dup := seen[n]; dup {
			t.Errorf("%q and %q share the name %q", p, other, n)
		}
		seen[n] = p
		if again := roundName(p); again != n {
			t.Errorf("roundName(%q) not stable: %q then %q", p, n, again)
		}
	}
}

func TestStepStarted(t *testing.T) {
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	done := corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}
	waiting := corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}
	for _, tc := range []struct {
		name     string
		statuses []corev1.ContainerStatus
		want     bool
	}{
		{"no status yet", nil, false},
		{"steps waiting for init containers", []corev1.ContainerStatus{{Name: "step-clone", State: waiting}}, false},
		{"a sidecar runs, no step", []corev1.ContainerStatus{{Name: "sidecar-x", State: running}, {Name: "step-clone", State: waiting}}, false},
		{"first step runs", []corev1.ContainerStatus{{Name: "step-clone", State: running}}, true},
		{"first step already done", []corev1.ContainerStatus{{Name: "step-clone", State: done}, {Name: "step-build", State: running}}, true},
	} {
		p := &corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: tc.statuses}}
		if got := stepStarted(p); got != tc.want {
			t.Errorf("%s: stepStarted = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestRoundPathsAreUniquePerRound: every round of a plan of two workloads,
// two builders and two rounds has a path (branch, base copies, Trigger) of
// its own, however long the benchmark's run id.
func TestRoundPathsAreUniquePerRound(t *testing.T) {
	m := testMatrix(t, "kaniko", "kaniko-chainguard")
	ws, err := scenarios.SelectWorkloads([]string{"small", "gobuild"})
	if err != nil {
		t.Fatal(err)
	}
	m.Workloads = ws
	n := names{prefix: "a-run-id-chosen-by-a-user-that-is-rather-long-20261206-session-2"}
	seen := map[string]PlannedRun{}
	triggers := map[string]string{}
	for _, s := range Plan(m, 2, 1) {
		p := n.roundPath(s)
		if other, ok := seen[p]; ok && groupOfStep(other) != groupOfStep(s) {
			t.Errorf("rounds %+v and %+v share the path %q", groupOfStep(other), groupOfStep(s), p)
		}
		seen[p] = s
		if other, ok := triggers[roundName(p)]; ok && other != p {
			t.Errorf("%q and %q share the Trigger %q", p, other, roundName(p))
		}
		triggers[roundName(p)] = p
	}
	if len(seen) != 2*2*3*2 {
		t.Errorf("%d round paths, want one per workload, builder, strategy and round: 24", len(seen))
	}
}

func TestNoPipelineRunErrorSaysWhy(t *testing.T) {
	e := &NoPipelineRunError{EventID: "ev1", Push: triggers.Push{Repository: "smoke", Branch: "rounds/r1-m1", After: "0123456789abcdef"}, Waited: time.Minute}
	if msg := e.Error(); !strings.Contains(msg, "ev1 (smoke, rounds/r1-m1 at 0123456789ab) made no PipelineRun within 1m0s") || !strings.Contains(msg, "core interceptors' log (tekton-pipelines, app.kubernetes.io/name=core-interceptors)") {
		t.Errorf("without answers: %s", msg)
	}
	e.Answers = &triggers.Answers{Passed: 1, Unmatched: 40, Refused: map[string]int{"error getting secret: client rate limiter Wait returned an error": 3}}
	want := `meanwhile the core interceptors answered: 1 let through, 40 filters not matched; refused: 3× "error getting secret: client rate limiter Wait returned an error"`
	if msg := e.Error(); !strings.HasSuffix(msg, want) {
		t.Errorf("with answers: %s\nwant it to end %s", msg, want)
	}
}
