package reports

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/cachebench/cachebench/decision"
	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/stats"
)

// Headline is a decision in one line, for the terminal.
func Headline(d decision.Decision) string {
	best, ok := d.Recommended()
	if !ok {
		return fmt.Sprintf("%s: no recommendation: %s", d.Shape, d.Why)
	}
	line := fmt.Sprintf("%s: %s with %s, %s a build%s", d.Shape, best.Builder, strategyWords(best.Strategy), secs(best.Seconds)+"s", intervalInBrackets(best.CI, "s"))
	if d.VsNone != nil {
		line += fmt.Sprintf(", %s faster than %s without a cache", times(d.VsNone.Ratio), best.Builder)
	}
	if best.Cost.Measured {
		line += fmt.Sprintf(", $%.2f per 1,000 builds", best.Cost.Dollars)
	}
	if d.Tie {
		line += " (a tie: see the report)"
	}
	return line
}

func strategyWords(s string) string {
	if s == stats.Baseline {
		return "no cache"
	}
	return "the " + s + " strategy"
}

func intervalInBrackets(i stats.Interval, unit string) string {
	if !i.OK {
		return ""
	}
	return fmt.Sprintf(" (%s–%s%s)", secs(i.Lo), secs(i.Hi), unit)
}

func times(v float64) string { return fmt.Sprintf("%.2f×", v) }

// recommendationSection opens the report: per build shape, the row to run
// for the commit mix, why, what it saves and costs, and what would change
// the answer.
func recommendationSection(d *doc, ds []decision.Decision, in decision.Inputs) {
	d.heading(2, "Recommendation")
	for _, dec := range ds {
		if len(ds) > 1 {
			d.heading(3, dec.Shape.String())
		}
		mixNote := "your commit mix"
		switch {
		case len(in.Mix) == 0 && len(dec.Mix) == 1:
			mixNote = "commits of the one change pattern measured"
		case len(in.Mix) == 0:
			mixNote = "the change patterns measured, evenly (give your mix with --mix)"
		}
		d.para(fmt.Sprintf("For **%s** builds, %s: %s; %s.", dec.Shape, mixNote, dec.Mix, dec.Allow))
		best, ok := dec.Recommended()
		if !ok {
			d.para("No recommendation: " + dec.Why + ".")
			estimatesTable(d, dec)
			continue
		}
		n := patternCounts(best)
		lead := fmt.Sprintf("**Run %s with %s**: %ss a build expected", best.Builder, strategyWords(best.Strategy), secs(best.Seconds))
		if best.CI.OK {
			lead += fmt.Sprintf(" (95%% interval %s–%ss; %s)", secs(best.CI.Lo), secs(best.CI.Hi), n)
		} else {
			lead += fmt.Sprintf(" (no interval: %s)", best.CI.Why)
		}
		d.para(lead + ".")
		var lines []string
		if dec.Tie {
			lines = append(lines, dec.Why+".")
		}
		if c := dec.VsNone; c != nil {
			lines = append(lines, fmt.Sprintf("Against %s without a cache: %s faster%s, %ss saved a build, %.1f developer-waiting hours per 1,000 builds.",
				best.Builder, times(c.Ratio), ratioInterval(c.CI), secs(c.Saved), c.Saved*decision.Builds/3600))
		}
		if c := dec.VsCurrent; c != nil {
			saved := fmt.Sprintf("%ss saved a build, %.1f developer-waiting hours per 1,000 builds", secs(c.Saved), c.Saved*decision.Builds/3600)
			if c.Saved < 0 {
				saved = fmt.Sprintf("%ss more a build, %.1f developer-waiting hours more per 1,000 builds", secs(-c.Saved), -c.Saved*decision.Builds/3600)
			}
			lines = append(lines, fmt.Sprintf("Against what you run now (%s): %s%s, %s.", c.Row, relative(c.Ratio), ratioInterval(c.CI), saved))
		} else if in.Current != nil && *in.Current == best.Row {
			lines = append(lines, fmt.Sprintf("It is what you run now (%s).", best.Row))
		}
		if c := dec.Behind; c != nil {
			behind, ci := times(c.Ratio)+" behind", c.CI
			if c.Ratio < 1 {
				behind = times(1/c.Ratio) + " faster, within the tie"
				ci.Lo, ci.Hi = 1/c.CI.Hi, 1/c.CI.Lo
			}
			lines = append(lines, fmt.Sprintf("Runner-up: %s, %s%s.", c.Row, behind, ratioInterval(ci)))
		}
		lines = append(lines, "What would change it: "+pivotWords(dec)+".")
		if len(best.Needs) > 0 {
			lines = append(lines, "It needs "+strings.Join(best.Needs, " and ")+" (--allow leaves such rows out).")
		} else if !dec.NeedsUnknown {
			lines = append(lines, "It needs nothing a team's rules commonly forbid (no privileged pod, daemon, shared volume or registry writes).")
		}
		switch {
		case dec.NeedsUnknown:
			lines = append(lines, "This benchmark was recorded before cachebench kept what each row needs (privileged pods, registry writes), so --allow cannot be applied to it; the pod needs column under Environment says it in words.")
		case dec.NeedsDefined:
			lines = append(lines, "What each row needs is as this cachebench's builders define it: the benchmark was recorded before needs were kept.")
		}
		d.add(bullets(lines))
		costTable(d, dec)
		estimatesTable(d, dec)
	}
}

func ratioInterval(i stats.Interval) string {
	if !i.OK {
		return ""
	}
	return fmt.Sprintf(" (%.2f–%.2f×)", i.Lo, i.Hi)
}

func patternCounts(e decision.Estimate) string {
	var parts []string
	for _, p := range sortedKeys(e.Patterns) {
		parts = append(parts, fmt.Sprintf("%s n=%d", p, e.Patterns[p].N))
	}
	return "bootstrap over its runs: " + strings.Join(parts, ", ")
}

func pivotWords(dec decision.Decision) string {
	if len(dec.Pivots) == 0 {
		if len(dec.Mix) < 2 {
			return "one change pattern was measured; measure more with --change to see which mix would change the answer"
		}
		return "no share of any one change pattern makes another allowed row faster"
	}
	var parts []string
	for _, p := range dec.Pivots {
		dir := "rose to"
		if p.At < p.Now {
			dir = "fell to"
		}
		parts = append(parts, fmt.Sprintf("if %s commits %s %s of the mix (now %s), %s would be as fast", p.Pattern, dir, pct(p.At), pct(p.Now), p.Row))
	}
	return strings.Join(parts, "; ")
}

func pct(v float64) string { return fmt.Sprintf("%.0f%%", v*100) }

// costTable gives the recommendation's cost per 1,000 builds beside the
// rows it is compared with.
func costTable(d *doc, dec decision.Decision) {
	p := dec.Prices
	best, _ := dec.Recommended()
	if !best.Cost.Measured {
		d.para("Cost per 1,000 builds: not measured (the runs recorded no CPU use: a cluster cachebench did not create, or results from before it measured use).")
		return
	}
	t := table{header: []string{"row", "", "expected s", "CPU-hours", "memory GB-hours", "cache GB-months", "egress GB", "$", "waiting hours"}, numeric: 2}
	daemons := false
	add := func(what string, e decision.Estimate) {
		daemons = daemons || slices.Contains(e.Needs, results.NeedDaemon)
		c := e.Cost
		t.add(e.Row.String(), what, secs(e.Seconds), fmt.Sprintf("%.2f", c.CPUHours), fmt.Sprintf("%.2f", c.MemoryGBHours),
			fmt.Sprintf("%.2f", c.StorageGBMonths), fmt.Sprintf("%.1f", c.EgressGB), fmt.Sprintf("%.2f", c.Dollars), fmt.Sprintf("%.1f", c.WaitingHours))
	}
	add("recommended", best)
	seen := map[decision.Row]bool{best.Row: true}
	for _, c := range []struct {
		what string
		cmp  *decision.Comparison
	}{{"runner-up", dec.Behind}, {"no cache", dec.VsNone}, {"yours now", dec.VsCurrent}} {
		if c.cmp == nil || seen[c.cmp.Row] {
			continue
		}
		seen[c.cmp.Row] = true
		for _, e := range dec.Estimates {
			if e.Row == c.cmp.Row {
				add(c.what, e)
			}
		}
	}
	d.para("Cost per 1,000 builds, from what the runs used (medians per run, weighted by the mix):")
	d.add(t)
	d.para(fmt.Sprintf("$ = CPU-hours × %g + memory GB-hours × %g + cache GB-months × %g + egress GB × %g (--price-cpu-hour, --price-memory-gb-hour, --price-gb-month, --price-egress-gb). "+
		"CPU-hours: CPU time the kernel accounted to the run's pods (used, not reserved). Memory GB-hours: each pod's peak memory held for its task's time. "+
		"Cache GB-months: the cache at the end of a round (layer cache repository plus cache volume) held a month, shared by --builds-per-month %d builds. "+
		"Egress GB: what a run pulled from the upstream and cache registries, pushed to the cache registry and downloaded as packages, all priced as if it crossed a priced boundary (set --price-egress-gb 0 where it does not). "+
		"Waiting hours: the expected build time of 1,000 builds. GB = 10^9 bytes.",
		p.CPUHour, p.MemoryGBHour, p.StorageGBMonth, p.EgressGB, p.BuildsPerMonth))
	if daemons {
		d.para(fmt.Sprintf("A row that needs a daemon is charged its daemon's use too: the daemon's CPU while the run went on, its state as cache, and its memory: a daemon runs whether builds come or not, so each of a round's daemons holds its peak memory all month (%d hours), shared by --builds-per-month %d builds.", decision.HoursPerMonth, p.BuildsPerMonth))
	}
}

// estimatesTable lists every row's expected time for the mix, and why a
// row was left out.
func estimatesTable(d *doc, dec decision.Decision) {
	patterns := sortedKeys(dec.Mix)
	withCost := slices.ContainsFunc(dec.Estimates, func(e decision.Estimate) bool { return e.Cost.Measured })
	header, numeric := []string{"row", "needs", "expected s", "95% interval"}, 2
	if dec.NeedsUnknown {
		header, numeric = slices.Delete(header, 1, 2), 1
	}
	for _, p := range patterns {
		header = append(header, p+" s (n)")
	}
	if withCost {
		header = append(header, "$ per 1,000")
	}
	t := table{header: header, numeric: numeric}
	var left []string
	for i, e := range dec.Estimates {
		name := e.Row.String()
		if i == dec.Best {
			name += " (recommended)"
		}
		if e.Excluded != "" {
			name += " (left out)"
			would := ""
			if e.Seconds > 0 {
				would = fmt.Sprintf(": it would give %ss", secs(e.Seconds))
			}
			left = append(left, fmt.Sprintf("%s %s%s", e.Row, e.Excluded, would))
		}
		expected, ci := "–", "–"
		if e.Seconds > 0 {
			expected, ci = secs(e.Seconds), formatInterval(e.CI, "")
		}
		row := []string{name, cmp.Or(strings.Join(e.Needs, ", "), "nothing"), expected, ci}
		if dec.NeedsUnknown {
			row = slices.Delete(row, 1, 2)
		}
		for _, p := range patterns {
			if pt, ok := e.Patterns[p]; ok {
				row = append(row, fmt.Sprintf("%s (%d)", secs(pt.Median), pt.N))
			} else {
				row = append(row, "–")
			}
		}
		if withCost {
			cost := "–"
			if e.Cost.Measured && e.Seconds > 0 {
				cost = fmt.Sprintf("%.2f", e.Cost.Dollars)
			}
			row = append(row, cost)
		}
		t.add(row...)
	}
	d.para("Every row for this mix: expected time (the mix-weighted sum of its median time under each change pattern, over warm runs; none's cold runs count too, as it keeps nothing), its bootstrap interval, and the medians it is made of, with their number of runs:")
	d.add(t)
	if len(left) > 0 {
		d.add(bullets(left))
	}
}
