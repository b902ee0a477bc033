package stats

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/cachebench/cachebench/results"
)

func TestLevels(t *testing.T) {
	at := time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC)
	run := func(level, round, member int, startOffset time.Duration, wallSec float64, queuedMs int64) results.Run {
		return results.Run{
			Coordinates: results.Coordinates{Workload: "small", Builder: "kaniko", Strategy: "registry", Cache: results.Warm, Attempt: 1, Round: round, Concurrency: level, Member: member},
			Success:     true, WallMillis: int64(wallSec * 1000), StartedAt: at.Add(startOffset), FirstStepMillis: queuedMs,
		}
	}
	runs := []results.Run{
		// Level 1: two rounds, 10 s and 12 s.
		run(0, 1, 0, 0, 10, 2000),
		run(0, 2, 0, time.Hour, 12, 2000),
		// Level 4, one warm run: four builds started together.
		run(4, 1, 1, 0, 20, 3000),
		run(4, 1, 2, 0, 22, 5000),
		run(4, 1, 3, 0, 24, 7000),
		run(4, 1, 4, time.Second, 29, 9000),
		// A cold run is no level's.
		{Coordinates: results.Coordinates{Workload: "small", Builder: "kaniko", Strategy: "registry", Cache: results.Cold, Concurrency: 4}, Success: true, WallMillis: 99000},
	}
	failed := run(4, 1, 5, 0, 0, 0)
	failed.Success = false
	runs = append(runs, failed)
	ls := Levels(runs)
	if len(ls) != 2 || ls[0].Level() != 1 || ls[1].Level() != 4 {
		t.Fatalf("levels %+v", ls)
	}
	one, four := ls[0], ls[1]
	if one.Builds != 2 || one.P50 != 11 || one.Max != 12 {
		t.Errorf("level 1: %+v", one)
	}
	// 2 builds over 10 s + 12 s of runs: 5.45 a minute.
	if math.Abs(one.Throughput-2/(22.0/60)) > 1e-9 {
		t.Errorf("level 1 throughput %v", one.Throughput)
	}
	if four.Builds != 4 || four.Failed != 1 || four.P50 != 23 || four.P90 != 29 || four.Max != 29 || four.Queued != 6 {
		t.Errorf("level 4: %+v", four)
	}
	// 4 builds from the first start to the last end (1 s + 29 s): 8 a minute.
	if math.Abs(four.Throughput-8) > 1e-9 {
		t.Errorf("level 4 throughput %v, want 8", four.Throughput)
	}
	if math.Abs(four.VsAlone-23.0/11) > 1e-9 {
		t.Errorf("level 4 against one at a time %v, want %v", four.VsAlone, 23.0/11)
	}
	// Throughput grows from 5.45 to 8 a minute: it bends at 4.
	if one.Bend != 4 || four.Bend != 4 || !four.StillGrowing {
		t.Errorf("bends at %d and %d (still growing: %v), want 4, still growing", one.Bend, four.Bend, four.StillGrowing)
	}
	// Level 8 finishes 8 builds over 60 s, 8 a minute too: the bend stays
	// at 4, below the highest level.
	var eight []results.Run
	for m := range 8 {
		eight = append(eight, run(8, 1, m+1, 0, 60, 0))
	}
	if ls := Levels(append(slices.Clone(runs), eight...)); len(ls) != 3 || ls[2].Bend != 4 || ls[2].StillGrowing {
		t.Errorf("with level 8: %+v", ls)
	}
	// A throughput at one level only has nothing to bend against.
	untimedOne := slices.Clone(runs)
	untimedOne[0].StartedAt, untimedOne[1].StartedAt = time.Time{}, time.Time{}
	if ls := Levels(untimedOne); len(ls) != 2 || ls[1].Bend != 0 || ls[1].StillGrowing {
		t.Errorf("one level with a throughput: %+v", ls)
	}
	// Without a level above 1 there is nothing to compare.
	if ls := Levels(runs[:2]); ls != nil {
		t.Errorf("one build at a time gives levels %+v", ls)
	}
	// Results recorded without start times have no throughput.
	old := runs[2:6]
	for i := range old {
		old[i].StartedAt = time.Time{}
	}
	if ls := Levels(old); len(ls) != 1 || !math.IsNaN(ls[0].Throughput) || !math.IsNaN(ls[0].VsAlone) {
		t.Errorf("untimed levels %+v", ls)
	}
}

func TestEndedLevels(t *testing.T) {
	run := func(strategy string, level int, cache results.CacheState, timedOut bool, reason string) results.Run {
		return results.Run{
			Coordinates: results.Coordinates{Workload: "small", Builder: "kaniko", Strategy: strategy, Cache: cache, Round: 1, Concurrency: level},
			TimedOut:    timedOut, Reason: reason,
		}
	}
	runs := []results.Run{
		run("registry", 2, results.Warm, false, ""),
		run("registry", 8, results.Warm, true, "at 8"),
		run("registry", 4, results.Warm, true, "at 4"), // a lower level, recorded later, wins
		run("registry", 4, results.Warm, true, "at 4 again"),
		run("none", 1, results.Warm, true, "alone"),            // one at a time: a failure, not an ended level
		run("pv-warm", 4, results.Warm, false, "build failed"), // failed, not timed out
		run("pv-warm", 2, results.Cold, true, "cold at 2"),     // a level's cold build ends it too
	}
	ended := EndedLevels(runs)
	if len(ended) != 2 || ended[0].Strategy != "registry" || ended[0].Level() != 4 || ended[0].Reason != "at 4" ||
		ended[1].Strategy != "pv-warm" || ended[1].Level() != 2 || ended[1].Reason != "cold at 2" {
		t.Fatalf("ended %+v", ended)
	}
	for _, c := range []struct {
		strategy string
		level    int
		cache    results.CacheState
		want     bool
	}{
		{"registry", 4, results.Cold, true},
		{"registry", 8, results.Warm, true},
		{"registry", 2, results.Warm, false},
		{"registry", 1, results.Warm, false},
		{"none", 4, results.Warm, false},
		{"pv-warm", 2, results.Warm, true},
		{"pv-warm", 1, results.Cold, false},
	} {
		k := KeyOf(run(c.strategy, c.level, c.cache, false, ""))
		if got := IsEnded(ended, k); got != c.want {
			t.Errorf("IsEnded(%s at %d, %s) = %v, want %v", c.strategy, c.level, c.cache, got, c.want)
		}
	}
}
