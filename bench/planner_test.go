package bench

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/stats"
)

// fakeClock advances by step every time it is read.
type fakeClock struct {
	t    time.Time
	step time.Duration
}

func (c *fakeClock) now() time.Time { c.t = c.t.Add(c.step); return c.t }

// runRound makes the planned runs of a round: none takes base seconds,
// cached warm runs fast seconds, with a little spread per round.
func runRound(planned []PlannedRun, round int, base, fast float64) []results.Run {
	var runs []results.Run
	jitter := []float64{0, 0.3, -0.2, 0.1, -0.3, 0.2, 0.05, -0.1}[round%8]
	for _, s := range planned {
		wall := base
		if s.Strategy.Name != "none" && s.Cache == results.Warm {
			wall = fast
		}
		runs = append(runs, results.Run{Coordinates: results.Coordinates{Workload: s.Workload.Name, Builder: s.Builder.Name(), Strategy: s.Strategy.Name, Round: round, Cache: s.Cache, Attempt: s.Attempt}, Success: true, WallMillis: int64((wall + jitter) * 1000)})
	}
	return runs
}

func newTestPlanner(t *testing.T, fixed int, precision float64, budget time.Duration, clock *fakeClock) *Planner {
	return &Planner{matrix: testMatrix(t), warm: 1, fixed: fixed, precision: precision,
		deadline: clock.t.Add(budget - teardownReserve), now: clock.now}
}

func TestPlannerFixedRounds(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0), step: time.Minute}
	p := newTestPlanner(t, 2, 0.1, time.Hour, clock)
	var runs []results.Run
	for round := 1; ; round++ {
		planned, why := p.Next(runs)
		if planned == nil {
			if round != 3 || !strings.Contains(why, "all 2 rounds") {
				t.Fatalf("stopped before round %d: %s", round, why)
			}
			break
		}
		if len(planned) != 3*2 || planned[0].Round != round || planned[0].Cache != results.Cold {
			t.Fatalf("round %d: %d planned runs, first %+v", round, len(planned), planned[0])
		}
		runs = append(runs, runRound(planned, round, 16, 11)...)
	}
	if p.Summary(runs) != "" {
		t.Error("a fixed benchmark has no precision summary")
	}
}

func TestPlannerStopsWhenEveryRowIsPrecise(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0), step: time.Second}
	p := newTestPlanner(t, 0, 0.10, 10*time.Hour, clock)
	var runs []results.Run
	rounds := 0
	for {
		planned, why := p.Next(runs)
		if planned == nil {
			if !strings.Contains(why, "every row reached ±10.0%") {
				t.Fatalf("ended because %s", why)
			}
			break
		}
		rounds++
		runs = append(runs, runRound(planned, rounds, 16, 11)...)
	}
	// An interval needs n >= 6: never fewer rounds, however tight the runs.
	if rounds != minRounds {
		t.Errorf("%d rounds, want %d", rounds, minRounds)
	}
	for _, r := range Rows(runs) {
		if !r.Reached(0.10) {
			t.Errorf("row %s at %v", r.Key, r.Width)
		}
	}
	sum := p.Summary(runs)
	for _, want := range []string{"target ±10.0%", "small/kaniko/registry/warm ±", "after 6 rounds"} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary %q lacks %q", sum, want)
		}
	}
	if line := p.Progress(runs); !strings.Contains(line, "after round 6") || !strings.Contains(line, "small/kaniko/none/cold ±") {
		t.Errorf("progress: %s", line)
	}
}

func TestPlannerStopsBeforeOverrunningTheBudget(t *testing.T) {
	// Each reading of the clock takes 4 minutes: a round lasts about that.
	clock := &fakeClock{t: time.Unix(0, 0), step: 4 * time.Minute}
	p := newTestPlanner(t, 0, 0.01, 20*time.Minute, clock)
	var runs []results.Run
	rounds := 0
	var why string
	for {
		var planned []PlannedRun
		if planned, why = p.Next(runs); planned == nil {
			break
		}
		rounds++
		runs = append(runs, runRound(planned, rounds, 16, 11)...)
	}
	if !strings.Contains(why, "budget would be overrun") || rounds == 0 || rounds >= 5 {
		t.Fatalf("%d rounds, ended because %s", rounds, why)
	}
	if sum := p.Summary(runs); !strings.Contains(sum, "stopped without an interval") {
		t.Errorf("rows that never got an interval must say so: %s", sum)
	}
}

func TestPercentFlag(t *testing.T) {
	for in, want := range map[string]float64{"10%": 0.10, "2.5%": 0.025, "0.1": 0.1} {
		var p percent
		if err := p.Set(in); err != nil || float64(p) != want {
			t.Errorf("Set(%q) = %v, %v", in, float64(p), err)
		}
	}
	var p percent
	if err := p.Set("tight"); err == nil {
		t.Error("a word is not a percentage")
	}
}

// After its first round a precision-driven benchmark says when the budget
// cannot hold the six rounds an interval needs.
func TestPlannerShortfall(t *testing.T) {
	tests := []struct {
		budget time.Duration
		warn   bool
	}{{time.Hour, true}, {3 * time.Hour, false}}
	for _, tt := range tests {
		clock := &fakeClock{t: time.Unix(0, 0), step: time.Second}
		p := newTestPlanner(t, 0, 0.1, tt.budget, clock)
		if w := p.Shortfall(); w != "" {
			t.Fatalf("before the first round: %q", w)
		}
		planned, _ := p.Next(nil)
		clock.t = clock.t.Add(15 * time.Minute) // the first round took 15 minutes
		runs := runRound(planned, 1, 16, 11)
		w := p.Shortfall()
		if (w != "") != tt.warn {
			t.Errorf("budget %s: shortfall %q, want a warning %v", tt.budget, w, tt.warn)
		}
		if tt.warn && (!strings.Contains(w, "--budget 1h40m0s") || !strings.Contains(w, "--builders")) {
			t.Errorf("the warning should name a budget that fits and what else to change: %q", w)
		}
		p.Next(runs)
		if w := p.Shortfall(); w != "" {
			t.Errorf("the warning comes once, after round 1: %q", w)
		}
	}
}

// TestLanes: side by side, one lane per builder, each in the round's
// order, every planned run in one.
func TestLanes(t *testing.T) {
	m := testMatrix(t, "kaniko", "buildkit")
	m.Strategies = []string{"none", "registry", "pv-warm", "mirror"}
	planned := roundRuns(m, 1, 1)
	index := func(s PlannedRun) int {
		return slices.IndexFunc(planned, func(x PlannedRun) bool { return x.Name() == s.Name() })
	}
	lanes := Lanes(planned)
	if len(lanes) != 2 {
		t.Fatalf("%d lanes, want one per builder", len(lanes))
	}
	n := 0
	for _, lane := range lanes {
		for i, s := range lane {
			if s.Builder.Name() != lane[0].Builder.Name() {
				t.Errorf("lane of %s holds %s", lane[0].Builder.Name(), s.Name())
			}
			if i > 0 && index(s) < index(lane[i-1]) {
				t.Errorf("%s before %s, not in the round's order", lane[i-1].Name(), s.Name())
			}
		}
		n += len(lane)
	}
	if n != len(planned) {
		t.Errorf("%d planned runs placed, the round has %d", n, len(planned))
	}
}

// TestRunRound: every planned run once, in order one at a time, or side by side
// with each builder's in order; once a run says stop, no lane starts
// another.
func TestRunRound(t *testing.T) {
	m := testMatrix(t, "kaniko", "buildkit")
	m.Strategies = []string{"none", "registry", "pv-warm", "mirror"}
	planned := roundRuns(m, 1, 1)
	for _, sideBySide := range []bool{false, true} {
		var mu sync.Mutex
		var ran []string
		last := map[string]int{}
		RunRound(planned, sideBySide, func(s PlannedRun) bool {
			mu.Lock()
			defer mu.Unlock()
			i := slices.IndexFunc(planned, func(x PlannedRun) bool { return x.Name() == s.Name() })
			if prev, ok := last[s.Builder.Name()]; ok && i < prev {
				t.Errorf("%s ran after a later run of its builder", s.Name())
			}
			last[s.Builder.Name()] = i
			ran = append(ran, s.Name())
			return true
		})
		if len(ran) != len(planned) {
			t.Errorf("side by side %v: ran %d planned runs of %d", sideBySide, len(ran), len(planned))
		}
		if !sideBySide {
			for i, s := range planned {
				if ran[i] != s.Name() {
					t.Errorf("in order: run %d is %s, want %s", i, ran[i], s.Name())
				}
			}
		}
		stopped := 0
		limit := len(planned) - 3
		RunRound(planned, sideBySide, func(PlannedRun) bool {
			mu.Lock()
			defer mu.Unlock()
			stopped++
			return stopped < limit
		})
		if stopped > limit+1 {
			t.Errorf("side by side %v: %d planned runs ran after a stop", sideBySide, stopped-limit)
		}
	}
}

// TestPlannerSkipsEndedLevels: once a row's builds at once time out at a
// level, no later round plans that level or a higher one of the row, and
// the precision is reached without the rows that end.
func TestPlannerSkipsEndedLevels(t *testing.T) {
	m := testMatrix(t)
	m.Strategies = []string{"none", "registry"}
	m.Concurrency = []int{1, 2, 4}
	clock := &fakeClock{t: time.Unix(0, 0), step: time.Second}
	p := &Planner{matrix: m, warm: 1, precision: 0.10, deadline: clock.t.Add(10 * time.Hour), now: clock.now,
		key: func(s PlannedRun) stats.Key { return stats.KeyOf(results.Run{Coordinates: names{}.coordinates(s)}) }}
	var runs []results.Run
	for round := 1; ; round++ {
		planned, why := p.Next(runs)
		if planned == nil {
			if !strings.Contains(why, "every row reached") || round != minRounds+1 {
				t.Fatalf("ended before round %d: %s", round, why)
			}
			break
		}
		var names []string
		for _, s := range planned {
			names = append(names, s.Name())
			wall := 16.0
			if s.Strategy.Name == "registry" && s.Cache == results.Warm {
				wall = 11
			}
			r := results.Run{Coordinates: results.Coordinates{Workload: s.Workload.Name, Builder: s.Builder.Name(), Strategy: s.Strategy.Name, Round: round, Cache: s.Cache, Attempt: s.Attempt, Concurrency: s.Concurrency},
				Success: true, WallMillis: int64((wall + 0.1*float64(round%3)) * 1000)}
			if round == 1 && s.Strategy.Name == "registry" && s.level() == 2 && s.Cache == results.Warm {
				r.Success, r.TimedOut, r.WallMillis, r.Reason = false, true, 0, "PipelineRunTimeout"
			}
			runs = append(runs, r)
		}
		got := strings.Join(names, " ")
		registryAbove1 := strings.Contains(got, "registry/kaniko/small/local/r"+strconv.Itoa(round)+"-cold-x") || strings.Contains(got, "registry/kaniko/small/local/r"+strconv.Itoa(round)+"-warm1-x")
		if round > 1 && registryAbove1 {
			t.Fatalf("round %d plans registry at an ended level: %s", round, got)
		}
		if !strings.Contains(got, "none/kaniko/small/local/r"+strconv.Itoa(round)+"-warm1-x4") || !strings.Contains(got, "registry/kaniko/small/local/r"+strconv.Itoa(round)+"-warm1 ") {
			t.Fatalf("round %d lacks a level that did not end: %s", round, got)
		}
	}
}
