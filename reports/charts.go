package reports

import (
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/stats"
)

// Chart is a chart written as PNG and SVG.
type Chart struct {
	Title string
	// Base is the file name without extension; Base+".png" and Base+".svg" exist.
	Base string
	// Section is the workload, with its network profile unless local, the
	// chart shows (stats.Key.Where; "" for a trend).
	Section string
	// Wide is set when the chart is too wide to be shrunk to a page's
	// width and stay legible: the HTML page lets it scroll instead.
	Wide bool
}

// palette holds colours that stay apart (Tableau 10, then three more), as
// many as the longest stack has parts.
var palette = []color.RGBA{
	{0x4e, 0x79, 0xa7, 0xff}, {0xf2, 0x8e, 0x2b, 0xff}, {0x59, 0xa1, 0x4f, 0xff}, {0xe1, 0x57, 0x59, 0xff},
	{0x76, 0xb7, 0xb2, 0xff}, {0xed, 0xc9, 0x48, 0xff}, {0xb0, 0x7a, 0xa1, 0xff}, {0xff, 0x9d, 0xa7, 0xff},
	{0x9c, 0x75, 0x5f, 0xff}, {0xba, 0xb0, 0xac, 0xff}, {0x1f, 0x3b, 0x5c, 0xff}, {0x8c, 0xd1, 0x7d, 0xff},
	{0x59, 0x59, 0x59, 0xff},
}

var (
	coldColor = palette[0]
	warmColor = palette[1]
	// builderColors tell builders apart in the builders chart; they skip
	// the cold and warm colours of the other charts.
	builderColors  = []color.RGBA{palette[2], palette[3], palette[6], palette[10], palette[4], palette[8], palette[5], palette[12]}
	separatorColor = color.Gray{Y: 0x90}
)

// headroom raises the top of the Y axis so that the labels above the bars
// stay inside the plot.
func headroom(p *plot.Plot, top float64) {
	p.Y.Max = top * 1.12
}

// Chart size (the least a chart gets; charts with many columns grow
// wider), and the strip on the right that holds the legend (outside the
// plot, so that it never covers a bar; wider when a legend entry needs it).
const (
	chartWidth  = 20 * vg.Centimeter
	chartHeight = 11 * vg.Centimeter
	legendWidth = 3.4 * vg.Centimeter
	// yAxisWidth is what the Y axis, its label and ticks take from a
	// plot's width, give or take.
	yAxisWidth = 1.9 * vg.Centimeter
	// wideChart is the width beyond which a chart shrunk to a page's
	// width (1200 pixels) would have too small a text.
	wideChart = 32 * vg.Centimeter
	// legendTop is the legend's distance from the top: level with the
	// plot's top, below its title.
	legendTop = vg.Length(26) // points: twice the title font size
)

func newLegend() *plot.Legend {
	l := plot.NewLegend()
	l.Top = true
	l.Left = true
	l.TextStyle.Font.Size = font.Length(9)
	return &l
}

// drawing is a chart ready to be saved: one or more plots (panels) stacked
// top to bottom, and a legend on their right.
type drawing struct {
	panels []*plot.Plot
	leg    *plot.Legend
	// plotWidth is the width the panels need (Y axis included), 0 when
	// chartWidth will do; panelHeight is each panel's height, 0 for
	// chartHeight.
	plotWidth, panelHeight vg.Length
}

func single(p *plot.Plot, leg *plot.Legend, plotWidth vg.Length) *drawing {
	return &drawing{panels: []*plot.Plot{p}, leg: leg, plotWidth: plotWidth}
}

// legendSize is the room a legend takes: its entries' width plus a margin,
// at least legendWidth, and their height.
func legendSize(leg *plot.Legend) (w, h vg.Length) {
	r := leg.Rectangle(draw.Canvas{})
	return max(legendWidth, r.Max.X-r.Min.X+vg.Points(20)), r.Max.Y - r.Min.Y
}

// size is the whole image's: panels and legend.
func (d *drawing) size() (w, h, legendW vg.Length) {
	legendW, legendH := legendSize(d.leg)
	// A panel is at least as wide as its title, which would otherwise run
	// off the canvas (a long workload name over a chart of few builders).
	plotW := d.plotWidth
	for _, p := range d.panels {
		plotW = max(plotW, p.Title.TextStyle.Width(p.Title.Text)+vg.Points(12))
	}
	w = max(chartWidth, plotW+legendW)
	ph := d.panelHeight
	if ph == 0 {
		ph = chartHeight
	}
	h = ph * vg.Length(max(1, len(d.panels)))
	h = max(h, legendH+legendTop+vg.Points(12))
	return w, h, legendW
}

// panelMargin is the room above each panel's title.
const panelMargin = vg.Length(6)

// save writes the panels and their legend side by side, as PNG or SVG (by
// the file's extension).
func save(d *drawing, path string) error {
	w, h, legendW := d.size()
	var c interface {
		vg.CanvasSizer
		io.WriterTo
	}
	switch filepath.Ext(path) {
	case ".png":
		c = vgimg.PngCanvas{Canvas: vgimg.New(w, h)}
	case ".svg":
		c = vgsvg.New(w, h)
	default:
		return fmt.Errorf("unknown chart format %q", filepath.Ext(path))
	}
	dc := draw.New(c)
	ph := h / vg.Length(len(d.panels))
	for i, p := range d.panels {
		// A margin above each panel keeps its title off the edge and off
		// the panel above.
		p.Draw(draw.Crop(dc, 0, -legendW, h-vg.Length(i+1)*ph, -vg.Length(i)*ph-panelMargin))
	}
	d.leg.Draw(draw.Crop(dc, w-legendW+vg.Points(6), 0, 0, -legendTop))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// saveBoth writes a drawing as PNG and SVG and tells whether it is wide.
func saveBoth(d *drawing, dir string, c *Chart) error {
	for _, ext := range []string{".png", ".svg"} {
		if err := save(d, filepath.Join(dir, c.Base+ext)); err != nil {
			return fmt.Errorf("save %s%s: %w", c.Base, ext, err)
		}
	}
	w, _, _ := d.size()
	c.Wide = w > wideChart
	return nil
}

// Charts renders every chart of a report into dir: per section (a
// workload under a network profile) the builders side by side (when more
// than one ran), wall time, pipeline tasks and phases.
func Charts(dir string, rows []stats.Stat) ([]Chart, error) {
	var charts []Chart
	for _, w := range sections(rows) {
		ws := filterSection(rows, w)
		for _, mk := range []func(string, []stats.Stat) (*drawing, Chart, error){buildersChart, wallChart, taskChart, phaseChart} {
			d, c, err := mk(w, ws)
			if err != nil {
				return nil, fmt.Errorf("chart for %s: %w", w, err)
			}
			if d == nil {
				continue
			}
			c.Section = w
			if err := saveBoth(d, dir, &c); err != nil {
				return nil, err
			}
			charts = append(charts, c)
		}
	}
	// Across network profiles, per workload: no section of its own.
	for _, w := range networkGroups(rows) {
		d, c, err := networkChart(w, filterNetworkGroup(rows, w))
		if err != nil {
			return nil, fmt.Errorf("network chart for %s: %w", w, err)
		}
		if d == nil {
			continue
		}
		if err := saveBoth(d, dir, &c); err != nil {
			return nil, err
		}
		charts = append(charts, c)
	}
	return charts, nil
}

// sections lists the workloads of rows, each under each network profile
// it ran under ("small", "small@wan"), in the order they ran.
func sections(rows []stats.Stat) []string {
	return stats.Distinct(rows, func(s stats.Stat) string { return s.Where() })
}

func strategies(rows []stats.Stat) []string {
	return stats.Distinct(rows, func(s stats.Stat) string { return s.Strategy })
}

// builderNames lists the builders of rows in the order the benchmark ran them.
func builderNames(rows []stats.Stat) []string {
	return stats.Distinct(rows, func(s stats.Stat) string { return s.Builder })
}

// filterRows keeps the rows for which keep is true, in order.
func filterRows(rows []stats.Stat, keep func(stats.Stat) bool) []stats.Stat {
	var out []stats.Stat
	for _, s := range rows {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}

// networkGroups lists what the network comparison compares across
// profiles: each workload, once for the runs the harness created ("small")
// and once for those a push event started ("small~trigger"), which must
// never share a chart or a table.
func networkGroups(rows []stats.Stat) []string {
	return stats.Distinct(rows, networkGroup)
}

// networkGroup is the network comparison a row belongs to: its workload
// with its change pattern and start, under every profile. Without the
// change, two changes' rows under one profile would fight for one cell.
func networkGroup(s stats.Stat) string {
	return stats.Key{Coordinates: results.Coordinates{Workload: s.Workload, Change: s.Change, Start: s.Start, Concurrency: s.Concurrency}}.Where()
}

// filterNetworkGroup keeps the rows of one network comparison, under every
// profile.
func filterNetworkGroup(rows []stats.Stat, group string) []stats.Stat {
	return filterRows(rows, func(s stats.Stat) bool { return networkGroup(s) == group })
}

// filterSection keeps the rows of one report section (workload@profile).
func filterSection(rows []stats.Stat, where string) []stats.Stat {
	return filterRows(rows, func(s stats.Stat) bool { return s.Where() == where })
}

func filterBuilder(rows []stats.Stat, b string) []stats.Stat {
	return filterRows(rows, func(s stats.Stat) bool { return s.Builder == b })
}

// find returns the row of a builder, strategy and cache state that has
// successful runs.
func find(rows []stats.Stat, builder, strategy string, cache results.CacheState) (stats.Stat, bool) {
	for _, s := range rows {
		if s.Builder == builder && s.Strategy == strategy && s.Cache == cache && s.N > 0 {
			return s, true
		}
	}
	return stats.Stat{}, false
}

// newPlot makes a plot with horizontal grid lines (and vertical ones where
// the X axis is not a list of categories).
func newPlot(title, ylabel string, verticalGrid bool) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = font.Length(13)
	p.Y.Label.Text = ylabel
	p.Y.Min = 0
	p.Y.Tick.Marker = plot.DefaultTicks{}
	g := plotter.NewGrid()
	if !verticalGrid {
		g.Vertical.Color = nil
	}
	p.Add(g)
	return p
}

// xColumn is one place on a categorical X axis: its label, and the builder
// whose group it belongs to.
type xColumn struct {
	builder string
	label   string
}

// layoutX puts columns at 0, 1, ... and labels each under it. With more
// than one builder, each builder's name is written once under its columns'
// labels, a blank line below them, and a thin line parts one builder's columns from the next'. It
// returns the width the plot needs so that labels stay apart, at least
// minCol per column.
func layoutX(p *plot.Plot, cols []xColumn, minCol vg.Length) vg.Length {
	sty := p.X.Tick.Label
	lines := 0
	colW := minCol
	for _, c := range cols {
		lines = max(lines, strings.Count(c.label, "\n")+1)
		colW = max(colW, sty.Width(c.label)+vg.Points(12))
	}
	type group struct {
		name        string
		first, last int
	}
	var groups []group
	for i, c := range cols {
		if len(groups) == 0 || groups[len(groups)-1].name != c.builder {
			groups = append(groups, group{name: c.builder, first: i})
		}
		groups[len(groups)-1].last = i
	}
	ticks := make([]plot.Tick, 0, len(cols)+len(groups))
	for i, c := range cols {
		ticks = append(ticks, plot.Tick{Value: float64(i), Label: c.label})
	}
	if len(groups) > 1 {
		var seps []float64
		for i, g := range groups {
			ticks = append(ticks, plot.Tick{Value: float64(g.first+g.last) / 2, Label: strings.Repeat("\n", lines+1) + g.name})
			colW = max(colW, (sty.Width(g.name)+vg.Points(16))/vg.Length(g.last-g.first+1))
			if i > 0 {
				seps = append(seps, float64(g.first)-0.5)
			}
		}
		p.Add(vlines(seps))
	}
	p.X.Tick.Width, p.X.Tick.Length, p.X.Width = 0, 0, 0
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max = -0.5, float64(len(cols))-0.5
	return vg.Length(len(cols))*colW + yAxisWidth
}

// vlines draws vertical lines across the whole plot at the given X values.
type vlines []float64

func (v vlines) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	sty := draw.LineStyle{Color: separatorColor, Width: vg.Points(0.8), Dashes: []vg.Length{vg.Points(3), vg.Points(3)}}
	for _, x := range v {
		c.StrokeLine2(sty, trX(x), c.Min.Y, trX(x), c.Max.Y)
	}
}

// barSpec is one series of bars with whiskers and n labels: median at X,
// whiskers from min to max.
type barSpec struct {
	xs    []float64
	stats []stats.Stat
}

func (b *barSpec) add(x float64, st stats.Stat) {
	b.xs = append(b.xs, x)
	b.stats = append(b.stats, st)
}

// addBars draws medians as bars of the given width and colour, min-max
// whiskers and "n=" above each; it returns the bars (for the legend), nil
// when there is nothing to draw.
func addBars(p *plot.Plot, b barSpec, width vg.Length, col color.Color) (*plotter.BarChart, error) {
	if len(b.xs) == 0 {
		return nil, nil
	}
	var pts plotter.XYs
	var errs plotter.YErrors
	var labels plotter.XYLabels
	for i, st := range b.stats {
		x := b.xs[i]
		pts = append(pts, plotter.XY{X: x, Y: st.Median})
		errs = append(errs, struct{ Low, High float64 }{st.Median - st.Min, st.Max - st.Median})
		labels.XYs = append(labels.XYs, plotter.XY{X: x, Y: st.Max})
		labels.Labels = append(labels.Labels, fmt.Sprintf("n=%d", st.N))
	}
	// One bar chart per bar: a BarChart puts its values at consecutive
	// X, and these need not be.
	var first *plotter.BarChart
	for i, st := range b.stats {
		bars, err := plotter.NewBarChart(plotter.Values{st.Median}, width)
		if err != nil {
			return nil, err
		}
		bars.XMin = b.xs[i]
		bars.Color = col
		bars.LineStyle.Width = 0
		p.Add(bars)
		if first == nil {
			first = bars
		}
	}
	whiskers, err := plotter.NewYErrorBars(struct {
		plotter.XYs
		plotter.YErrors
	}{pts, errs})
	if err != nil {
		return nil, err
	}
	whiskers.CapWidth = min(vg.Points(8), width*0.6)
	ns, err := plotter.NewLabels(labels)
	if err != nil {
		return nil, err
	}
	for i := range ns.TextStyle {
		ns.TextStyle[i].XAlign = -0.5
		ns.TextStyle[i].Font.Size = font.Length(8)
	}
	ns.Offset = vg.Point{Y: vg.Points(3)}
	p.Add(whiskers, ns)
	return first, nil
}

// wallChart: median wall time per builder and strategy, cold and warm
// side by side, whiskers from min to max, n above each bar.
func wallChart(w string, rows []stats.Stat) (*drawing, Chart, error) {
	builders := builderNames(rows)
	type place struct{ builder, strategy string }
	var places []place
	var cols []xColumn
	for _, b := range builders {
		for _, s := range strategies(filterBuilder(rows, b)) {
			places = append(places, place{b, s})
			cols = append(cols, xColumn{builder: b, label: s})
		}
	}
	leg := newLegend()
	p := newPlot(fmt.Sprintf("%s: PipelineRun wall time (median, whiskers min-max)", w), "seconds", false)
	const shift = 0.2
	for pi, cache := range []results.CacheState{results.Cold, results.Warm} {
		var spec barSpec
		for i, pl := range places {
			if st, ok := find(rows, pl.builder, pl.strategy, cache); ok {
				spec.add(float64(i)-shift+2*shift*float64(pi), st)
			}
		}
		bars, err := addBars(p, spec, vg.Points(22), map[results.CacheState]color.Color{results.Cold: coldColor, results.Warm: warmColor}[cache])
		if err != nil {
			return nil, Chart{}, err
		}
		if bars != nil {
			leg.Add(string(cache), bars)
		}
	}
	// Two bars of 22 points, 0.4 apart: a column of at least 70 points.
	width := layoutX(p, cols, vg.Points(70))
	top := 0.0
	for _, st := range rows {
		top = max(top, st.Max)
	}
	headroom(p, top)
	c := Chart{Title: w + ": wall time per strategy, cold and warm", Base: results.Slug(w) + "-wall"}
	if len(builders) > 1 {
		c.Title = w + ": wall time per builder and strategy, cold and warm"
	}
	return single(p, leg, width), c, nil
}

// buildersChart puts builders side by side: a group of bars per strategy,
// a bar per builder, warm runs above and cold runs below on the same
// scale. Only drawn when more than one builder ran.
func buildersChart(w string, rows []stats.Stat) (*drawing, Chart, error) {
	builders := builderNames(rows)
	if len(builders) < 2 {
		return nil, Chart{}, nil
	}
	strats := strategies(rows)
	nb := float64(len(builders))
	// A group spans 0.8 of a strategy's place; each builder a slot of it.
	slot := 0.8 / nb
	const barPoints, gapPoints = 24, 8
	minPlace := vg.Points((barPoints + gapPoints) * nb / 0.8)
	// The legend is made first: its width decides the plot's, and so the bars'.
	leg := newLegend()
	for j, b := range builders {
		leg.Add(b, &plotter.BarChart{Color: builderColors[j%len(builderColors)]})
	}
	d := &drawing{leg: leg, panelHeight: 9 * vg.Centimeter}
	top := 0.0
	for _, st := range rows {
		top = max(top, st.Max)
	}
	var cols []xColumn
	for _, s := range strats {
		cols = append(cols, xColumn{label: s})
	}
	for _, cache := range []results.CacheState{results.Warm, results.Cold} {
		title := fmt.Sprintf("%s, warm runs: wall time per builder and strategy (median, whiskers min-max)", w)
		if cache == results.Cold {
			title = w + ", cold runs: the first of a round, right after the cache was reset"
		}
		p := newPlot(title, "seconds", false)
		width := layoutX(p, cols, minPlace)
		d.plotWidth = max(d.plotWidth, width)
		// The bar fills most of its slot, as wide as the chart allows.
		total, _, legendW := d.size()
		place := (total - legendW - yAxisWidth) / vg.Length(len(strats))
		barW := min(place*vg.Length(slot)*0.8, vg.Points(40))
		for j, b := range builders {
			var spec barSpec
			for i, s := range strats {
				if st, ok := find(rows, b, s, cache); ok {
					spec.add(float64(i)+(float64(j)-(nb-1)/2)*slot, st)
				}
			}
			if _, err := addBars(p, spec, barW, builderColors[j%len(builderColors)]); err != nil {
				return nil, Chart{}, err
			}
		}
		headroom(p, top)
		d.panels = append(d.panels, p)
	}
	return d, Chart{Title: w + ": builders side by side, per strategy: warm runs (top) and cold runs (bottom)", Base: results.Slug(w) + "-builders"}, nil
}

// stackedChart draws one stacked bar per builder, strategy and cache state.
func stackedChart(title string, rows []stats.Stat, parts []string, value func(stats.Stat, string) float64) (*drawing, error) {
	var stacks []stats.Stat
	var cols []xColumn
	for _, b := range builderNames(rows) {
		for _, s := range strategies(filterBuilder(rows, b)) {
			for _, ph := range []results.CacheState{results.Cold, results.Warm} {
				if st, ok := find(rows, b, s, ph); ok {
					stacks = append(stacks, st)
					cols = append(cols, xColumn{builder: b, label: s + "\n" + string(ph)})
				}
			}
		}
	}
	if len(stacks) == 0 {
		return nil, nil
	}
	leg := newLegend()
	p := newPlot(title, "seconds (median of each part)", false)
	var below *plotter.BarChart
	var drawn []*plotter.BarChart
	var names []string
	for i, part := range parts {
		vals := make(plotter.Values, len(stacks))
		any := false
		for j, st := range stacks {
			vals[j] = value(st, part)
			any = any || vals[j] > 0
		}
		if !any {
			continue
		}
		bars, err := plotter.NewBarChart(vals, vg.Points(26))
		if err != nil {
			return nil, err
		}
		bars.Color = palette[i%len(palette)]
		bars.LineStyle.Width = 0
		if below != nil {
			bars.StackOn(below)
		}
		below = bars
		p.Add(bars)
		drawn, names = append(drawn, bars), append(names, part)
	}
	// Top of the legend = top of the stack.
	for i := len(drawn) - 1; i >= 0; i-- {
		leg.Add(names[i], drawn[i])
	}
	width := layoutX(p, cols, vg.Points(40))
	top := 0.0
	for _, st := range stacks {
		sum := 0.0
		for _, part := range parts {
			sum += value(st, part)
		}
		top = max(top, sum)
	}
	headroom(p, top)
	return single(p, leg, width), nil
}

// TaskParts are the parts of a run in the task breakdown.
var TaskParts = []string{"fetch-source", "build-push", "overhead"}

func taskChart(w string, rows []stats.Stat) (*drawing, Chart, error) {
	d, err := stackedChart(w+": where a run's time goes (Tekton tasks)", rows, TaskParts, func(s stats.Stat, part string) float64 { return s.Tasks[part] })
	return d, Chart{Title: w + ": time per pipeline task (overhead: wall time outside both tasks)", Base: results.Slug(w) + "-tasks"}, err
}

func phaseChart(w string, rows []stats.Stat) (*drawing, Chart, error) {
	d, err := stackedChart(w+": phases of a run (the builder's phases from its log)", rows, stats.BreakdownParts, func(s stats.Stat, part string) float64 { return s.Breakdown[part] })
	return d, Chart{Title: w + ": phases of a run: scheduling, clone, the builder's phases from its log (" + strings.Join(results.BuildPhases, ", ") + "), other", Base: results.Slug(w) + "-phases"}, err
}

// networkColors tell network profiles apart in the network chart.
var networkColors = []color.RGBA{palette[4], palette[0], palette[3], palette[8], palette[6], palette[2]}

// networkNames lists the network profiles of rows in the order they ran.
func networkNames(rows []stats.Stat) []string {
	return stats.Distinct(rows, func(s stats.Stat) string { return s.Network })
}

// NetworkChart draws, for one workload run under two or more network
// profiles, each cache strategy's warm speedup (against the same builder
// without cache, under the same profile) with a bar per profile and its
// 95% interval as whiskers: how much a cache saves as the upstream
// registry gets farther away. nil when fewer than two profiles ran.
func networkChart(workload string, rows []stats.Stat) (*drawing, Chart, error) {
	nets := networkNames(rows)
	if len(nets) < 2 {
		return nil, Chart{}, nil
	}
	type place struct{ builder, strategy string }
	var places []place
	var cols []xColumn
	for _, b := range builderNames(rows) {
		for _, s := range strategies(filterBuilder(rows, b)) {
			if s == stats.Baseline {
				continue
			}
			places = append(places, place{b, s})
			cols = append(cols, xColumn{builder: b, label: s})
		}
	}
	if len(places) == 0 {
		return nil, Chart{}, nil
	}
	nn := float64(len(nets))
	slot := 0.8 / nn
	leg := newLegend()
	p := newPlot(workload+": warm runs against the same builder without cache, per upstream network", "× faster (whiskers: 95% interval)", false)
	width := layoutX(p, cols, vg.Points((24+8)*nn/0.8))
	per := (max(chartWidth, width+legendWidth) - legendWidth - yAxisWidth) / vg.Length(len(places))
	barW := min(per*vg.Length(slot)*0.8, vg.Points(40))
	top := 1.0
	for j, net := range nets {
		col := networkColors[j%len(networkColors)]
		var first *plotter.BarChart
		var pts plotter.XYs
		var errs plotter.YErrors
		for i, pl := range places {
			var st stats.Stat
			ok := false
			for _, s := range rows {
				if s.Network == net && s.Builder == pl.builder && s.Strategy == pl.strategy && s.Cache == results.Warm && s.N > 0 && s.Speedup > 0 {
					st, ok = s, true
				}
			}
			if !ok {
				continue
			}
			x := float64(i) + (float64(j)-(nn-1)/2)*slot
			bars, err := plotter.NewBarChart(plotter.Values{st.Speedup}, barW)
			if err != nil {
				return nil, Chart{}, err
			}
			bars.XMin, bars.Color, bars.LineStyle.Width = x, col, 0
			p.Add(bars)
			if first == nil {
				first = bars
			}
			top = max(top, st.Speedup)
			if st.SpeedupCI.OK {
				pts = append(pts, plotter.XY{X: x, Y: st.Speedup})
				errs = append(errs, struct{ Low, High float64 }{st.Speedup - st.SpeedupCI.Lo, st.SpeedupCI.Hi - st.Speedup})
				top = max(top, st.SpeedupCI.Hi)
			}
		}
		if len(pts) > 0 {
			whiskers, err := plotter.NewYErrorBars(struct {
				plotter.XYs
				plotter.YErrors
			}{pts, errs})
			if err != nil {
				return nil, Chart{}, err
			}
			whiskers.CapWidth = min(vg.Points(8), barW*0.6)
			p.Add(whiskers)
		}
		if first != nil {
			leg.Add(net, first)
		}
	}
	// The line at 1×: a cache that saves nothing.
	one, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: 1}, {X: float64(len(places)) - 0.5, Y: 1}})
	if err != nil {
		return nil, Chart{}, err
	}
	one.LineStyle = draw.LineStyle{Color: separatorColor, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}
	p.Add(one)
	leg.Add("1× (no saving)", one)
	headroom(p, top)
	return single(p, leg, width), Chart{Title: workload + ": warm speedup of each cache per upstream network profile", Base: results.Slug(workload) + "-networks"}, nil
}
