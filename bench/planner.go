package bench

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/scenarios"
	"github.com/cachebench/cachebench/stats"
)

// Planner hands out the benchmark one round at a time. With a fixed number
// of rounds it stops after them; otherwise it goes on until every row (a
// workload, strategy and cache state) has reached the precision asked for,
// or until the next round would overrun the time budget. It plans from
// what it measured: the rounds so far tell how long the next one takes. It
// stops on the width of the intervals only, never on significance or on
// the estimate itself.
type Planner struct {
	matrix    Matrix
	warm      int
	fixed     int       // rounds, 0 when the precision decides
	precision float64   // relative half-width wanted, e.g. 0.1
	deadline  time.Time // no round starts that would end after it
	now       func() time.Time
	started   []time.Time   // when each round started
	took      time.Duration // the rounds so far
	round     int
	stopped   string
	// resumed skips the groups of runs an earlier session recorded whole.
	resumed *Resumption
	// key names a planned run's row, to skip the levels ended
	// (stats.EndedLevels); nil plans every level.
	key func(PlannedRun) stats.Key
}

// MaxRounds bounds a precision-driven benchmark whatever its budget.
const MaxRounds = 100

// Planner returns the session's planner; the budget counts from start.
func (s *Session) Planner(start time.Time) *Planner {
	budget := s.Config.Plan.Budget
	if s.Resumed != nil {
		budget -= s.Resumed.Spent
	}
	return &Planner{
		matrix: s.Matrix, warm: s.Config.Plan.WarmRuns,
		fixed: s.Config.Plan.Rounds, precision: s.Config.Plan.Precision,
		// Teardown (removing what the benchmark made, deleting the cluster)
		// comes out of the budget too.
		deadline: start.Add(budget - teardownReserve),
		now:      time.Now,
		resumed:  s.Resumed,
		key:      s.Runner.keyOf,
	}
}

// teardownReserve is kept from the budget for the cleanup at the end.
const teardownReserve = time.Minute

// Next returns the planned runs of the next round, given every run so far, or nil
// and why the benchmark ends.
func (p *Planner) Next(runs []results.Run) ([]PlannedRun, string) {
	now := p.now()
	if n := len(p.started); n > 0 {
		p.took = now.Sub(p.started[0])
	}
	for {
		switch {
		case p.stopped != "":
			return nil, p.stopped
		case p.fixed > 0 && p.round >= p.fixed:
			p.stopped = fmt.Sprintf("all %d rounds run", p.fixed)
		case p.fixed == 0 && p.round >= minRounds && p.reached(runs):
			p.stopped = fmt.Sprintf("every row reached ±%s after %d rounds", pct(p.precision), p.round)
		case p.fixed == 0 && p.round >= MaxRounds:
			p.stopped = fmt.Sprintf("%d rounds, the most a benchmark runs", MaxRounds)
		case p.fixed == 0 && len(p.started) > 0 && now.Add(p.nextRound()).After(p.deadline):
			p.stopped = fmt.Sprintf("the budget would be overrun by round %d (about %s more)", p.round+1, p.nextRound().Round(time.Second))
		case p.fixed == 0 && !now.Before(p.deadline):
			p.stopped = "the budget is spent"
		}
		if p.stopped != "" {
			return nil, p.stopped
		}
		p.round++
		ended := stats.EndedLevels(runs)
		planned := slices.DeleteFunc(roundRuns(p.matrix, p.round, p.warm), func(s PlannedRun) bool {
			return p.resumed.Done(s) || p.ended(ended, s)
		})
		if len(planned) == 0 {
			continue // recorded whole before a resume, or every level left ended
		}
		p.started = append(p.started, now)
		return planned, ""
	}
}

// minRounds: a median's 95% interval needs n >= 6.
const minRounds = 6

// nextRound estimates the next round from the slowest round so far: a
// shared machine's worst round is the safe guess for a budget.
func (p *Planner) nextRound() time.Duration {
	var slowest time.Duration
	for i := 1; i < len(p.started); i++ {
		slowest = max(slowest, p.started[i].Sub(p.started[i-1]))
	}
	if last := p.now().Sub(p.started[len(p.started)-1]); last > slowest {
		slowest = last
	}
	return slowest
}

// Shortfall says, once a precision-driven benchmark has run its first
// round, when the budget cannot hold the rounds an interval needs at that
// pace, and what to change; "" when it can.
func (p *Planner) Shortfall() string {
	if p.fixed > 0 || len(p.started) != 1 {
		return ""
	}
	per := p.nextRound()
	need := time.Duration(minRounds) * per
	if !p.now().Add(need - per).After(p.deadline) {
		return ""
	}
	return fmt.Sprintf("a round took %s, so the %d rounds an interval needs take about %s, more than the budget leaves: rows will end without intervals. Give --budget %s, or fewer --builders, --workloads or --strategies",
		per.Round(time.Second), minRounds, need.Round(time.Minute), (need + teardownReserve + 10*time.Minute).Round(10*time.Minute))
}

// Left estimates the time the benchmark still needs: the rounds still
// planned (fixed), or until the deadline at the most.
func (p *Planner) Left() time.Duration {
	if len(p.started) == 0 {
		return 0
	}
	per := p.took / time.Duration(len(p.started))
	if p.fixed > 0 {
		return per * time.Duration(p.fixed-p.round)
	}
	return max(0, p.deadline.Sub(p.now()))
}

// Row is how far one row has come.
type Row struct {
	stats.Key
	N int
	// Width is the relative half-width of the row's 95% interval: of the
	// speedup against the baseline, or of the median for the baseline
	// itself; NaN while the row has none (n < 6).
	Width float64
}

// Reached reports whether the row's interval is as tight as wanted.
func (r Row) Reached(precision float64) bool { return !math.IsNaN(r.Width) && r.Width <= precision }

// Rows says how far every row has come.
func Rows(runs []results.Run) []Row {
	var rows []Row
	for _, s := range stats.Summarize(runs) {
		rows = append(rows, Row{Key: s.Key, N: s.N, Width: s.Precision()})
	}
	return rows
}

// ended says whether the planned run's level is one its row ended at or
// above.
func (p *Planner) ended(ended []stats.Ended, s PlannedRun) bool {
	return p.key != nil && stats.IsEnded(ended, p.key(s))
}

// reached says whether every row still planned has its interval: the
// rows of ended levels are left out, since they get no more runs.
func (p *Planner) reached(runs []results.Run) bool {
	ended := stats.EndedLevels(runs)
	want := p.matrix.rowsWhere(func(s PlannedRun) bool { return !p.ended(ended, s) })
	rows := slices.DeleteFunc(Rows(runs), func(r Row) bool { return stats.IsEnded(ended, r.Key) })
	// Every planned row must be there: a row whose runs all failed has no interval.
	if len(rows) < want {
		return false
	}
	return !slices.ContainsFunc(rows, func(r Row) bool { return !r.Reached(p.precision) })
}

// Progress is one line: each row's interval so far and the time left.
func (p *Planner) Progress(runs []results.Run) string {
	var parts []string
	for _, r := range Rows(runs) {
		w := "n/a"
		if !math.IsNaN(r.Width) {
			w = "±" + pct(r.Width)
		}
		parts = append(parts, fmt.Sprintf("%s %s (n=%d)", r.Key, w, r.N))
	}
	left := "about " + p.Left().Round(time.Minute).String() + " left"
	if p.fixed == 0 {
		left = fmt.Sprintf("target ±%s; at most %s left", pct(p.precision), p.Left().Round(time.Minute))
	}
	return fmt.Sprintf("after round %d: %s; %s", p.round, strings.Join(parts, ", "), left)
}

// Summary says, once the benchmark ended, what each row reached: "±6%
// after 7 rounds" or "budget spent at ±14% (n=5)".
func (p *Planner) Summary(runs []results.Run) string {
	if p.fixed > 0 {
		return ""
	}
	var parts []string
	for _, r := range Rows(runs) {
		switch {
		case r.Reached(p.precision):
			parts = append(parts, fmt.Sprintf("%s ±%s after %d rounds", r.Key, pct(r.Width), p.round))
		case math.IsNaN(r.Width):
			parts = append(parts, fmt.Sprintf("%s stopped without an interval (n=%d)", r.Key, r.N))
		default:
			parts = append(parts, fmt.Sprintf("%s stopped at ±%s (n=%d)", r.Key, pct(r.Width), r.N))
		}
	}
	return fmt.Sprintf("Precision-driven: target ±%s (95%% interval of each speedup, of the median for %s), ended because %s, after %s. %s.",
		pct(p.precision), stats.Baseline, p.stopped, p.took.Round(time.Second), strings.Join(parts, "; "))
}

func pct(f float64) string { return fmt.Sprintf("%.1f%%", f*100) }

// roundRuns are the runs of one round: for each workload and change, every network
// profile's, strategy's and builder's cold run (each after its cache
// reset), then the warm runs, interleaved across them (none under each
// builder, registry under each, ..., then the same under the next
// profile), so that a slow drift of a shared machine favours no strategy,
// builder or profile. The builders' order turns by one each round, so
// that none always runs first or last.
func roundRuns(m Matrix, round, warm int) []PlannedRun {
	n := len(m.Builders)
	turned := make([]builders.Builder, 0, n)
	for i := range m.Builders {
		turned = append(turned, m.Builders[(i+round-1)%n])
	}
	var planned []PlannedRun
	each := func(w scenarios.Workload, c scenarios.Change, level int, cache results.CacheState, attempt int) {
		for _, net := range m.Networks {
			for _, name := range m.Strategies {
				for _, b := range turned {
					st := strategyOf(b, name)
					if m.notAtLevel(st, level) != "" {
						continue // SkippedLevels says why
					}
					s := PlannedRun{Workload: w, Change: c, Network: net, Builder: b, Strategy: st, Round: round, Cache: cache, Attempt: attempt}
					if c == scenarios.ChangeMix && cache == results.Warm {
						s.MixChange = m.Mix[(attempt-1)%len(m.Mix)]
					}
					if level > 1 {
						s.Concurrency = level
					}
					planned = append(planned, s)
				}
			}
		}
	}
	for _, w := range m.Workloads {
		for _, c := range m.ChangesOf(w) {
			for _, level := range m.levels() {
				each(w, c, level, results.Cold, 0)
				for a := 1; a <= warm; a++ {
					each(w, c, level, results.Warm, a)
				}
			}
		}
	}
	return planned
}
