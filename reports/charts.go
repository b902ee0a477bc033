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
)

// headroom raises the top of the Y axis so that the labels above the bars
// stay inside the plot.
func headroom(p *plot.Plot, top float64) {
	p.Y.Max = top * 1.12
}

// Chart size, and the strip on the right that holds the legend (outside
// the plot, so that it never covers a bar).
const (
	chartWidth  = 20 * vg.Centimeter
	chartHeight = 11 * vg.Centimeter
	legendWidth = 3.4 * vg.Centimeter
)

func newLegend() *plot.Legend {
	l := plot.NewLegend()
	l.Top = true
	l.Left = true
	l.TextStyle.Font.Size = font.Length(9)
	return &l
}

// save writes the plot and its legend side by side, as PNG or SVG (by the
// file's extension).
func save(p *plot.Plot, leg *plot.Legend, path string) error {
	var c interface {
		vg.CanvasSizer
		io.WriterTo
	}
	switch filepath.Ext(path) {
	case ".png":
		c = vgimg.PngCanvas{Canvas: vgimg.New(chartWidth, chartHeight)}
	case ".svg":
		c = vgsvg.New(chartWidth, chartHeight)
	default:
		return fmt.Errorf("unknown chart format %q", filepath.Ext(path))
	}
	dc := draw.New(c)
	p.Draw(draw.Crop(dc, 0, -legendWidth, 0, 0))
	leg.Draw(draw.Crop(dc, chartWidth-legendWidth+vg.Points(6), 0, 0, -p.Title.TextStyle.Font.Size*2))
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

// Charts renders every chart of a report into dir.
func Charts(dir string, rows []stats.Stat) ([]Chart, error) {
	var charts []Chart
	for _, w := range workloads(rows) {
		ws := filterWorkload(rows, w)
		for _, mk := range []func(string, []stats.Stat) (*plot.Plot, *plot.Legend, Chart, error){wallChart, taskChart, phaseChart} {
			p, leg, c, err := mk(w, ws)
			if err != nil {
				return nil, fmt.Errorf("chart for %s: %w", w, err)
			}
			if p == nil {
				continue
			}
			for _, ext := range []string{".png", ".svg"} {
				if err := save(p, leg, filepath.Join(dir, c.Base+ext)); err != nil {
					return nil, fmt.Errorf("save %s%s: %w", c.Base, ext, err)
				}
			}
			charts = append(charts, c)
		}
	}
	return charts, nil
}

func workloads(rows []stats.Stat) []string {
	return stats.Distinct(rows, func(s stats.Stat) string { return s.Workload })
}

func strategies(rows []stats.Stat) []string {
	return stats.Distinct(rows, func(s stats.Stat) string { return s.Strategy })
}

func filterWorkload(rows []stats.Stat, w string) []stats.Stat {
	var out []stats.Stat
	for _, s := range rows {
		if s.Workload == w {
			out = append(out, s)
		}
	}
	return out
}

func find(rows []stats.Stat, strategy string, cache results.CacheState) (stats.Stat, bool) {
	for _, s := range rows {
		if s.Strategy == strategy && s.Cache == cache && s.N > 0 {
			return s, true
		}
	}
	return stats.Stat{}, false
}

func newPlot(title, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = font.Length(13)
	p.Y.Label.Text = ylabel
	p.Y.Min = 0
	p.Y.Tick.Marker = plot.DefaultTicks{}
	p.Add(plotter.NewGrid())
	return p
}

// wallChart: median wall time per strategy, cold and warm side by side,
// whiskers from min to max, n above each bar.
func wallChart(w string, rows []stats.Stat) (*plot.Plot, *plot.Legend, Chart, error) {
	strats := strategies(rows)
	leg := newLegend()
	p := newPlot(fmt.Sprintf("%s: PipelineRun wall time (median, whiskers min-max)", w), "seconds")
	const shift = 0.2
	for pi, cache := range []results.CacheState{results.Cold, results.Warm} {
		vals := make(plotter.Values, len(strats))
		var pts plotter.XYs
		var errs plotter.YErrors
		var labels plotter.XYLabels
		x0 := -shift + 2*shift*float64(pi)
		for i, s := range strats {
			st, ok := find(rows, s, cache)
			if !ok {
				continue
			}
			vals[i] = st.Median
			x := float64(i) + x0
			pts = append(pts, plotter.XY{X: x, Y: st.Median})
			errs = append(errs, struct{ Low, High float64 }{st.Median - st.Min, st.Max - st.Median})
			labels.XYs = append(labels.XYs, plotter.XY{X: x, Y: st.Max})
			labels.Labels = append(labels.Labels, fmt.Sprintf("n=%d", st.N))
		}
		if len(pts) == 0 {
			continue
		}
		bars, err := plotter.NewBarChart(vals, vg.Points(22))
		if err != nil {
			return nil, nil, Chart{}, err
		}
		bars.XMin = x0
		bars.Color = map[results.CacheState]color.Color{results.Cold: coldColor, results.Warm: warmColor}[cache]
		bars.LineStyle.Width = 0
		whiskers, err := plotter.NewYErrorBars(struct {
			plotter.XYs
			plotter.YErrors
		}{pts, errs})
		if err != nil {
			return nil, nil, Chart{}, err
		}
		whiskers.CapWidth = vg.Points(8)
		ns, err := plotter.NewLabels(labels)
		if err != nil {
			return nil, nil, Chart{}, err
		}
		for i := range ns.TextStyle {
			ns.TextStyle[i].XAlign = -0.5
			ns.TextStyle[i].Font.Size = font.Length(8)
		}
		ns.Offset = vg.Point{Y: vg.Points(3)}
		p.Add(bars, whiskers, ns)
		leg.Add(string(cache), bars)
	}
	p.NominalX(strats...)
	p.X.Min, p.X.Max = -0.6, float64(len(strats))-0.4
	top := 0.0
	for _, st := range rows {
		top = max(top, st.Max)
	}
	headroom(p, top)
	return p, leg, Chart{Title: w + ": wall time per strategy, cold and warm", Base: w + "-wall"}, nil
}

// stackedChart draws one stacked bar per strategy and cache state.
func stackedChart(title string, rows []stats.Stat, parts []string, value func(stats.Stat, string) float64) (*plot.Plot, *plot.Legend, error) {
	var cols []stats.Stat
	var names []string
	for _, s := range strategies(rows) {
		for _, ph := range []results.CacheState{results.Cold, results.Warm} {
			if st, ok := find(rows, s, ph); ok {
				cols = append(cols, st)
				names = append(names, s+"\n"+string(ph))
			}
		}
	}
	if len(cols) == 0 {
		return nil, nil, nil
	}
	leg := newLegend()
	p := newPlot(title, "seconds (median of each part)")
	var below *plotter.BarChart
	var drawn []*plotter.BarChart
	var names2 []string
	for i, part := range parts {
		vals := make(plotter.Values, len(cols))
		any := false
		for j, st := range cols {
			vals[j] = value(st, part)
			any = any || vals[j] > 0
		}
		if !any {
			continue
		}
		bars, err := plotter.NewBarChart(vals, vg.Points(26))
		if err != nil {
			return nil, nil, err
		}
		bars.Color = palette[i%len(palette)]
		bars.LineStyle.Width = 0
		if below != nil {
			bars.StackOn(below)
		}
		below = bars
		p.Add(bars)
		drawn, names2 = append(drawn, bars), append(names2, part)
	}
	// Top of the legend = top of the stack.
	for i := len(drawn) - 1; i >= 0; i-- {
		leg.Add(names2[i], drawn[i])
	}
	p.NominalX(names...)
	top := 0.0
	for _, st := range cols {
		sum := 0.0
		for _, part := range parts {
			sum += value(st, part)
		}
		top = max(top, sum)
	}
	headroom(p, top)
	return p, leg, nil
}

// TaskParts are the parts of a run in the task breakdown.
var TaskParts = []string{"fetch-source", "build-push", "overhead"}

func taskChart(w string, rows []stats.Stat) (*plot.Plot, *plot.Legend, Chart, error) {
	p, leg, err := stackedChart(w+": where a run's time goes (Tekton tasks)", rows, TaskParts, func(s stats.Stat, part string) float64 { return s.Tasks[part] })
	return p, leg, Chart{Title: w + ": time per pipeline task (overhead: wall time outside both tasks)", Base: w + "-tasks"}, err
}

func phaseChart(w string, rows []stats.Stat) (*plot.Plot, *plot.Legend, Chart, error) {
	p, leg, err := stackedChart(w+": phases of a run (kaniko's from its log)", rows, stats.BreakdownParts, func(s stats.Stat, part string) float64 { return s.Breakdown[part] })
	return p, leg, Chart{Title: w + ": phases of a run: scheduling, clone, kaniko's phases (" + strings.Join(results.BuildPhases, ", ") + "), other", Base: w + "-phases"}, err
}
