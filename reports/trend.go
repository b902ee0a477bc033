package reports

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/stats"
)

// TrendDir is the folder, under the results root, of the trend report.
const TrendDir = "trend"

// TrendHTML is the trend's page in TrendDir.
const TrendHTML = "trend.html"

// Point is one benchmark's figure for one group.
type Point struct {
	RunID string
	stats.Stat
	// Verdict compares this median with the previous point's interval:
	// "regression" (above it), "improvement" (below it), "" (within it), or
	// "n/a" when the previous point has no interval (n < 6) or downloaded
	// packages another way.
	Verdict string
	// Packages is how the benchmark's builds downloaded packages
	// (results.PackagesDirect for one from before the setting existed).
	Packages string
}

// Series is the history of one group across benchmarks, oldest first.
type Series struct {
	stats.Key
	Points []Point
}

// Trend loads results folders (oldest first) and follows every group
// across them.
func Trend(dirs []string) ([]Series, error) {
	index := map[stats.Key]int{}
	var out []Series
	for _, dir := range dirs {
		res, err := results.Load(dir)
		if err != nil {
			return nil, err
		}
		// A benchmark is named by its folder, as the chart places it: a
		// folder renamed after the benchmark keeps its place.
		id := filepath.Base(dir)
		for _, st := range stats.Summarize(res.Runs) {
			if st.N == 0 {
				continue
			}
			i, ok := index[st.Key]
			if !ok {
				i = len(out)
				index[st.Key] = i
				out = append(out, Series{Key: st.Key})
			}
			out[i].Points = append(out[i].Points, Point{RunID: id, Stat: st, Packages: packagesMode(res.Environment)})
		}
	}
	for i := range out {
		pts := out[i].Points
		for j := 1; j < len(pts); j++ {
			prev := pts[j-1].MedianCI
			switch {
			case !prev.OK, pts[j].Packages != pts[j-1].Packages:
				pts[j].Verdict = "n/a"
			case pts[j].Median > prev.Hi:
				pts[j].Verdict = "regression"
			case pts[j].Median < prev.Lo:
				pts[j].Verdict = "improvement"
			}
		}
	}
	return out, nil
}

// packagesMode is how a benchmark's builds downloaded packages.
func packagesMode(e results.Environment) string {
	if p := e.Settings["packages"]; p != "" {
		return p
	}
	return results.PackagesDirect
}

// TrendReport is what RenderTrend produced.
type TrendReport struct {
	Dir    string
	Series []Series
	Files  []string
}

// RenderTrend writes the trend of the results folders under root into
// root/trend: a chart per workload and network profile, trend.md and
// trend.html.
func RenderTrend(root string) (*TrendReport, error) {
	dirs, err := results.All(root)
	if err != nil {
		return nil, err
	}
	if len(dirs) < 2 {
		return nil, fmt.Errorf("a trend needs at least two results folders under %s, found %d", root, len(dirs))
	}
	series, err := Trend(dirs)
	if err != nil {
		return nil, err
	}
	out := filepath.Join(root, TrendDir)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	tr := &TrendReport{Dir: out, Series: series}
	var d doc
	d.heading(1, "cachebench trend")
	d.para(fmt.Sprintf("Medians of %d benchmarks under %s, oldest first. A median above the previous benchmark's 95%% interval is marked a regression, below it an improvement; with fewer than 6 runs the previous benchmark has no interval and no verdict is given (n/a).", len(dirs), filepath.Base(filepath.Clean(root))))
	// Builders are named only when the trend holds more than one.
	multi := len(stats.Distinct(series, func(s Series) string { return s.Builder })) > 1
	// A section per workload and network profile: no chart mixes profiles.
	wls := stats.Distinct(series, func(s Series) string { return s.Where() })
	for _, wl := range wls {
		var ws []Series
		for _, s := range series {
			if s.Where() == wl {
				ws = append(ws, s)
			}
		}
		dr, err := trendChart(wl, ws, dirs)
		if err != nil {
			return nil, err
		}
		c := Chart{Title: wl + ": median wall time per benchmark (whiskers: 95% interval where n>=6)", Base: "trend-" + results.Slug(wl)}
		if err := saveBoth(dr, out, &c); err != nil {
			return nil, err
		}
		tr.Files = append(tr.Files, c.Base+".png", c.Base+".svg")
		d.heading(2, sectionTitle(ws[0].Key))
		d.add(figure{c})
		header := []string{"strategy", "cache", "benchmark", "n", "median", "95% CI", "CV", "verdict"}
		numeric := 3
		if multi {
			header, numeric = append([]string{"builder"}, header...), numeric+1
		}
		t := table{header: header, numeric: numeric}
		for _, s := range ws {
			for _, pt := range s.Points {
				row := []string{s.Strategy, string(s.Cache), pt.RunID, fmt.Sprint(pt.N), secs(pt.Median), formatInterval(pt.MedianCI, ""), fmt.Sprintf("%.1f%%", pt.CV*100), pt.Verdict}
				if multi {
					row = append([]string{s.Builder}, row...)
				}
				t.add(row...)
			}
		}
		d.add(t)
	}
	if err := writeFile(filepath.Join(out, "trend.md"), func(f *os.File) error { return writeMarkdown(f, d) }); err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(out, TrendHTML), func(f *os.File) error { return writeHTML(f, d, out) }); err != nil {
		return nil, err
	}
	tr.Files = append(tr.Files, "trend.md", TrendHTML)
	return tr, nil
}

// Regressions lists the points marked as regressions, for summaries.
func (t *TrendReport) Regressions() []string {
	var out []string
	for _, s := range t.Series {
		for _, p := range s.Points {
			if p.Verdict == "regression" {
				out = append(out, fmt.Sprintf("%s: %s median %.1fs", s.Key, p.RunID, p.Median))
			}
		}
	}
	return out
}

// trendChart draws a line per series, a panel per builder on one Y scale:
// a colour per strategy, dashed for cold runs, so that the legend stays
// short however many builders ran.
func trendChart(wl string, series []Series, dirs []string) (*drawing, error) {
	// Only the benchmarks that ran this workload get a place on the X axis.
	has := map[string]bool{}
	top := 0.0
	for _, s := range series {
		for _, pt := range s.Points {
			has[pt.RunID] = true
			top = max(top, pt.Median)
			if pt.MedianCI.OK {
				top = max(top, pt.MedianCI.Hi)
			}
		}
	}
	pos := map[string]float64{}
	var cols []xColumn
	for _, d := range dirs {
		if id := filepath.Base(d); has[id] {
			pos[id] = float64(len(cols))
			cols = append(cols, xColumn{label: shortID(id)})
		}
	}
	builders := stats.Distinct(series, func(s Series) string { return s.Builder })
	strategies := stats.Distinct(series, func(s Series) string { return s.Strategy })
	d := &drawing{leg: newLegend()}
	inLegend := map[string]bool{}
	for _, b := range builders {
		title := wl + ": median wall time per benchmark"
		if len(builders) > 1 {
			title = wl + ", " + b + ": median wall time per benchmark"
		}
		p := newPlot(title, "seconds", true)
		var regressions plotter.XYs
		for _, s := range series {
			if s.Builder != b {
				continue
			}
			var line, withCI plotter.XYs
			var errs plotter.YErrors
			for _, pt := range s.Points {
				x := pos[pt.RunID]
				line = append(line, plotter.XY{X: x, Y: pt.Median})
				if pt.MedianCI.OK {
					withCI = append(withCI, plotter.XY{X: x, Y: pt.Median})
					errs = append(errs, struct{ Low, High float64 }{pt.Median - pt.MedianCI.Lo, pt.MedianCI.Hi - pt.Median})
				}
				if pt.Verdict == "regression" {
					regressions = append(regressions, plotter.XY{X: x, Y: pt.Median})
				}
			}
			l, pts, err := plotter.NewLinePoints(line)
			if err != nil {
				return nil, err
			}
			col := palette[slices.Index(strategies, s.Strategy)%len(palette)]
			l.Color, pts.Color = col, col
			if s.Cache == results.Cold {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			}
			p.Add(l, pts)
			if name := s.Strategy + " " + string(s.Cache); !inLegend[name] {
				inLegend[name] = true
				d.leg.Add(name, l, pts)
			}
			if len(withCI) > 0 {
				eb, err := plotter.NewYErrorBars(struct {
					plotter.XYs
					plotter.YErrors
				}{withCI, errs})
				if err != nil {
					return nil, err
				}
				eb.Color = col
				p.Add(eb)
			}
		}
		if len(regressions) > 0 {
			sc, err := plotter.NewScatter(regressions)
			if err != nil {
				return nil, err
			}
			sc.GlyphStyle = draw.GlyphStyle{Shape: draw.RingGlyph{}, Radius: vg.Points(7), Color: color.RGBA{R: 0xd0, A: 0xff}}
			p.Add(sc)
			if !inLegend["regression"] {
				inLegend["regression"] = true
				d.leg.Add("regression", sc)
			}
		}
		d.plotWidth = max(d.plotWidth, layoutX(p, cols, vg.Points(60)))
		headroom(p, top)
		d.panels = append(d.panels, p)
	}
	return d, nil
}

// shortID shortens a timestamp run ID (20261126-131647) to 11-26 13:16.
func shortID(id string) string {
	if len(id) >= 13 && id[8] == '-' && strings.Trim(id[:8], "0123456789") == "" {
		return id[4:6] + "-" + id[6:8] + " " + id[9:11] + ":" + id[11:13]
	}
	return id
}
