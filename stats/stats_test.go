package stats

import (
	"math"
	"reflect"
	"testing"

	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/results/resultstest"
)

func TestSummarize(t *testing.T) {
	rows := Summarize(resultstest.Sample())
	if len(rows) != 6 {
		t.Fatalf("%d groups, want 6", len(rows))
	}
	// Order: strategy as first seen, cold before warm.
	wantOrder := []string{"small/kaniko/none/cold", "small/kaniko/none/warm", "small/kaniko/registry/cold", "small/kaniko/registry/warm", "small/kaniko/pv-warm/cold", "small/kaniko/pv-warm/warm"}
	for i, s := range rows {
		if s.Key.String() != wantOrder[i] {
			t.Fatalf("group %d = %s, want %s", i, s.Key, wantOrder[i])
		}
	}
	reg := rows[3]
	if reg.N != 6 || reg.Failed != 1 {
		t.Errorf("registry warm: n=%d failed=%d", reg.N, reg.Failed)
	}
	if math.Abs(reg.Median-10.15) > 1e-9 || reg.Min != 9.8 || reg.Max != 10.4 {
		t.Errorf("registry warm median %v min %v max %v", reg.Median, reg.Min, reg.Max)
	}
	if !reg.MedianCI.OK || reg.MedianCI.Lo > reg.Median || reg.MedianCI.Hi < reg.Median {
		t.Errorf("registry warm CI %+v around %v", reg.MedianCI, reg.Median)
	}
	// Baseline: all 7 none runs, median 16.2.
	if reg.BaselineN != 7 || math.Abs(reg.Speedup-16.2/10.15) > 1e-9 {
		t.Errorf("speedup %v over n=%d", reg.Speedup, reg.BaselineN)
	}
	if !reg.SpeedupCI.OK || reg.SpeedupCI.Lo > reg.Speedup || reg.SpeedupCI.Hi < reg.Speedup || reg.SpeedupCI.Lo < 1 {
		t.Errorf("speedup CI %+v around %v", reg.SpeedupCI, reg.Speedup)
	}
	if !reg.Significant() || reg.Noisy {
		t.Errorf("registry warm: significant %v (p=%v), noisy %v", reg.Significant(), reg.P, reg.Noisy)
	}
	if pv := rows[5]; !pv.Noisy || pv.CV <= NoisyCV {
		t.Errorf("pv-warm warm should be noisy: CV %v", pv.CV)
	}
	cold := rows[2]
	if cold.N != 1 || cold.MedianCI.OK || cold.MedianCI.Why == "" || cold.SpeedupCI.OK {
		t.Errorf("n=1 must give no intervals: %+v %+v", cold.MedianCI, cold.SpeedupCI)
	}
	if reg.Tasks["fetch-source"] != 5 || reg.Tasks["overhead"] != 1 || reg.CacheHits != 1 {
		t.Errorf("breakdown: %v, hits %v", reg.Tasks, reg.CacheHits)
	}
	if rows[1].HasP {
		t.Error("the baseline is not compared with itself")
	}
}

// Each builder is compared with its own none, and every row with the
// reference builder's none.
func TestSummarizeBuilders(t *testing.T) {
	withBuilder := func(b string, runs []results.Run) []results.Run {
		for i := range runs {
			runs[i].Builder = b
		}
		return runs
	}
	var runs []results.Run
	runs = append(runs, withBuilder("kaniko", resultstest.Runs("small", "none", results.Warm, 20, 20, 20, 20, 20, 20))...)
	runs = append(runs, withBuilder("buildkit", resultstest.Runs("small", "none", results.Warm, 10, 10, 10, 10, 10, 10))...)
	runs = append(runs, withBuilder("buildkit", resultstest.Runs("small", "registry", results.Warm, 5, 5, 5, 5, 5, 5))...)
	rows := Summarize(runs)
	if len(rows) != 3 {
		t.Fatalf("%d groups, want 3", len(rows))
	}
	tests := []struct {
		key                  string
		speedup, vsReference float64
	}{
		{"small/kaniko/none/warm", 1, 1},
		{"small/buildkit/none/warm", 1, 2},
		{"small/buildkit/registry/warm", 2, 4},
	}
	for i, tt := range tests {
		s := rows[i]
		if s.Key.String() != tt.key || s.Speedup != tt.speedup || s.VsReference != tt.vsReference || s.ReferenceN != 6 {
			t.Errorf("row %d: %s speedup %v vs reference %v (n=%d), want %s %v %v", i, s.Key, s.Speedup, s.VsReference, s.ReferenceN, tt.key, tt.speedup, tt.vsReference)
		}
		if !s.VsReferenceCI.OK {
			t.Errorf("%s: no interval against the reference: %+v", s.Key, s.VsReferenceCI)
		}
	}
	// Without the reference builder there is nothing to compare with.
	if rows := Summarize(runs[6:]); rows[0].VsReference != 0 || rows[0].ReferenceN != 0 {
		t.Errorf("no kaniko runs, yet vs reference %v", rows[0].VsReference)
	}
	// Runs recorded before builders were a choice are kaniko's.
	if k := KeyOf(results.Run{Coordinates: results.Coordinates{Workload: "small", Strategy: "none", Cache: results.Cold}}); k.Builder != "kaniko" {
		t.Errorf("legacy run's builder %q", k.Builder)
	}
}

// Where names a row by the dimensions that are not their default, so that
// rows recorded before a dimension existed keep their names.
func TestWhere(t *testing.T) {
	for _, tc := range []struct {
		run  results.Run
		want string
	}{
		{results.Run{Coordinates: results.Coordinates{Workload: "small"}}, "small"},
		{results.Run{Coordinates: results.Coordinates{Workload: "small", Start: results.StartAPI, Network: results.LocalNetwork, Change: "none"}}, "small"},
		{results.Run{Coordinates: results.Coordinates{Workload: "gobuild", Change: "source"}}, "gobuild+source"},
		{results.Run{Coordinates: results.Coordinates{Workload: "small", Network: "wan"}}, "small@wan"},
		{results.Run{Coordinates: results.Coordinates{Workload: "small", Start: results.StartTrigger}}, "small~trigger"},
		{results.Run{Coordinates: results.Coordinates{Workload: "gobuild", Change: "source", Network: "30ms/100mbit", Start: results.StartTrigger}}, "gobuild+source@30ms/100mbit~trigger"},
		{results.Run{Coordinates: results.Coordinates{Workload: "small", Concurrency: 1}}, "small"},
		{results.Run{Coordinates: results.Coordinates{Workload: "small", Network: "wan", Concurrency: 4, Member: 2}}, "small@wan×4"},
	} {
		if got := KeyOf(tc.run).Where(); got != tc.want {
			t.Errorf("%+v: Where = %q, want %q", tc.run, got, tc.want)
		}
	}
}

// A push event's runs are a row of their own, compared with their own
// baseline; the runs the harness created are summarised as without them.
func TestSummarizeStarts(t *testing.T) {
	trigger := func(runs []results.Run) []results.Run {
		for i := range runs {
			runs[i].Start = results.StartTrigger
			runs[i].Trigger = &results.TriggerTimes{PipelineRunMillis: int64(500 + 100*i), FirstStepMillis: int64(1500 + 100*i)}
		}
		return runs
	}
	api := append(resultstest.Runs("small", "none", results.Warm, 20, 20, 20, 20, 20, 20), resultstest.Runs("small", "registry", results.Warm, 10, 10, 10, 10, 10, 10)...)
	runs := append(append([]results.Run{}, api...), trigger(resultstest.Runs("small", "none", results.Warm, 40, 40, 40, 40, 40, 40))...)
	runs = append(runs, trigger(resultstest.Runs("small", "registry", results.Warm, 10, 10, 10))...)
	rows := Summarize(runs)
	tests := []struct {
		key              string
		n                int
		speedup          float64
		toRun, toStep    float64
		toRunN, baseline int
	}{
		{"small/kaniko/none/warm", 6, 1, 0, 0, 0, 6},
		{"small/kaniko/registry/warm", 6, 2, 0, 0, 0, 6},
		{"small~trigger/kaniko/none/warm", 6, 1, 0.75, 1.75, 6, 6},
		{"small~trigger/kaniko/registry/warm", 3, 4, 0.6, 1.6, 3, 6},
	}
	if len(rows) != len(tests) {
		t.Fatalf("%d rows, want %d", len(rows), len(tests))
	}
	for i, tt := range tests {
		s := rows[i]
		if s.Key.String() != tt.key || s.N != tt.n || s.Speedup != tt.speedup || s.BaselineN != tt.baseline {
			t.Errorf("row %d: %s n=%d speedup %v over %d, want %s n=%d speedup %v over %d", i, s.Key, s.N, s.Speedup, s.BaselineN, tt.key, tt.n, tt.speedup, tt.baseline)
		}
		if math.Abs(s.EventToPipelineRun.Median-tt.toRun) > 1e-9 || math.Abs(s.EventToFirstStep.Median-tt.toStep) > 1e-9 || s.EventToPipelineRun.N != tt.toRunN {
			t.Errorf("%s: event to PipelineRun %+v, to first step %+v", s.Key, s.EventToPipelineRun, s.EventToFirstStep)
		}
		// The same interval and the same words as the wall time's.
		if ci := s.EventToPipelineRun.CI; s.EventToPipelineRun.N > 0 && ci.OK != (s.EventToPipelineRun.N >= 6) {
			t.Errorf("%s: event interval %+v over n=%d", s.Key, ci, s.EventToPipelineRun.N)
		}
	}
	if why := rows[3].EventToPipelineRun.CI.Why; why != rows[3].MedianCI.Why || why == "" {
		t.Errorf("n=3: event interval says %q, the wall time's %q", why, rows[3].MedianCI.Why)
	}
	// Runs the harness created are summarised as if no trigger had run.
	if alone := Summarize(api); !reflect.DeepEqual(rows[:2], alone) {
		t.Errorf("trigger runs changed the API's rows:\n%+v\nwant\n%+v", rows[:2], alone)
	}
}
