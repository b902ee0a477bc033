package decision

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/stats"
)

// MinRuns is the fewest runs of each pattern in the mix a row needs for
// an interval of its expected time: the bootstrap of a median of fewer
// has almost no spread to resample.
const MinRuns = 4

// draws is the number of bootstrap resamples.
const draws = 2000

// Shape is what a decision is about: one workload, network profile and way
// of starting runs. Commits of every pattern are builds of one shape.
type Shape struct{ Workload, Network, Start string }

// String names the shape as the report's sections do: "small",
// "small@wan", "small~trigger".
func (s Shape) String() string {
	k := stats.Key{Coordinates: results.Coordinates{Workload: s.Workload, Network: s.Network, Start: s.Start}}
	k.Change = results.DefaultChange(s.Workload)
	return k.Where()
}

// PatternTime is a row's median time under one change pattern.
type PatternTime struct {
	Median float64
	N      int
}

// Estimate is one row's expected build time for the mix.
type Estimate struct {
	Row
	// Seconds is the mix-weighted sum of the row's median time under
	// each pattern; CI its bootstrap interval.
	Seconds  float64
	CI       stats.Interval
	Patterns map[string]PatternTime
	Needs    []string
	// Excluded says why the row cannot be recommended ("" when it can):
	// a need the team forbids, or a pattern of the mix it has no runs of.
	Excluded string
	// Forbidden are the needs that excluded it.
	Forbidden []string
	Cost      Cost
	draws     []float64
}

// Comparison is another row's expected time against the recommendation.
type Comparison struct {
	Row Row
	// Ratio is other/recommended expected time (above 1: the
	// recommendation is faster), with its bootstrap interval.
	Ratio float64
	CI    stats.Interval
	// Saved is other − recommended, seconds per build.
	Saved float64
}

// Pivot is the share of one pattern in the mix at which another row's
// expected time would match the recommendation's.
type Pivot struct {
	Pattern string
	Now, At float64
	Row     Row
}

// Decision is the recommendation for one shape.
type Decision struct {
	Shape
	Mix    Mix // the weights used, summing to 1
	Allow  Allow
	Prices Prices // the prices costs were made with
	// Estimates are every row, those that can be recommended first, each
	// group fastest first.
	Estimates []Estimate
	// Best indexes Estimates (-1: no row could be recommended); RunnerUp
	// is the next allowed row (-1: none).
	Best, RunnerUp int
	// Tie: the fastest rows' intervals of their ratio include 1; Why says
	// how the recommendation was chosen among them.
	Tie bool
	Why string
	// VsNone compares the same builder without a cache; VsCurrent the
	// team's current row; Behind the runner-up.
	VsNone, VsCurrent, Behind *Comparison
	Pivots                    []Pivot
	// NeedsUnknown: the benchmark was recorded before needs were kept, and
	// none were defined, so Allow could not be applied. NeedsDefined: it
	// was, and the needs used are Inputs.Defined.
	NeedsUnknown, NeedsDefined bool
}

// Recommended is the recommended row's estimate, if any.
func (d Decision) Recommended() (Estimate, bool) {
	if d.Best < 0 {
		return Estimate{}, false
	}
	return d.Estimates[d.Best], true
}

// Decide makes one decision per shape of the benchmark. It refuses a mix
// naming a pattern the benchmark did not measure, and a current row it did
// not measure, naming the fix.
func Decide(res *results.Results, in Inputs) ([]Decision, error) {
	if in.Prices == (Prices{}) {
		in.Prices = DefaultPrices
	}
	var shapes []Shape
	byShape := map[Shape][]results.Run{}
	for _, r := range res.Runs {
		if r.Level() > 1 {
			// A build among others started together answers another
			// question (the report's concurrency section): the
			// recommendation weighs builds one at a time.
			continue
		}
		s := Shape{r.Workload, stats.NetworkOf(r), stats.StartOf(r)}
		if _, ok := byShape[s]; !ok {
			shapes = append(shapes, s)
		}
		byShape[s] = append(byShape[s], r)
	}
	needs, known := needsOf(res.Environment.Builders)
	defined := false
	if !known {
		if dn, ok := needsOf(in.Defined); ok {
			needs, known, defined = dn, true, true
		}
	}
	if !known && in.Allow != nil {
		return nil, fmt.Errorf("--allow: %s was recorded before cachebench kept what each builder and strategy needs, so rules cannot be applied to it (its report's pod needs column says it in words): leave --allow out", res.Dir)
	}
	var out []Decision
	for _, s := range shapes {
		d, err := decide(s, byShape[s], in, needs, known)
		if err != nil {
			return nil, err
		}
		d.NeedsDefined = defined
		out = append(out, d)
	}
	return out, nil
}

// needsOf maps each row to what it needs; known is false for records made
// before needs were kept.
func needsOf(builders []results.BuilderInfo) (map[Row][]string, bool) {
	m := map[Row][]string{}
	known := len(builders) > 0
	for _, b := range builders {
		if b.Needs == nil {
			known = false
		}
		for _, s := range b.Strategies {
			if s.Needs == nil {
				known = false
			}
			m[Row{b.Name, s.Name}] = append(slices.Clone(b.Needs), s.Needs...)
		}
	}
	return m, known
}

func decide(s Shape, runs []results.Run, in Inputs, needs map[Row][]string, known bool) (Decision, error) {
	// A round that follows a mix (--soak with --mix) measures each
	// pattern its warm runs made; its cold run made none of them.
	measured := slices.DeleteFunc(stats.Distinct(runs, stats.PatternOf), func(p string) bool { return p == results.ChangeMix })
	mix := in.Mix
	if len(mix) == 0 {
		mix = Mix{}
		for _, p := range measured {
			mix[p] = 1
		}
	}
	for _, p := range mix.Patterns() {
		if !slices.Contains(measured, p) {
			return Decision{}, fmt.Errorf("--mix names %s, which the benchmark did not measure for %s (it measured %s): measure it with --change %s, or leave it out of --mix",
				p, s, strings.Join(measured, ", "), p)
		}
	}
	d := Decision{Shape: s, Mix: mix.normalized(), Allow: in.Allow, Prices: in.Prices, Best: -1, RunnerUp: -1, NeedsUnknown: !known}

	// A row's runs, by pattern: the warm runs (a team's next commit finds
	// the cache its last one left), and every run of none, whose cold and
	// warm runs measure the same thing.
	type cell struct {
		row     Row
		pattern string
	}
	var rows []Row
	byCell := map[cell][]results.Run{}
	byRow := map[Row][]results.Run{}
	for _, r := range runs {
		row := Row{stats.BuilderOf(r), r.Strategy}
		if !slices.Contains(rows, row) {
			rows = append(rows, row)
		}
		if !r.Success || (r.Cache != results.Warm && r.Strategy != stats.Baseline) {
			continue
		}
		c := cell{row, stats.PatternOf(r)}
		byCell[c] = append(byCell[c], r)
		byRow[row] = append(byRow[row], r)
	}
	if in.Current != nil && !slices.Contains(rows, *in.Current) {
		var names []string
		for _, r := range rows {
			names = append(names, r.String())
		}
		return Decision{}, fmt.Errorf("--current %s: the benchmark did not measure it for %s: choose from %s", in.Current, s, strings.Join(names, ", "))
	}

	rng := rand.New(rand.NewPCG(1, 2))
	var ests []Estimate
	for _, row := range rows {
		e := Estimate{Row: row, Patterns: map[string]PatternTime{}, Needs: needs[row]}
		var missing, few []string
		walls := map[string][]float64{}
		for _, p := range measured {
			for _, r := range byCell[cell{row, p}] {
				walls[p] = append(walls[p], r.WallSeconds())
			}
			if v := walls[p]; len(v) > 0 {
				e.Patterns[p] = PatternTime{stats.MedianOf(v), len(v)}
			}
		}
		for _, p := range mix.Patterns() {
			if d.Mix[p] == 0 {
				continue
			}
			pt, ok := e.Patterns[p]
			switch {
			case !ok:
				missing = append(missing, p)
			case pt.N < MinRuns:
				few = append(few, fmt.Sprintf("%s n=%d", p, pt.N))
			}
			e.Seconds += d.Mix[p] * pt.Median
		}
		if ok, forbidden := in.Allow.allows(e.Needs); known && !ok {
			e.Forbidden = forbidden
			e.Excluded = "needs " + strings.Join(forbidden, " and ") + ", which --allow leaves out"
		}
		if len(missing) > 0 {
			e.Seconds = 0
			e.Excluded = "no successful warm runs under " + strings.Join(missing, ", ")
			ests = append(ests, e)
			continue
		}
		if len(few) > 0 {
			e.CI = stats.Interval{Why: fmt.Sprintf("an interval needs %d runs of each pattern in the mix (%s)", MinRuns, strings.Join(few, ", "))}
		} else {
			e.draws = bootstrap(rng, d.Mix, walls)
			e.CI = percentiles(e.draws)
		}
		e.Cost = costOf(d.Mix, func(p string) []results.Run { return byCell[cell{row, p}] }, byRow[row], in.Prices)
		e.Cost.WaitingHours = Builds * e.Seconds / 3600
		ests = append(ests, e)
	}
	sort.SliceStable(ests, func(i, j int) bool {
		a, b := ests[i], ests[j]
		if (a.Excluded == "") != (b.Excluded == "") {
			return a.Excluded == ""
		}
		if (a.Seconds == 0) != (b.Seconds == 0) {
			return a.Seconds != 0
		}
		return a.Seconds < b.Seconds
	})
	d.Estimates = ests
	allowed := 0
	for allowed < len(ests) && ests[allowed].Excluded == "" {
		allowed++
	}
	if allowed == 0 {
		d.Why = "no row measured is allowed and measured under every pattern of the mix"
		return d, nil
	}

	// The fastest row, unless others are tied with it: then the one that
	// needs least, then costs least.
	fastest := ests[0]
	tied := []int{0}
	for i := 1; i < allowed; i++ {
		if c := compare(fastest, ests[i]); c.CI.OK && c.CI.Lo <= 1 {
			tied = append(tied, i)
		}
	}
	// Among tied rows the simplest, then the cheapest, then the faster, so
	// long as no other tied row is clearly faster than it: a tie is with
	// the fastest, not among the rest.
	simplest := func(i, j int) int {
		a, b := ests[i], ests[j]
		if len(a.Needs) != len(b.Needs) {
			return len(a.Needs) - len(b.Needs)
		}
		if a.Cost.Measured && b.Cost.Measured && a.Cost.Dollars != b.Cost.Dollars {
			return cmpFloat(a.Cost.Dollars, b.Cost.Dollars)
		}
		return cmpFloat(a.Seconds, b.Seconds)
	}
	for len(tied) > 1 {
		pick := slices.MinFunc(tied, simplest)
		beaten := slices.ContainsFunc(tied, func(j int) bool {
			c := compare(ests[j], ests[pick])
			return j != pick && c.CI.OK && c.CI.Lo > 1
		})
		if !beaten {
			break
		}
		tied = slices.DeleteFunc(tied, func(j int) bool { return j == pick })
	}
	d.Best = slices.MinFunc(tied, simplest)
	if len(tied) > 1 {
		d.Tie = true
		d.Why = tieReason(ests, tied, d.Best, known)
	}
	best := ests[d.Best]
	for i := 0; i < allowed; i++ {
		if i != d.Best {
			d.RunnerUp = i
			break
		}
	}
	if d.RunnerUp >= 0 {
		c := compare(best, ests[d.RunnerUp])
		d.Behind = &c
	}
	for _, e := range ests {
		if e.Seconds == 0 {
			continue
		}
		if e.Row == (Row{best.Builder, stats.Baseline}) && best.Strategy != stats.Baseline {
			c := compare(best, e)
			d.VsNone = &c
		}
		if in.Current != nil && e.Row == *in.Current && e.Row != best.Row {
			c := compare(best, e)
			d.VsCurrent = &c
		}
	}
	d.Pivots = pivots(d.Mix, best, ests[:allowed], tied)
	return d, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// tieReason says why the recommendation was chosen among tied rows.
func tieReason(ests []Estimate, tied []int, best int, needsKnown bool) string {
	b := ests[best]
	var others []string
	fewerNeeds, cheaper := true, b.Cost.Measured
	for _, i := range tied {
		if i == best {
			continue
		}
		o := ests[i]
		others = append(others, o.Row.String())
		fewerNeeds = fewerNeeds && len(b.Needs) < len(o.Needs)
		cheaper = cheaper && o.Cost.Measured && b.Cost.Dollars < o.Cost.Dollars
	}
	var why string
	switch {
	case !needsKnown && cheaper:
		why = fmt.Sprintf("it costs least per 1,000 builds ($%.2f); what the rows need was not recorded", b.Cost.Dollars)
	case !needsKnown:
		why = "it has the lowest expected time; what the rows need was not recorded"
	case fewerNeeds && len(b.Needs) == 0:
		why = "it needs nothing a team may forbid"
	case fewerNeeds:
		why = "it needs less (" + strings.Join(b.Needs, ", ") + ")"
	case cheaper:
		why = fmt.Sprintf("it needs no more and costs least per 1,000 builds ($%.2f)", b.Cost.Dollars)
	case !b.Cost.Measured:
		why = "nothing else recorded tells them apart (the same needs, no cost measured); it has the lowest expected time"
	default:
		why = "they need the same and cost about the same; it has the lowest expected time"
	}
	return fmt.Sprintf("%s is tied with %s (the interval of their ratio includes 1); recommended because %s", b.Row, strings.Join(others, ", "), why)
}

// compare is other/best with the bootstrap interval of the ratio (the two
// rows' resamples are independent).
func compare(best, other Estimate) Comparison {
	c := Comparison{Row: other.Row, Ratio: other.Seconds / best.Seconds, Saved: other.Seconds - best.Seconds}
	if len(best.draws) == 0 || len(other.draws) == 0 {
		c.CI = stats.Interval{Why: "no interval: " + firstNonEmpty(best.CI.Why, other.CI.Why)}
		return c
	}
	ratios := make([]float64, len(best.draws))
	for i := range ratios {
		ratios[i] = other.draws[i] / best.draws[i]
	}
	c.CI = percentiles(ratios)
	return c
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// bootstrap resamples each pattern's times and sums the mix-weighted
// medians: the distribution of the expected time.
func bootstrap(rng *rand.Rand, mix Mix, times map[string][]float64) []float64 {
	patterns := mix.Patterns()
	out := make([]float64, draws)
	buf := []float64{}
	for i := range out {
		for _, p := range patterns {
			if mix[p] == 0 {
				continue
			}
			v := times[p]
			buf = buf[:0]
			for range v {
				buf = append(buf, v[rng.IntN(len(v))])
			}
			out[i] += mix[p] * stats.MedianOf(buf)
		}
	}
	return out
}

// percentiles is the 95% percentile interval of draws.
func percentiles(draws []float64) stats.Interval {
	s := slices.Clone(draws)
	sort.Float64s(s)
	n := float64(len(s))
	lo := s[int(math.Floor((1-stats.Confidence)/2*n))]
	hi := s[int(math.Ceil((1+stats.Confidence)/2*n))-1]
	return stats.Interval{Lo: lo, Hi: hi, OK: true}
}

// pivots finds, for each measured pattern, the share of the mix at which
// another allowed row would be as fast as the recommendation, the others'
// shares scaled to make room; the nearest such share to today's per
// pattern. Rows tied with the recommendation are left out: the report
// names them already.
func pivots(mix Mix, best Estimate, allowed []Estimate, tied []int) []Pivot {
	var out []Pivot
	var patterns []string
	for p := range best.Patterns {
		patterns = append(patterns, p)
	}
	sort.Strings(patterns)
	for _, p := range patterns {
		var found *Pivot
		for i, o := range allowed {
			if o.Row == best.Row || slices.Contains(tied, i) {
				continue
			}
			op, ok := o.Patterns[p]
			if !ok {
				continue
			}
			// E(x) = x·m_p + (1−x)·R, R being the expected time over the
			// other patterns at today's proportions.
			rb, okb := rest(mix, p, best)
			ro, oko := rest(mix, p, o)
			if !okb || !oko {
				continue
			}
			a := ro - rb                                       // the difference at x = 0
			slope := (op.Median - best.Patterns[p].Median) - a // its change to x = 1
			if slope == 0 {
				continue
			}
			x := -a / slope
			// Only a row slower today that a move of p's share makes faster.
			if a+slope*mix[p] <= 0 || x < 0 || x > 1 {
				continue
			}
			if found == nil || math.Abs(x-mix[p]) < math.Abs(found.At-mix[p]) {
				found = &Pivot{Pattern: p, Now: mix[p], At: x, Row: o.Row}
			}
		}
		if found != nil {
			out = append(out, *found)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		return math.Abs(out[i].At-out[i].Now) < math.Abs(out[j].At-out[j].Now)
	})
	return out
}

// rest is a row's expected time over the mix without pattern p, the other
// weights scaled to sum to 1; with no other weight it is the time under p
// itself (the mix is all p).
func rest(mix Mix, p string, e Estimate) (float64, bool) {
	sum, t := 0.0, 0.0
	for q, w := range mix {
		if q == p || w == 0 {
			continue
		}
		pt, ok := e.Patterns[q]
		if !ok {
			return 0, false
		}
		sum += w
		t += w * pt.Median
	}
	if sum == 0 {
		pt, ok := e.Patterns[p]
		return pt.Median, ok
	}
	return t / sum, true
}
