package reports

import (
	"fmt"
	"image/color"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Chart is a chart written as PNG and SVG.
type Chart struct {
	Title string
	// Base is the file name without extension; Base+".png" and Base+".svg" exist.
	Base string
}

// palette holds ten colours that stay apart (Tableau 10).
var palette = []color.RGBA{
	{0x4e, 0x79, 0xa7, 0xff}, {0xf2, 0x8e, 0x2b, 0xff}, {0x59, 0xa1, 0x4f, 0xff}, {0xe1, 0x57, 0x59, 0xff},
	{0x76, 0xb7, 0xb2, 0xff}, {0xed, 0xc9, 0x48, 0xff}, {0xb0, 0x7a, 0xa1, 0xff}, {0xff, 0x9d, 0xa7, 0xff},
	{0x9c, 0x75, 0x5f, 0xff}, {0xba, 0xb0, 0xac, 0xff},
}

var (
	coldColor = palette[0]
	warmColor = palette[1]
)

// headroom raises the top of the Y axis so that the legend (in the top
// right corner) and the labels above the bars do not cover any bar.
func headroom(p *plot.Plot, top float64, legendEntries int) {
	p.Y.Max = top * (1.12 + 0.075*float64(legendEntries))
}

// Charts renders every chart of a report into dir.
func Charts(dir string, stats []Stat) ([]Chart, error) {
	var charts []Chart
	for _, w := range workloads(stats) {
		ws := filterWorkload(stats, w)
		for _, mk := range []func(string, []Stat) (*plot.Plot, Chart, error){wallChart, taskChart, phaseChart} {
			p, c, err := mk(w, ws)
			if err != nil {
				return nil, fmt.Errorf("chart for %s: %w", w, err)
			}
			if p == nil {
				continue
			}
			for _, ext := range []string{".png", ".svg"} {
				if err := p.Save(18*vg.Centimeter, 11*vg.Centimeter, filepath.Join(dir, c.Base+ext)); err != nil {
					return nil, fmt.Errorf("save %s%s: %w", c.Base, ext, err)
				}
			}
			charts = append(charts, c)
		}
	}
	return charts, nil
}

func workloads(stats []Stat) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range stats {
		if !seen[s.Workload] {
			seen[s.Workload] = true
			out = append(out, s.Workload)
		}
	}
	return out
}

func strategies(stats []Stat) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range stats {
		if !seen[s.Strategy] {
			seen[s.Strategy] = true
			out = append(out, s.Strategy)
		}
	}
	return out
}

func filterWorkload(stats []Stat, w string) []Stat {
	var out []Stat
	for _, s := range stats {
		if s.Workload == w {
			out = append(out, s)
		}
	}
	return out
}

func find(stats []Stat, strategy string, phase Phase) (Stat, bool) {
	for _, s := range stats {
		if s.Strategy == strategy && s.Phase == phase && s.N > 0 {
			return s, true
		}
	}
	return Stat{}, false
}

func newPlot(title, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = font.Length(13)
	p.Y.Label.Text = ylabel
	p.Y.Min = 0
	p.Legend.Top = true
	p.Y.Tick.Marker = plot.DefaultTicks{}
	p.Add(plotter.NewGrid())
	return p
}

// wallChart: median wall time per strategy, cold and warm side by side,
// whiskers from min to max, n above each bar.
func wallChart(w string, stats []Stat) (*plot.Plot, Chart, error) {
	strats := strategies(stats)
	p := newPlot(fmt.Sprintf("%s: PipelineRun wall time (median, whiskers min-max)", w), "seconds")
	const shift = 0.2
	for pi, phase := range []Phase{Cold, Warm} {
		vals := make(plotter.Values, len(strats))
		var pts plotter.XYs
		var errs plotter.YErrors
		var labels plotter.XYLabels
		x0 := -shift + 2*shift*float64(pi)
		for i, s := range strats {
			st, ok := find(stats, s, phase)
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
			return nil, Chart{}, err
		}
		bars.XMin = x0
		bars.Color = map[Phase]color.Color{Cold: coldColor, Warm: warmColor}[phase]
		bars.LineStyle.Width = 0
		whiskers, err := plotter.NewYErrorBars(struct {
			plotter.XYs
			plotter.YErrors
		}{pts, errs})
		if err != nil {
			return nil, Chart{}, err
		}
		whiskers.CapWidth = vg.Points(8)
		ns, err := plotter.NewLabels(labels)
		if err != nil {
			return nil, Chart{}, err
		}
		for i := range ns.TextStyle {
			ns.TextStyle[i].XAlign = -0.5
			ns.TextStyle[i].Font.Size = font.Length(8)
		}
		ns.Offset = vg.Point{Y: vg.Points(3)}
		p.Add(bars, whiskers, ns)
		p.Legend.Add(string(phase), bars)
	}
	p.NominalX(strats...)
	p.X.Min, p.X.Max = -0.6, float64(len(strats))-0.4
	top := 0.0
	for _, st := range stats {
		top = max(top, st.Max)
	}
	headroom(p, top, 2)
	return p, Chart{Title: w + ": wall time per strategy, cold and warm", Base: w + "-wall"}, nil
}

// stackedChart draws one stacked bar per strategy and phase.
func stackedChart(title string, stats []Stat, parts []string, value func(Stat, string) float64) (*plot.Plot, error) {
	var cols []Stat
	var names []string
	for _, s := range strategies(stats) {
		for _, ph := range []Phase{Cold, Warm} {
			if st, ok := find(stats, s, ph); ok {
				cols = append(cols, st)
				names = append(names, s+"\n"+string(ph))
			}
		}
	}
	if len(cols) == 0 {
		return nil, nil
	}
	p := newPlot(title, "seconds (median of each part)")
	var below *plotter.BarChart
	entries := 0
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
			return nil, err
		}
		bars.Color = palette[i%len(palette)]
		entries++
		bars.LineStyle.Width = 0
		if below != nil {
			bars.StackOn(below)
		}
		below = bars
		p.Add(bars)
		p.Legend.Add(part, bars)
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
	headroom(p, top, entries)
	return p, nil
}

// TaskParts are the parts of a run in the task breakdown.
var TaskParts = []string{"fetch-source", "build-push", "overhead"}

func taskChart(w string, stats []Stat) (*plot.Plot, Chart, error) {
	p, err := stackedChart(w+": where a run's time goes (Tekton tasks)", stats, TaskParts, func(s Stat, part string) float64 { return s.Tasks[part] })
	return p, Chart{Title: w + ": time per pipeline task (overhead: wall time outside both tasks)", Base: w + "-tasks"}, err
}

func phaseChart(w string, stats []Stat) (*plot.Plot, Chart, error) {
	has := false
	for _, s := range stats {
		has = has || len(s.Phases) > 0
	}
	if !has {
		return nil, Chart{}, nil
	}
	p, err := stackedChart(w+": kaniko's phases (from its log)", stats, KanikoPhases, func(s Stat, part string) float64 { return s.Phases[part] })
	return p, Chart{Title: w + ": kaniko phases (" + strings.Join(KanikoPhases, ", ") + ")", Base: w + "-kaniko"}, err
}
