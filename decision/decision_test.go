package decision

import (
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/cachebench/cachebench/results"
)

// bench builds a benchmark's results: times[row][pattern] are the warm
// runs' seconds; every run used 10 CPU-seconds and 1 GB for 20 s. Rows
// with a cache also get a slow cold run, which a decision must not count.
func bench(needs map[string][]string, times map[Row]map[string][]float64) *results.Results {
	res := &results.Results{}
	builders := map[string]*results.BuilderInfo{}
	var order []string
	for row, byPattern := range times {
		b, ok := builders[row.Builder]
		if !ok {
			b = &results.BuilderInfo{Name: row.Builder, Needs: needs[row.Builder]}
			if b.Needs == nil {
				b.Needs = []string{}
			}
			builders[row.Builder] = b
			order = append(order, row.Builder)
		}
		sn := []string{}
		if row.Strategy == "registry" {
			sn = []string{results.NeedRegistryWrites}
		}
		b.Strategies = append(b.Strategies, results.StrategyInfo{Name: row.Strategy, Needs: sn})
		for pattern, secs := range byPattern {
			if row.Strategy != "none" {
				res.Runs = append(res.Runs, results.Run{
					Coordinates: results.Coordinates{Workload: "small", Builder: row.Builder, Strategy: row.Strategy, Round: 1,
						Cache: results.Cold, Change: pattern, Network: results.LocalNetwork, Start: results.StartAPI},
					Success: true, WallMillis: 500_000,
				})
			}
			for i, s := range secs {
				res.Runs = append(res.Runs, results.Run{
					Coordinates: results.Coordinates{Workload: "small", Builder: row.Builder, Strategy: row.Strategy, Round: i%2 + 1,
						Cache: results.Warm, Change: pattern, Network: results.LocalNetwork, Start: results.StartAPI},
					Success: true, WallMillis: int64(s * 1000),
					Tasks:      []results.Task{{Name: "build-push", Span: results.Span{Seconds: 20}, CPUSeconds: 10, PeakMemoryBytes: 1e9}},
					CacheBytes: 2e9,
				})
			}
		}
	}
	for _, n := range order {
		res.Environment.Builders = append(res.Environment.Builders, *builders[n])
	}
	return res
}

func spread(center float64) []float64 {
	return []float64{center - 0.2, center - 0.1, center, center + 0.1, center + 0.2, center}
}

func one(t *testing.T, res *results.Results, in Inputs) Decision {
	t.Helper()
	ds, err := Decide(res, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 {
		t.Fatalf("%d decisions, want 1", len(ds))
	}
	return ds[0]
}

func TestDecideFastestForTheMix(t *testing.T) {
	res := bench(map[string][]string{"buildkit": {results.NeedPrivileged}}, map[Row]map[string][]float64{
		{"kaniko", "none"}:       {"source": spread(30), "base": spread(30)},
		{"kaniko", "registry"}:   {"source": spread(15), "base": spread(34)},
		{"buildkit", "none"}:     {"source": spread(40), "base": spread(40)},
		{"buildkit", "registry"}: {"source": spread(10), "base": spread(20)},
	})
	mix, err := ParseMix("source=3,base=1")
	if err != nil {
		t.Fatal(err)
	}
	d := one(t, res, Inputs{Mix: mix, Current: &Row{"kaniko", "none"}})
	best, ok := d.Recommended()
	if !ok || best.Row != (Row{"buildkit", "registry"}) {
		t.Fatalf("recommended %+v, want buildkit/registry", best.Row)
	}
	// 0.75·10 + 0.25·20.
	if math.Abs(best.Seconds-12.5) > 1e-9 || !best.CI.OK || best.CI.Lo > 12.5 || best.CI.Hi < 12.5 {
		t.Errorf("expected %.2f s (%+v), want 12.5 s inside its interval", best.Seconds, best.CI)
	}
	if n := best.Patterns["source"].N; n != 6 {
		t.Errorf("source runs counted: %d, want the 6 warm ones", n)
	}
	if d.Tie {
		t.Errorf("a tie: %s", d.Why)
	}
	if d.VsNone == nil || d.VsNone.Row != (Row{"buildkit", "none"}) || math.Abs(d.VsNone.Ratio-40/12.5) > 1e-9 {
		t.Errorf("against no cache: %+v, want buildkit/none at 3.2×", d.VsNone)
	}
	if d.VsCurrent == nil || math.Abs(d.VsCurrent.Saved-(30-12.5)) > 1e-9 || !d.VsCurrent.CI.OK || d.VsCurrent.CI.Lo <= 1 {
		t.Errorf("against the current kaniko/none: %+v, want 17.5 s saved, interval above 1", d.VsCurrent)
	}
	// kaniko/registry: 0.75·15 + 0.25·34 = 19.75 s, second.
	if d.RunnerUp < 0 || d.Estimates[d.RunnerUp].Row != (Row{"kaniko", "registry"}) {
		t.Errorf("runner-up %+v, want kaniko/registry", d.Estimates[d.RunnerUp].Row)
	}
	// Pivot on base: buildkit/registry 10 + 10x, kaniko/none 30 for any x:
	// never; kaniko/registry 15+19x: never below 10+10x for x in [0,1]
	// (15 > 10 and 34 > 20); buildkit/none 40: never. Nothing changes it.
	if len(d.Pivots) != 0 {
		t.Errorf("pivots %+v, want none", d.Pivots)
	}
	// Cost: 10 CPU-s a run → 1000·10/3600 CPU-hours; 1 GB for 20 s;
	// 2 GB of cache a month over 1,000 builds.
	c := best.Cost
	if !c.Measured || math.Abs(c.CPUHours-10000.0/3600) > 1e-9 || math.Abs(c.MemoryGBHours-20000.0/3600) > 1e-9 || math.Abs(c.StorageGBMonths-2) > 1e-9 {
		t.Errorf("cost %+v", c)
	}
	wantDollars := 10000.0/3600*DefaultPrices.CPUHour + 20000.0/3600*DefaultPrices.MemoryGBHour + 2*DefaultPrices.StorageGBMonth
	if math.Abs(c.Dollars-wantDollars) > 1e-9 || math.Abs(c.WaitingHours-12500.0/3600) > 1e-9 {
		t.Errorf("dollars %.4f want %.4f; waiting %.3f h", c.Dollars, wantDollars, c.WaitingHours)
	}
}

func TestDecidePivot(t *testing.T) {
	// a: 10 s after a source change, 40 after a base change; b: 20 and 20.
	// At source share s: a = 40 − 30s, b = 20: b wins below s = 2/3.
	res := bench(nil, map[Row]map[string][]float64{
		{"kaniko", "registry"}: {"source": spread(10), "base": spread(40)},
		{"kaniko", "pv-warm"}:  {"source": spread(20), "base": spread(20)},
	})
	d := one(t, res, Inputs{Mix: Mix{"source": 9, "base": 1}})
	if best, _ := d.Recommended(); best.Row != (Row{"kaniko", "registry"}) {
		t.Fatalf("recommended %s", best.Row)
	}
	var source *Pivot
	for i, p := range d.Pivots {
		if p.Pattern == "source" {
			source = &d.Pivots[i]
		}
	}
	if source == nil || math.Abs(source.At-2.0/3) > 1e-9 || source.Row != (Row{"kaniko", "pv-warm"}) || math.Abs(source.Now-0.9) > 1e-9 {
		t.Fatalf("pivots %+v, want source at 66.7%% for kaniko/pv-warm", d.Pivots)
	}
}

func TestDecideAllowAndTie(t *testing.T) {
	needs := map[string][]string{"buildkit": {results.NeedPrivileged}}
	res := bench(needs, map[Row]map[string][]float64{
		{"kaniko", "none"}:      {"source": spread(30)},
		{"kaniko", "pv-warm"}:   {"source": spread(12.1)},
		{"buildkit", "none"}:    {"source": spread(40)},
		{"buildkit", "pv-warm"}: {"source": spread(12)},
	})
	// Tied with the faster buildkit row, kaniko needs nothing.
	d := one(t, res, Inputs{})
	best, _ := d.Recommended()
	if !d.Tie || best.Row != (Row{"kaniko", "pv-warm"}) || !strings.Contains(d.Why, "needs nothing") {
		t.Errorf("tie %v, recommended %s (%s): want kaniko/pv-warm for needing nothing", d.Tie, best.Row, d.Why)
	}
	allow, err := ParseAllow([]string{"registry-writes"})
	if err != nil {
		t.Fatal(err)
	}
	d = one(t, res, Inputs{Allow: allow})
	best, _ = d.Recommended()
	if d.Tie || best.Row != (Row{"kaniko", "pv-warm"}) {
		t.Errorf("without privileged: tie %v, recommended %s, want kaniko/pv-warm alone", d.Tie, best.Row)
	}
	for _, e := range d.Estimates {
		if e.Builder == "buildkit" && (e.Excluded == "" || !strings.Contains(e.Excluded, "privileged") || e.Seconds == 0) {
			t.Errorf("%s: excluded %q with %.1f s, want left out for privileged and its time kept", e.Row, e.Excluded, e.Seconds)
		}
	}
	// Records without needs cannot be filtered: --allow is refused, and
	// without it the decision says they are unknown.
	for i := range res.Environment.Builders {
		res.Environment.Builders[i].Needs = nil
	}
	if _, err := Decide(res, Inputs{Allow: allow}); err == nil || !strings.Contains(err.Error(), "leave --allow out") {
		t.Errorf("--allow on records without needs: %v", err)
	}
	if d = one(t, res, Inputs{}); !d.NeedsUnknown {
		t.Errorf("needs unknown not flagged")
	}
	// Unless this cachebench defines them: then they apply, and say so.
	defined := []results.BuilderInfo{
		{Name: "kaniko", Needs: []string{}, Strategies: []results.StrategyInfo{{Name: "none", Needs: []string{}}, {Name: "pv-warm", Needs: []string{}}}},
		{Name: "buildkit", Needs: []string{results.NeedPrivileged}, Strategies: []results.StrategyInfo{{Name: "none", Needs: []string{}}, {Name: "pv-warm", Needs: []string{}}}},
	}
	d = one(t, res, Inputs{Allow: allow, Defined: defined})
	if best, _ := d.Recommended(); d.NeedsUnknown || !d.NeedsDefined || best.Row != (Row{"kaniko", "pv-warm"}) || d.Tie {
		t.Errorf("with defined needs: unknown %v, defined %v, recommended %s, tie %v", d.NeedsUnknown, d.NeedsDefined, best.Row, d.Tie)
	}
	if d = one(t, res, Inputs{}); d.Tie && strings.Contains(d.Why, "needs no more") {
		t.Errorf("a tie settled on needs nobody recorded: %s", d.Why)
	}
}

// TestDecideTieIsWithTheFastest: a fast row with a wide spread ties with
// everything, but the simple row it ties with is clearly slower than a
// third: the third is recommended, not the simple one.
func TestDecideTieIsWithTheFastest(t *testing.T) {
	res := bench(nil, map[Row]map[string][]float64{
		{"kaniko", "none"}:     {"none": spread(17.3)},
		{"kaniko", "registry"}: {"none": spread(10.9)},
		{"kaniko", "pv-warm"}:  {"none": {8.8, 9.0, 9.2, 10.0, 18, 19, 20}},
	})
	// kaniko's pv-warm keeps a layer cache repository too: only none needs
	// nothing.
	for i, s := range res.Environment.Builders[0].Strategies {
		if s.Name == "pv-warm" {
			res.Environment.Builders[0].Strategies[i].Needs = []string{results.NeedRegistryWrites}
		}
	}
	d := one(t, res, Inputs{})
	var none Estimate
	for _, e := range d.Estimates {
		if e.Row == (Row{"kaniko", "none"}) {
			none = e
		}
	}
	if c := compare(d.Estimates[0], none); !c.CI.OK || c.CI.Lo > 1 {
		t.Fatalf("the test needs kaniko/none tied with the fastest: %+v", c)
	}
	best, _ := d.Recommended()
	if best.Row == (Row{"kaniko", "none"}) {
		t.Fatalf("recommended no cache, clearly slower than kaniko/registry: %s", d.Why)
	}
}

func TestDecideRefusals(t *testing.T) {
	res := bench(nil, map[Row]map[string][]float64{{"kaniko", "none"}: {"source": spread(30), "base": spread(20)}})
	_, err := Decide(res, Inputs{Mix: Mix{"deps": 1, "source": 1}})
	if err == nil || !strings.Contains(err.Error(), "--change deps") || !strings.Contains(err.Error(), "base, source") && !strings.Contains(err.Error(), "source, base") {
		t.Errorf("mix with an unmeasured pattern: %v", err)
	}
	if _, err = Decide(res, Inputs{Current: &Row{"buildah", "none"}}); err == nil || !strings.Contains(err.Error(), "kaniko/none") {
		t.Errorf("unmeasured current row: %v", err)
	}
	for in, want := range map[string]string{
		"source=x":          "not a number",
		"source=-1":         "not a number",
		"source":            "PATTERN=WEIGHT",
		"source=0,base=0":   "sum to zero",
		"source=1,source=2": "twice",
	} {
		if _, err := ParseMix(in); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--mix") {
			t.Errorf("ParseMix(%q) = %v, want an error about %q", in, err, want)
		}
	}
	if _, err := ParseAllow([]string{"root"}); err == nil || !strings.Contains(err.Error(), "privileged") {
		t.Errorf("unknown constraint: %v", err)
	}
	if _, err := ParseRow("kaniko"); err == nil || !strings.Contains(err.Error(), "kaniko/none") {
		t.Errorf("current without strategy: %v", err)
	}
	if err := (Prices{CPUHour: -1, BuildsPerMonth: 1}).Check(); err == nil || !strings.Contains(err.Error(), "--price-cpu-hour") {
		t.Errorf("negative price: %v", err)
	}
}

func TestMixString(t *testing.T) {
	m, err := ParseMix("source=70, deps=20,base=5,none=5")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.String(), "source 70%, deps 20%, base 5%, none 5%"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}

// A daemon's run is charged the daemon's CPU while it ran, its memory held
// all month and shared by the month's builds (it runs between builds too),
// and its state as cache, besides the build pod's.
func TestCostCountsTheDaemon(t *testing.T) {
	runs := []results.Run{{
		Coordinates: results.Coordinates{Round: 1, Change: "source"}, Success: true, WallMillis: 10_000,
		Tasks:            []results.Task{{Name: "build-push", Span: results.Span{Seconds: 10}, CPUSeconds: 1, PeakMemoryBytes: 1e8}},
		DaemonCPUSeconds: 9, DaemonPeakMemoryBytes: 2e9, DaemonStateBytes: 3e9,
	}}
	c := costOf(Mix{"source": 1}, func(string) []results.Run { return runs }, runs, Prices{BuildsPerMonth: 1000})
	if want := 1000 * 10.0 / 3600; math.Abs(c.CPUHours-want) > 1e-9 {
		t.Errorf("CPU-hours %.3f, want %.3f (the build pod's and the daemon's)", c.CPUHours, want)
	}
	if want := 1000*0.1*10/3600 + 2*730*1000/1000.0; math.Abs(c.MemoryGBHours-want) > 1e-9 {
		t.Errorf("memory GB-hours %.3f, want %.3f (the daemon's 2 GB held for a month of 1,000 builds)", c.MemoryGBHours, want)
	}
	if math.Abs(c.StorageGBMonths-3) > 1e-9 {
		t.Errorf("storage GB-months %.3f, want 3 (the daemon's state)", c.StorageGBMonths)
	}
	// Two daemons (--daemons 2) hold twice the memory; 4,000 builds a month
	// share it.
	// Sticky: every build went to daemon 2, and the round ran both.
	two := append(slices.Clone(runs), runs[0])
	two[0].Daemon, two[1].Daemon, two[0].Daemons, two[1].Daemons = 2, 2, 2, 2
	c = costOf(Mix{"source": 1}, func(string) []results.Run { return two }, two, Prices{BuildsPerMonth: 4000})
	if want := 1000*0.1*10/3600 + 2*2*730*1000/4000.0; math.Abs(c.MemoryGBHours-want) > 1e-9 {
		t.Errorf("two daemons, 4,000 builds a month: memory GB-hours %.3f, want %.3f", c.MemoryGBHours, want)
	}
}

func TestMixSequence(t *testing.T) {
	m := Mix{"source": 70, "deps": 20, "base": 5, "none": 5}
	seq := m.Sequence(19)
	count := map[string]int{}
	for _, p := range seq {
		count[p]++
	}
	// 19 x (0.7, 0.2, 0.05, 0.05) = 13.3, 3.8, 0.95, 0.95: deps, base and
	// none have the largest remainders.
	if want := map[string]int{"source": 13, "deps": 4, "base": 1, "none": 1}; !maps.Equal(count, want) {
		t.Errorf("counts %v, want %v", count, want)
	}
	if again := m.Sequence(19); !slices.Equal(seq, again) {
		t.Errorf("a second call gave %v, the first %v", again, seq)
	}
	if slices.Equal(seq, slices.Sorted(slices.Values(seq))) || slices.Equal(seq[:13], slices.Repeat([]string{"source"}, 13)) {
		t.Errorf("not shuffled: %v", seq)
	}
	if got := (Mix{"source": 1, "none": 0}).Sequence(3); !slices.Equal(got, []string{"source", "source", "source"}) {
		t.Errorf("a pattern of weight 0 was drawn: %v", got)
	}
}

// A round that follows a mix is one row whose warm runs made different
// patterns: the decision reads each pattern from the runs that made it.
func TestDecideReadsARoundThatFollowsAMix(t *testing.T) {
	res := &results.Results{Environment: results.Environment{Builders: []results.BuilderInfo{{Name: "buildkit", Needs: []string{}, Strategies: []results.StrategyInfo{{Name: "daemon", Needs: []string{}}}}}}}
	run := func(cache results.CacheState, made string, secs float64) results.Run {
		return results.Run{
			Coordinates: results.Coordinates{Workload: "small", Builder: "buildkit", Strategy: "daemon", Round: 1, Cache: cache, Change: results.ChangeMix, Network: results.LocalNetwork, Start: results.StartAPI},
			MixChange:   made, Success: true, WallMillis: int64(secs * 1000),
		}
	}
	res.Runs = append(res.Runs, run(results.Cold, "", 100))
	for _, s := range spread(10) {
		res.Runs = append(res.Runs, run(results.Warm, "source", s))
	}
	for _, s := range spread(40) {
		res.Runs = append(res.Runs, run(results.Warm, "base", s))
	}
	d := one(t, res, Inputs{Mix: Mix{"source": 3, "base": 1}})
	e := d.Estimates[d.Best]
	if e.Patterns["source"].Median != 10 || e.Patterns["base"].Median != 40 || e.Patterns["source"].N != 6 {
		t.Errorf("patterns %v, want source 10 s and base 40 s, 6 runs each", e.Patterns)
	}
	if _, ok := e.Patterns[results.ChangeMix]; ok {
		t.Errorf("the mix is read as a pattern of its own: %v", e.Patterns)
	}
	if math.Abs(e.Seconds-(0.75*10+0.25*40)) > 1e-9 {
		t.Errorf("expected %.2f s, want 17.50", e.Seconds)
	}
}
