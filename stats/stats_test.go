package stats

import (
	"math"
	"testing"

	"github.com/cachebench/cachebench/results"
)

// fakeRuns makes successful runs with the given wall times.
func fakeRuns(workload, strategy string, phase results.CacheState, walls ...float64) []results.Run {
	var out []results.Run
	for i, w := range walls {
		out = append(out, results.Run{
			Workload: workload, Strategy: strategy, Cache: phase, Attempt: i, Success: true,
			WallMillis: int64(w * 1000),
			Tasks:      []results.Task{{Name: "fetch-source", Span: results.Span{Seconds: 5}}, {Name: "build-push", Span: results.Span{Seconds: w - 6}}},
			BuildLog: results.BuildLog{Read: true, CacheHits: map[bool]int{true: 1}[strategy != "none" && phase == results.Warm],
				Phases: []results.BuildPhase{{Name: "base-image", Seconds: 0.5}, {Name: "commands", Seconds: w / 3}}},
		})
	}
	return out
}

func sampleRuns() []results.Run {
	var runs []results.Run
	runs = append(runs, fakeRuns("small", "none", results.Cold, 17)...)
	runs = append(runs, fakeRuns("small", "registry", results.Cold, 18)...)
	runs = append(runs, fakeRuns("small", "pv-warm", results.Cold, 18.5)...)
	runs = append(runs, fakeRuns("small", "none", results.Warm, 16, 16.5, 15.8, 16.2, 16.1, 16.4)...)
	runs = append(runs, fakeRuns("small", "registry", results.Warm, 10, 10.4, 9.8, 10.1, 10.2, 10.3)...)
	runs = append(runs, fakeRuns("small", "pv-warm", results.Warm, 10.1, 12.5, 9.0, 10, 13, 10.2)...)
	runs = append(runs, results.Run{Workload: "small", Strategy: "registry", Cache: results.Warm, Success: false, Reason: "boom", LogTail: "error building image"})
	for i := range runs {
		runs[i].Seq = i + 1
	}
	return runs
}

func TestSummarize(t *testing.T) {
	rows := Summarize(sampleRuns())
	if len(rows) != 6 {
		t.Fatalf("%d groups, want 6", len(rows))
	}
	// Order: strategy as first seen, cold before warm.
	wantOrder := []string{"small/none/cold", "small/none/warm", "small/registry/cold", "small/registry/warm", "small/pv-warm/cold", "small/pv-warm/warm"}
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
