package reports

import (
	"fmt"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/stats"
)

// concurrencySection reports, when some warm runs were several builds
// started together, each row's builds at each level against one at a
// time, and the levels at which builds stopped finishing within the run
// timeout. Without such runs it adds nothing.
func concurrencySection(d *doc, levels []stats.Level, ended []stats.Ended, charts []Chart) {
	if len(levels) == 0 && len(ended) == 0 {
		return
	}
	d.heading(2, "Builds at once")
	d.para("Each level's rounds start from a reset cache with one cold build; then each warm run is that many builds, each of its own commit or stamp, started as the arrival setting says. " +
		"Per row and level, over its successful warm builds: the median, 90th percentile and longest wall time (seconds), the median against the same row one build at a time, " +
		"the median time queued (PipelineRun created to its first step running: scheduling, volumes, init containers) and the throughput: builds finished a minute, over the time each warm run spanned from its first start to its last end. " +
		"Where the median grows in step with the level while the throughput stays flat, the machine's cores are saturated.")
	d.add(levelsTable(levels))
	if b := bends(levels); len(b) > 0 {
		d.para(fmt.Sprintf("Where the throughput stops growing (the lowest level within %.0f%% of the row's highest; the cores, the registry or the nodes are then saturated):", stats.BendShare*100))
		d.add(bullets(b))
	}
	if len(ended) > 0 {
		d.para("Where builds at once stopped finishing within the run timeout (--run-timeout): the row's level ended there, its higher levels were not run, and the levels below stand:")
		d.add(bullets(endedLevels(ended)))
	}
	for _, c := range charts {
		if c.Section == levelsSection {
			d.add(figure{c})
		}
	}
}

// bends says, per row with a bend (stats.Level.Bend), where its
// throughput stops growing. Levels come grouped by row, ascending.
func bends(levels []stats.Level) []string {
	var out []string
	for i, l := range levels {
		last := i+1 == len(levels) || levels[i+1].WithoutLevel() != l.WithoutLevel()
		if !last || l.Bend == 0 {
			continue
		}
		at := fmt.Sprintf("at %d at once", l.Bend)
		if l.StillGrowing {
			at = "still growing at the highest level measured"
		}
		out = append(out, fmt.Sprintf("%s, %s %s: %s", levelGroup(l), l.Builder, l.Strategy, at))
	}
	return out
}

// endedLevels says, per row that timed out at a level, which and why.
func endedLevels(ended []stats.Ended) []string {
	var out []string
	for _, e := range ended {
		out = append(out, fmt.Sprintf("%s, %s %s: at %d at once (%s)", e.WithoutLevel().Where(), e.Builder, e.Strategy, e.Level(), e.Reason))
	}
	return out
}

// levelsSection marks the charts of the concurrency section.
const levelsSection = "builds at once"

// levelsTable has a row per row and level.
func levelsTable(levels []stats.Level) table {
	t := table{header: []string{"workload", "builder", "strategy", "at once", "n", "median s", "p90 s", "max s", "vs one at a time", "queued s", "builds/min"}, numeric: 3}
	for _, l := range levels {
		n := fmt.Sprint(l.Builds)
		if l.Failed > 0 {
			n += fmt.Sprintf(" (+%d failed)", l.Failed)
		}
		at := strconv.Itoa(l.Level())
		if l.Ended {
			at += " (ended)"
		}
		t.add(levelGroup(l), l.Builder, l.Strategy, at, n,
			orDash(l.P50, "%.1f"), orDash(l.P90, "%.1f"), orDash(l.Max, "%.1f"), orDash(l.VsAlone, "%.2f×"), orDash(l.Queued, "%.1f"), orDash(l.Throughput, "%.2f"))
	}
	return t
}

// levelGroup is the row's workload as the report's sections name it,
// without its level.
func levelGroup(l stats.Level) string { return l.WithoutLevel().Where() }

// orDash formats v, or "–" when it is not a number.
func orDash(v float64, format string) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf(format, v)
}

// levelsCharts draw, per workload, each row's median warm build and its
// throughput against the builds at once.
func levelsCharts(dir string, levels []stats.Level) ([]Chart, error) {
	var charts []Chart
	for _, g := range stats.Distinct(levels, levelGroup) {
		var ls []stats.Level
		for _, l := range levels {
			if levelGroup(l) == g {
				ls = append(ls, l)
			}
		}
		d, err := levelsChart(g, ls)
		if err != nil {
			return nil, fmt.Errorf("concurrency chart for %s: %w", g, err)
		}
		c := Chart{Title: g + ": warm builds against builds at once", Base: results.Slug(g) + "-concurrency", Section: levelsSection}
		if err := saveBoth(d, dir, &c); err != nil {
			return nil, err
		}
		charts = append(charts, c)
	}
	return charts, nil
}

// levelsChart is two panels over the same levels: the median wall time
// of a warm build (whiskers to the 90th percentile), and builds a minute.
// Ended levels are left out: their figures are the survivors'.
func levelsChart(group string, ls []stats.Level) (*drawing, error) {
	type line struct{ builder, strategy string }
	var lines []line
	seen := map[line]bool{}
	var ticks []plot.Tick
	tick := map[int]bool{}
	for _, l := range ls {
		if k := (line{l.Builder, l.Strategy}); !seen[k] {
			seen[k] = true
			lines = append(lines, k)
		}
		if !tick[l.Level()] {
			tick[l.Level()] = true
			ticks = append(ticks, plot.Tick{Value: float64(l.Level()), Label: strconv.Itoa(l.Level())})
		}
	}
	multi := len(stats.Distinct(ls, func(l stats.Level) string { return l.Builder })) > 1
	latency := newPlot(group+": warm build time against builds at once", "seconds (median; whiskers to p90)", true)
	rate := newPlot(group+": throughput against builds at once", "builds a minute", true)
	for _, p := range []*plot.Plot{latency, rate} {
		p.X.Label.Text = "builds at once"
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
	}
	leg := newLegend()
	top, topRate := 0.0, 0.0
	for i, ln := range lines {
		col := palette[(i+2)%len(palette)]
		var med, thr plotter.XYs
		var errs plotter.YErrors
		for _, l := range ls {
			if l.Builder != ln.builder || l.Strategy != ln.strategy || math.IsNaN(l.P50) || l.Ended {
				continue
			}
			x := float64(l.Level())
			med = append(med, plotter.XY{X: x, Y: l.P50})
			errs = append(errs, struct{ Low, High float64 }{0, l.P90 - l.P50})
			top = max(top, l.P90)
			if !math.IsNaN(l.Throughput) {
				thr = append(thr, plotter.XY{X: x, Y: l.Throughput})
				topRate = max(topRate, l.Throughput)
			}
		}
		if len(med) == 0 {
			continue
		}
		name := ln.strategy
		if multi {
			name = ln.builder + " " + ln.strategy
		}
		style := draw.LineStyle{Color: col, Width: vg.Points(2)}
		l, pts, err := plotter.NewLinePoints(med)
		if err != nil {
			return nil, err
		}
		l.LineStyle, pts.Color, pts.Shape = style, col, draw.CircleGlyph{}
		whiskers, err := plotter.NewYErrorBars(struct {
			plotter.XYs
			plotter.YErrors
		}{med, errs})
		if err != nil {
			return nil, err
		}
		whiskers.Color, whiskers.CapWidth = col, vg.Points(6)
		latency.Add(l, pts, whiskers)
		leg.Add(name, l, pts)
		if len(thr) > 0 {
			tl, tp, err := plotter.NewLinePoints(thr)
			if err != nil {
				return nil, err
			}
			tl.LineStyle, tp.Color, tp.Shape = style, col, draw.CircleGlyph{}
			rate.Add(tl, tp)
		}
	}
	headroom(latency, max(top, 1))
	headroom(rate, max(topRate, 1))
	d := &drawing{panels: []*plot.Plot{latency, rate}, leg: leg}
	return d, nil
}
