// Package stats computes what the report and the benchmark's stopping rule
// say of a group of runs: median and its interval (benchstat's), spread,
// speedup against the baseline with a bootstrap interval, the Mann-Whitney
// test, and where the time went. It reads results and draws nothing.
package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"golang.org/x/perf/benchmath"
	"gonum.org/v1/gonum/stat"

	"github.com/cachebench/cachebench/results"
)

// Confidence is the level of every interval in the report.
const Confidence = 0.95

// NoisyCV is the coefficient of variation above which a result is flagged.
const NoisyCV = 0.10

// Baseline is the strategy speedups are measured against, builder by builder.
const Baseline = "none"

// ReferenceBuilder is the builder every other is also compared with: the
// one most Tekton pipelines run today (upstream kaniko).
const ReferenceBuilder = "kaniko"

// Key identifies a group of runs: their coordinates, round and attempt
// left out (results.Coordinates.OfGroup), with every default filled in.
// How the runs began is part of it: a push event's runs pay for the
// EventListener and its Trigger, so they are never pooled or compared with
// runs the harness created.
type Key struct{ results.Coordinates }

// String is workload/builder/strategy/cache, the workload named as Where
// names it.
func (k Key) String() string {
	return fmt.Sprintf("%s/%s/%s/%s", k.Where(), k.Builder, k.Strategy, k.Cache)
}

// Where is the workload with its change pattern unless it is the
// workload's default, its network profile unless local, and how its runs
// started unless through the API: "small", "gobuild+source", "small@wan",
// "small@wan~trigger", and "×K" after a concurrency level above 1
// ("small×4"). The defaults are left out so that the names of runs
// recorded before each dimension existed stay what they were.
func (k Key) Where() string {
	w := k.Workload
	if c := k.NamedChange(); c != "" {
		w += "+" + c
	}
	if n := k.NamedNetwork(); n != "" {
		w += "@" + n
	}
	if s := k.NamedStart(); s != "" {
		w += "~" + s
	}
	if l := k.Level(); l > 1 {
		w += fmt.Sprintf("×%d", l)
	}
	return w
}

// NamedChange is the change pattern, or "" when it is the workload's
// default (Where leaves it out then).
func (k Key) NamedChange() string {
	if k.Change == results.DefaultChange(k.Workload) {
		return ""
	}
	return k.Change
}

// NamedNetwork is the network profile, or "" when it is local.
func (k Key) NamedNetwork() string {
	if k.Network == results.LocalNetwork {
		return ""
	}
	return k.Network
}

// NamedStart is how the runs started, or "" when through the API.
func (k Key) NamedStart() string {
	if k.Start == results.StartAPI {
		return ""
	}
	return k.Start
}

// Interval is a confidence interval; OK is false when the sample is too
// small to give one (then Why says so).
type Interval struct {
	Lo, Hi float64
	OK     bool
	Why    string
}

// Stat summarises the successful runs of one group (wall time, seconds).
type Stat struct {
	Key
	N      int
	Failed int
	Values []float64

	Median, Mean, Min, Max, StdDev, CV float64
	// MedianCI is the order-statistic interval benchstat prints
	// (benchmath.AssumeNothing), so report and benchstat agree.
	MedianCI Interval
	Noisy    bool

	// EventToPipelineRun and EventToFirstStep are, for runs started by a
	// push event, the time from sending the event until the PipelineRun
	// its Trigger made was seen and until that PipelineRun's first step
	// ran (seconds); empty for runs the harness created.
	EventToPipelineRun, EventToFirstStep Summary

	// Speedup is median(baseline)/median(this), the baseline being the
	// same builder's none; its interval comes from a bootstrap of both
	// samples. P is the Mann-Whitney U test's p-value against the baseline
	// (benchstat's test).
	Speedup   float64
	SpeedupCI Interval
	P         float64
	HasP      bool
	// BaselineN is the size of the baseline sample compared against.
	BaselineN int
	// VsReference is median(reference builder's none)/median(this), with
	// its bootstrap interval: how this builder and strategy compare with
	// what most pipelines run today. Zero when the benchmark ran no
	// reference builder.
	VsReference   float64
	VsReferenceCI Interval
	ReferenceN    int

	// Medians of the parts of a run: pipeline tasks (TaskParts) and the
	// full breakdown (BreakdownParts).
	Tasks     map[string]float64
	Breakdown map[string]float64
	// Means of kaniko's cache counters.
	CacheHits, CacheMisses, LocalCacheHits float64
	// Checks counts the verdicts of the cache-use check over the
	// successful runs (runs recorded before the check existed have none).
	Checks  map[results.Verdict]int
	Prepare float64 // median seconds of cache preparation (cold runs)
}

// Summary is a sample's size, median and the median's 95% interval.
type Summary struct {
	N      int
	Median float64
	CI     Interval
}

// SummaryOf summarises v (seconds) as the report's medians are: the
// order-statistic interval benchstat prints.
func SummaryOf(v []float64) Summary {
	if len(v) == 0 {
		return Summary{CI: Interval{Why: "no runs"}}
	}
	sorted := slices.Clone(v)
	sort.Float64s(sorted)
	m, ci := medianCI(sorted)
	return Summary{N: len(v), Median: m, CI: ci}
}

// medianCI is the median of a sorted, non-empty sample with its 95%
// interval (benchmath.AssumeNothing, as benchstat).
func medianCI(sorted []float64) (float64, Interval) {
	sample := benchmath.NewSample(sorted, &benchmath.DefaultThresholds)
	sum := benchmath.AssumeNothing.Summary(sample, Confidence)
	ci := Interval{Lo: sum.Lo, Hi: sum.Hi, OK: !math.IsInf(sum.Lo, 0) && !math.IsInf(sum.Hi, 0)}
	if !ci.OK {
		ci.Why = fmt.Sprintf("n=%d: a 95%% interval of the median needs n>=6", len(sorted))
	}
	return sum.Center, ci
}

// Summarize groups runs by start, workload, change, network profile,
// builder, strategy and cache state (cold or warm) and computes the
// statistics of each group, ordered by start, workload, change, network,
// builder, strategy (each as first seen), cold before warm: the runs of a
// push event follow, as a block, those the harness created. Speedups
// compare against every successful baseline run of the same start,
// workload, change, network and builder: the baseline keeps no cache, so
// its cold and warm runs measure the same thing.
func Summarize(runs []results.Run) []Stat {
	groups := map[Key][]results.Run{}
	var order []Key
	for _, r := range runs {
		k := KeyOf(r)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	wOrder := rank(Distinct(runs, func(r results.Run) string { return r.Workload }))
	nOrder := rank(Distinct(runs, func(r results.Run) string { return NetworkOf(r) }))
	cOrder := rank(Distinct(runs, func(r results.Run) string { return ChangeOf(r) }))
	stOrder := rank(Distinct(runs, func(r results.Run) string { return StartOf(r) }))
	bOrder := rank(Distinct(runs, func(r results.Run) string { return BuilderOf(r) }))
	sOrder := rank(Distinct(runs, func(r results.Run) string { return r.Strategy }))
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.Start != b.Start {
			return stOrder[a.Start] < stOrder[b.Start]
		}
		if a.Workload != b.Workload {
			return wOrder[a.Workload] < wOrder[b.Workload]
		}
		if a.Change != b.Change {
			return cOrder[a.Change] < cOrder[b.Change]
		}
		if a.Network != b.Network {
			return nOrder[a.Network] < nOrder[b.Network]
		}
		if a.Builder != b.Builder {
			return bOrder[a.Builder] < bOrder[b.Builder]
		}
		if a.Strategy != b.Strategy {
			return sOrder[a.Strategy] < sOrder[b.Strategy]
		}
		return a.Cache == results.Cold && b.Cache == results.Warm
	})
	// The baseline makes the same change: a source change is compared
	// with a source change without a cache; and starts the same way.
	type wnb struct{ start, workload, change, network, builder string }
	baseline := map[wnb][]float64{}
	for _, r := range runs {
		if r.Strategy == Baseline && r.Success {
			k := wnb{StartOf(r), r.Workload, ChangeOf(r), NetworkOf(r), BuilderOf(r)}
			baseline[k] = append(baseline[k], r.WallSeconds())
		}
	}
	var out []Stat
	for _, k := range order {
		st := summarize(k, groups[k], baseline[wnb{k.Start, k.Workload, k.Change, k.Network, k.Builder}])
		if ref := baseline[wnb{k.Start, k.Workload, k.Change, k.Network, ReferenceBuilder}]; len(ref) > 0 && st.N > 0 {
			st.VsReference, st.VsReferenceCI = ratio(ref, st.Values)
			st.ReferenceN = len(ref)
		}
		out = append(out, st)
	}
	return out
}

// KeyOf is the group a run belongs to.
func KeyOf(r results.Run) Key {
	c := r.Coordinates.OfGroup()
	c.Change, c.Network, c.Start, c.Builder = ChangeOf(r), NetworkOf(r), StartOf(r), BuilderOf(r)
	if c.Level() == 1 {
		c.Concurrency = 0 // one build at a time, however recorded
	}
	return Key{c}
}

// StartOf names how a run started; a run made without a start (built in
// Go rather than read from results.jsonl) was created through the API.
func StartOf(r results.Run) string {
	if r.Start == "" {
		return results.StartAPI
	}
	return r.Start
}

// ChangeOf names a run's change pattern; a run made without one (built in
// Go rather than read from results.jsonl) made its workload's default.
func ChangeOf(r results.Run) string {
	if r.Change == "" {
		return results.DefaultChange(r.Workload)
	}
	return r.Change
}

// PatternOf names the change pattern a run's commit made: in a round that
// follows a commit mix, the pattern of the mix its warm run made.
func PatternOf(r results.Run) string {
	if r.MixChange != "" {
		return r.MixChange
	}
	return ChangeOf(r)
}

// NetworkOf names a run's network profile; a run made without one (built
// in Go rather than read from results.jsonl) was local.
func NetworkOf(r results.Run) string {
	if r.Network == "" {
		return results.LocalNetwork
	}
	return r.Network
}

// BuilderOf names a run's builder; runs recorded before cachebench had a
// choice of builders were kaniko's.
func BuilderOf(r results.Run) string {
	if r.Builder == "" {
		return ReferenceBuilder
	}
	return r.Builder
}

func rank(keys []string) map[string]int {
	m := map[string]int{}
	for i, k := range keys {
		m[k] = i
	}
	return m
}

func summarize(k Key, runs []results.Run, base []float64) Stat {
	st := Stat{Key: k, Tasks: map[string]float64{}, Breakdown: map[string]float64{}, Checks: map[results.Verdict]int{}}
	tasks := map[string][]float64{}
	parts := map[string][]float64{}
	var prepare, toRun, toStep []float64
	for _, r := range runs {
		if !r.Success {
			st.Failed++
			continue
		}
		st.Values = append(st.Values, r.WallSeconds())
		// Zero is a time not measured (an older or interrupted record),
		// never an instant.
		if t := r.Trigger; t != nil {
			if t.PipelineRunMillis > 0 {
				toRun = append(toRun, float64(t.PipelineRunMillis)/1000)
			}
			if t.FirstStepMillis > 0 {
				toStep = append(toStep, float64(t.FirstStepMillis)/1000)
			}
		}
		var inTasks float64
		for _, t := range r.Tasks {
			tasks[t.Name] = append(tasks[t.Name], t.Seconds)
			inTasks += t.Seconds
		}
		tasks["overhead"] = append(tasks["overhead"], math.Max(0, r.WallSeconds()-inTasks))
		for name, v := range Breakdown(r) {
			parts[name] = append(parts[name], v)
		}
		if r.Check != nil {
			st.Checks[r.Check.Verdict]++
		}
		st.CacheHits += float64(r.BuildLog.CacheHits)
		st.CacheMisses += float64(r.BuildLog.CacheMisses)
		st.LocalCacheHits += float64(r.BuildLog.LocalCacheHits)
		if r.PrepareSeconds > 0 {
			prepare = append(prepare, r.PrepareSeconds)
		}
	}
	st.N = len(st.Values)
	if st.N == 0 {
		return st
	}
	n := float64(st.N)
	st.CacheHits, st.CacheMisses, st.LocalCacheHits = st.CacheHits/n, st.CacheMisses/n, st.LocalCacheHits/n
	for name, v := range tasks {
		st.Tasks[name] = median(v)
	}
	for name, v := range parts {
		st.Breakdown[name] = median(v)
	}
	if len(prepare) > 0 {
		st.Prepare = median(prepare)
	}
	if len(toRun) > 0 || len(toStep) > 0 {
		st.EventToPipelineRun, st.EventToFirstStep = SummaryOf(toRun), SummaryOf(toStep)
	}
	sorted := slices.Clone(st.Values)
	sort.Float64s(sorted)
	st.Min, st.Max = sorted[0], sorted[len(sorted)-1]
	st.Mean = stat.Mean(sorted, nil)
	if st.N > 1 {
		st.StdDev = stat.StdDev(sorted, nil)
	}
	if st.Mean > 0 {
		st.CV = st.StdDev / st.Mean
	}
	st.Noisy = st.N > 1 && st.CV > NoisyCV
	st.Median, st.MedianCI = medianCI(sorted)
	sample := benchmath.NewSample(sorted, &benchmath.DefaultThresholds)
	st.BaselineN = len(base)
	if len(base) > 0 && st.Median > 0 {
		bs := slices.Clone(base)
		sort.Float64s(bs)
		st.Speedup, st.SpeedupCI = ratio(bs, sorted)
		if k.Strategy != Baseline {
			cmp := benchmath.AssumeNothing.Compare(benchmath.NewSample(bs, &benchmath.DefaultThresholds), sample)
			st.P, st.HasP = cmp.P, true
		}
	}
	return st
}

// minForInterval is the smallest sample a median's 95% interval needs.
const minForInterval = 6

// ratio is median(base)/median(s) with its bootstrap interval.
func ratio(base, s []float64) (float64, Interval) {
	if len(base) == 0 || len(s) == 0 || median(s) == 0 {
		return 0, Interval{Why: "no runs"}
	}
	return median(base) / median(s), speedupCI(base, s)
}

// speedupCI bootstraps the ratio of medians (percentile interval, fixed
// seed so that a report is reproducible).
func speedupCI(base, s []float64) Interval {
	if len(base) < minForInterval || len(s) < minForInterval {
		return Interval{Why: fmt.Sprintf("needs n>=6 on both sides (baseline n=%d, this n=%d)", len(base), len(s))}
	}
	const rounds = 4000
	rng := rand.New(rand.NewPCG(1, 2))
	ratios := make([]float64, rounds)
	rb, rs := make([]float64, len(base)), make([]float64, len(s))
	for i := range ratios {
		for j := range rb {
			rb[j] = base[rng.IntN(len(base))]
		}
		for j := range rs {
			rs[j] = s[rng.IntN(len(s))]
		}
		ratios[i] = median(rb) / median(rs)
	}
	sort.Float64s(ratios)
	lo := ratios[int(math.Floor((1-Confidence)/2*rounds))]
	hi := ratios[int(math.Ceil((1+Confidence)/2*rounds))-1]
	return Interval{Lo: lo, Hi: hi, OK: true}
}

// MedianOf is the median of v, 0 for none.
func MedianOf(v []float64) float64 { return median(v) }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// Significant reports whether the difference from the baseline passes
// benchstat's test at its default alpha.
func (s Stat) Significant() bool {
	return s.HasP && s.P < benchmath.DefaultThresholds.CompareAlpha
}

// BreakdownParts split a run from start to end: pod scheduling and start
// (Tekton's init containers included) of both tasks, the clone step,
// kaniko's phases from its log, and whatever is left of the wall time.
var BreakdownParts = append(append([]string{"scheduling", "clone"}, results.BuildPhases...), "other")

// Breakdown splits one run into BreakdownParts (seconds).
func Breakdown(r results.Run) map[string]float64 {
	b := map[string]float64{}
	var sum float64
	for _, t := range r.Tasks {
		b["scheduling"] += t.PodStartSeconds
		if t.Name == "fetch-source" {
			for _, s := range t.Steps {
				b["clone"] += s.Seconds
			}
		}
	}
	for _, p := range r.BuildLog.Phases {
		b[p.Name] += p.Seconds
	}
	for _, v := range b {
		sum += v
	}
	b["other"] = math.Max(0, r.WallSeconds()-sum)
	return b
}

// Distinct returns the keys of items in the order they first appear:
// workloads and strategies are shown in the order the benchmark ran them.
func Distinct[T any](items []T, key func(T) string) []string {
	var out []string
	seen := map[string]bool{}
	for _, it := range items {
		if k := key(it); !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// Precision is the relative half-width of a row's 95% interval: of its
// speedup against the baseline, or of the median for the baseline itself.
// It is NaN while the row has no interval (n < 6).
func (s Stat) Precision() float64 {
	if s.Strategy == Baseline {
		if !s.MedianCI.OK || s.Median == 0 {
			return math.NaN()
		}
		return (s.MedianCI.Hi - s.MedianCI.Lo) / 2 / s.Median
	}
	if !s.SpeedupCI.OK || s.Speedup == 0 {
		return math.NaN()
	}
	return (s.SpeedupCI.Hi - s.SpeedupCI.Lo) / 2 / s.Speedup
}
