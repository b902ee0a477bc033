package reports

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/cachebench/cachebench/results"
)

// soak is a round through one daemon long enough to follow its cache over
// the builds (--soak): each build's layer cache hit rate and what the
// daemon's state took after it.
type soak struct {
	round  results.Coordinates // of the round (OfRound)
	builds []soakBuild
}

// soakBuild is one build of a soak; NaN stands for what it did not record.
type soakBuild struct {
	n       int     // 1 for the cold build
	hitRate float64 // layer cache hits over the steps looked up
	stateMB float64 // the daemon's state after the build
	// stateBeforeMB is the state as the run started.
	stateBeforeMB float64
	seconds       float64 // NaN for a failed build
	// change is the pattern of the mix the build's commit made, when its
	// soak follows one (--mix); "" otherwise.
	change string
}

// soakMin is the fewest builds a round through a daemon needs to be
// followed as a soak.
const soakMin = 5

// soaks finds the rounds through a daemon (some run of theirs recorded its
// state) of one build at a time with at least soakMin builds, their builds
// in the order they ran: a round whose daemon died goes on with a fresh
// daemon's cold build, which the soak shows too.
func soaks(runs []results.Run) []soak {
	daemons := map[results.Coordinates]bool{}
	for _, r := range runs {
		if r.DaemonStateBytes > 0 && r.Level() == 1 {
			daemons[r.OfRound()] = true
		}
	}
	byRound := map[results.Coordinates][]results.Run{}
	var order []results.Coordinates
	for _, r := range runs {
		k := r.OfRound()
		if !daemons[k] {
			continue
		}
		if _, ok := byRound[k]; !ok {
			order = append(order, k)
		}
		byRound[k] = append(byRound[k], r)
	}
	var out []soak
	for _, k := range order {
		rs := byRound[k]
		if len(rs) < soakMin {
			continue
		}
		slices.SortStableFunc(rs, func(a, b results.Run) int { return cmp.Compare(a.Seq, b.Seq) })
		s := soak{round: k}
		for i, r := range rs {
			b := soakBuild{n: i + 1, hitRate: math.NaN(), stateMB: math.NaN(), stateBeforeMB: math.NaN(), seconds: math.NaN(), change: r.MixChange}
			if looked := r.BuildLog.CacheHits + r.BuildLog.CacheMisses; r.Success && r.BuildLog.Read && looked > 0 {
				b.hitRate = float64(r.BuildLog.CacheHits) / float64(looked)
			}
			if r.DaemonStateBytes > 0 {
				b.stateMB = float64(r.DaemonStateBytes) / 1e6
			}
			if r.DaemonStateBeforeBytes > 0 {
				b.stateBeforeMB = float64(r.DaemonStateBeforeBytes) / 1e6
			}
			if r.Success {
				b.seconds = r.WallSeconds()
			}
			s.builds = append(s.builds, b)
		}
		out = append(out, s)
	}
	return out
}

// changes are the patterns of the mix the soak's builds made, in the
// order the mix's first builds made them; none when it follows no mix.
func (s soak) changes() []string {
	var out []string
	for _, b := range s.builds {
		if b.change != "" && !slices.Contains(out, b.change) {
			out = append(out, b.change)
		}
	}
	return out
}

// name is the soak's line in the chart and its row in the table.
func (s soak) name() string {
	return fmt.Sprintf("%s, %s+%s", s.round.Builder, s.round.Workload, s.round.Change)
}

// soakWindow is how many warm builds at each end of a soak the table
// compares.
const soakWindow = 5

// soakSection follows each soak's cache over its builds: a table that sets
// its first warm builds against its last, and the chart. Without a soak it
// adds nothing.
func soakSection(d *doc, ss []soak, gcLimit string, charts []Chart) {
	if len(ss) == 0 {
		return
	}
	d.heading(2, "A daemon over many builds")
	limit := "the daemon's own garbage collection policy"
	if gcLimit != "" {
		limit = fmt.Sprintf("garbage collection at %s (--gc-limit: the daemon prunes what no build is using once its cache takes more)", gcLimit)
	}
	mixed := slices.ContainsFunc(ss, func(s soak) bool { return len(s.changes()) > 0 })
	commits, sameChange := "each a commit of the round's change", ""
	if mixed {
		sameChange = " (in a mix, of the same change)"
		commits = "each a commit of the round's change, or, in a soak that follows a commit mix (--mix), of one of the mix's patterns: each as many builds as its share, in an order shuffled once, the same every time"
	}
	d.para(fmt.Sprintf("Builds in a row through one daemon (--soak), %s, with %s. Per build: the share of the steps looked up that the daemon's cache served, and what the daemon's state took on disk as the run started and after it. A collection shows in the state only when it falls between the reads: one that falls in the seconds between a run's start and its build reaching the daemon shows in neither, and the build fills the state again, so the hit rate is what tells. A warm build that finds fewer steps cached than the soak's best warm build%s lost layers to garbage collection. The table gives how many did, the mean hit rate and time of the first %d warm builds and of the last %d, the state's largest size after a build and its smallest as a warm run started.", commits, limit, sameChange, soakWindow, soakWindow))
	t := table{header: []string{"round", "builds", "warm builds that lost layers", "hit rate, first warm", "hit rate, last warm", "seconds, first warm", "seconds, last warm", "largest state MB", "smallest state before MB"}, numeric: 1}
	for _, s := range ss {
		t.add(soakRow(s)...)
	}
	d.add(t)
	if mixed {
		d.para("A soak that follows a mix, by the change each warm build's commit made: how many made it, how many of them lost layers, their mean hit rate and time. (Its first and last warm builds made different changes, so the table above leaves their means out.)")
		t := table{header: []string{"round", "change", "warm builds", "that lost layers", "hit rate", "seconds"}, numeric: 2}
		for _, s := range ss {
			for _, c := range s.changes() {
				bs := ofChange(s.builds[1:], c)
				lost, n := lostLayers(bs)
				t.add(s.name(), c, fmt.Sprint(len(bs)), fmt.Sprintf("%d of %d", lost, n),
					orDash(meanOf(bs, hitPercent), "%.0f%%"), orDash(meanOf(bs, seconds), "%.1f"))
			}
		}
		d.add(t)
	}
	for _, c := range charts {
		if c.Section == soakChartSection {
			d.add(figure{c})
		}
	}
}

// soakRow is a soak's line of the table.
func soakRow(s soak) []string {
	warm := s.builds[1:]
	var first, last []soakBuild
	// A mix's first and last builds made other changes: the table by
	// change compares like with like.
	if len(s.changes()) == 0 {
		first, last = warm[:min(soakWindow, len(warm))], warm[max(0, len(warm)-soakWindow):]
	}
	lost, rated := 0, 0
	for _, c := range append(s.changes(), "") {
		l, n := lostLayers(ofChange(warm, c))
		lost, rated = lost+l, rated+n
	}
	largest, smallest := math.NaN(), math.NaN()
	if v := recorded(s.builds, func(b soakBuild) float64 { return b.stateMB }); len(v) > 0 {
		largest = slices.Max(v)
	}
	if v := recorded(warm, func(b soakBuild) float64 { return b.stateBeforeMB }); len(v) > 0 {
		smallest = slices.Min(v)
	}
	return []string{s.name(), fmt.Sprint(len(s.builds)), fmt.Sprintf("%d of %d", lost, rated),
		orDash(meanOf(first, hitPercent), "%.0f%%"), orDash(meanOf(last, hitPercent), "%.0f%%"),
		orDash(meanOf(first, seconds), "%.1f"), orDash(meanOf(last, seconds), "%.1f"), orDash(largest, "%.0f"), orDash(smallest, "%.0f")}
}

// ofChange are the builds whose commit made change c ("": no change of
// a mix, as in a soak that follows none, or a cold build).
func ofChange(bs []soakBuild, c string) []soakBuild {
	return slices.DeleteFunc(slices.Clone(bs), func(b soakBuild) bool { return b.change != c })
}

// hitPercent and seconds are a build's hit rate in percent and its time.
func hitPercent(b soakBuild) float64 { return 100 * b.hitRate }
func seconds(b soakBuild) float64    { return b.seconds }

// lostLayers counts the builds that found fewer steps cached than the best
// of them, of the n that have a hit rate: builds of one change, whose
// best is what that change leaves cached.
func lostLayers(bs []soakBuild) (lost, n int) {
	rates := recorded(bs, func(b soakBuild) float64 { return b.hitRate })
	if len(rates) == 0 {
		return 0, 0
	}
	best := slices.Max(rates)
	for _, r := range rates {
		if r < best {
			lost++
		}
	}
	return lost, len(rates)
}

// meanOf is the mean of f over the builds that recorded it; NaN for none.
func meanOf(bs []soakBuild, f func(soakBuild) float64) float64 {
	if v := recorded(bs, f); len(v) > 0 {
		return stat.Mean(v, nil)
	}
	return math.NaN()
}

// recorded is f of each build that recorded it (f is not NaN).
func recorded(bs []soakBuild, f func(soakBuild) float64) []float64 {
	var v []float64
	for _, b := range bs {
		if x := f(b); !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	return v
}

// soakChartSection marks the soak's chart.
const soakChartSection = "soak"

// soakCharts draws the soaks: hit rate and the daemon's state against the
// build count, the limit as a dashed line.
func soakCharts(dir string, ss []soak, gcLimit string) ([]Chart, error) {
	if len(ss) == 0 {
		return nil, nil
	}
	d, err := soakChart(ss, gcLimit)
	if err != nil {
		return nil, fmt.Errorf("soak chart: %w", err)
	}
	c := Chart{Title: "A daemon's cache over builds in a row", Base: "soak", Section: soakChartSection}
	if err := saveBoth(d, dir, &c); err != nil {
		return nil, err
	}
	return []Chart{c}, nil
}

func soakChart(ss []soak, gcLimit string) (*drawing, error) {
	hits := newPlot("Layer cache hit rate of each build", "% of the steps looked up", false)
	state := newPlot("The daemon's state as each run started, and after it", "MB on disk", false)
	leg := newLegend()
	top, last := 0.0, 0
	marked := map[string]bool{} // the changes the legend has a mark for
	for i, s := range ss {
		col := palette[(i+2)%len(palette)]
		var hr, st, before plotter.XYs
		for _, b := range s.builds {
			if !math.IsNaN(b.hitRate) {
				hr = append(hr, plotter.XY{X: float64(b.n), Y: hitPercent(b)})
			}
			if !math.IsNaN(b.stateMB) {
				st = append(st, plotter.XY{X: float64(b.n), Y: b.stateMB})
				top = max(top, b.stateMB)
			}
			if !math.IsNaN(b.stateBeforeMB) {
				before = append(before, plotter.XY{X: float64(b.n), Y: b.stateBeforeMB})
				top = max(top, b.stateBeforeMB)
			}
			last = max(last, b.n)
		}
		style := draw.LineStyle{Color: col, Width: vg.Points(2)}
		for _, panel := range []struct {
			p   *plot.Plot
			xys plotter.XYs
		}{{hits, hr}, {state, st}} {
			if len(panel.xys) == 0 {
				continue
			}
			l, pts, err := plotter.NewLinePoints(panel.xys)
			if err != nil {
				return nil, err
			}
			l.LineStyle, pts.Color, pts.Shape = style, col, draw.CircleGlyph{}
			if panel.p == hits && len(s.changes()) > 0 {
				// A mix's builds: each change its own mark.
				panel.p.Add(l)
				leg.Add(s.name(), l)
				if err := changeMarks(hits, leg, s, col, marked); err != nil {
					return nil, err
				}
				continue
			}
			panel.p.Add(l, pts)
			if panel.p == hits {
				leg.Add(s.name(), l, pts)
			}
		}
		if len(before) > 0 {
			l, pts, err := plotter.NewLinePoints(before)
			if err != nil {
				return nil, err
			}
			l.LineStyle = draw.LineStyle{Color: col, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(2), vg.Points(2)}}
			pts.Color, pts.Shape = col, draw.RingGlyph{}
			state.Add(l, pts)
			leg.Add("as the run started", l, pts)
		}
	}
	if q, err := resource.ParseQuantity(gcLimit); err == nil && gcLimit != "" {
		mb := float64(q.Value()) / 1e6
		l, err := plotter.NewLine(plotter.XYs{{X: 1, Y: mb}, {X: float64(max(last, 2)), Y: mb}})
		if err != nil {
			return nil, err
		}
		l.LineStyle = draw.LineStyle{Color: separatorColor, Width: vg.Points(1.5), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}
		state.Add(l)
		leg.Add("--gc-limit "+gcLimit, l)
		top = max(top, mb)
	}
	for _, p := range []*plot.Plot{hits, state} {
		p.X.Label.Text = "build (1: the cold one)"
		p.X.Min = 0.5
		p.X.Max = float64(last) + 0.5
		p.X.Tick.Marker = buildTicks(last)
	}
	hits.Y.Max = 105 // newPlot starts both at 0
	headroom(state, max(top, 1))
	return &drawing{panels: []*plot.Plot{hits, state}, leg: leg}, nil
}

// buildTicks numbers the builds on the x axis in whole steps: 1, then
// every step's multiple up to last, some ten labels at most.
func buildTicks(last int) plot.ConstantTicks {
	step := 1
	for _, s := range []int{1, 2, 5, 10, 20, 50, 100, 200} {
		step = s
		if last/s <= 10 {
			break
		}
	}
	ticks := []plot.Tick{{Value: 1, Label: "1"}}
	for n := step; n <= last; n += step {
		if n > 1 {
			ticks = append(ticks, plot.Tick{Value: float64(n), Label: strconv.Itoa(n)})
		}
	}
	return ticks
}

// changeGlyphs mark a mix's builds by the change their commit made.
var changeGlyphs = map[string]draw.GlyphDrawer{
	"source": draw.CircleGlyph{}, "deps": draw.TriangleGlyph{}, "base": draw.SquareGlyph{}, "none": draw.CrossGlyph{},
}

// changeMarks adds a soak's hit rates to p, each build marked by the
// change of the mix it made, and each change once to the legend.
func changeMarks(p *plot.Plot, leg *plot.Legend, s soak, col color.Color, marked map[string]bool) error {
	for _, c := range append(s.changes(), "") {
		var xys plotter.XYs
		for _, b := range ofChange(s.builds, c) {
			if !math.IsNaN(b.hitRate) {
				xys = append(xys, plotter.XY{X: float64(b.n), Y: hitPercent(b)})
			}
		}
		if len(xys) == 0 {
			continue
		}
		pts, err := plotter.NewScatter(xys)
		if err != nil {
			return err
		}
		pts.Color, pts.Radius = col, vg.Points(3.5)
		pts.Shape = cmp.Or(changeGlyphs[c], draw.GlyphDrawer(draw.PlusGlyph{}))
		label := "change " + c
		if c == "" {
			pts.Shape, label = draw.RingGlyph{}, "cold build"
		}
		p.Add(pts)
		if !marked[c] {
			marked[c] = true
			mark := *pts
			mark.Color = separatorColor
			leg.Add(label, &mark)
		}
	}
	return nil
}
