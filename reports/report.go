package reports

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/stats"
)

// Files a report writes into its results folder.
const (
	MarkdownFile = "report.md"
	HTMLFile     = "report.html"
)

// Report is what Render produced.
type Report struct {
	Dir     string
	Results *results.Results
	Stats   []stats.Stat
	Charts  []Chart
	// Files lists what was written, relative to Dir.
	Files []string
}

// Render reads a results folder and writes into it: charts (PNG and SVG),
// report.md, report.html (one file, charts inline) and bench.txt.
func Render(dir string) (*Report, error) {
	res, err := results.Load(dir)
	if err != nil {
		return nil, err
	}
	if len(res.Runs) == 0 {
		return nil, fmt.Errorf("%s holds no runs yet", filepath.Join(dir, results.ResultsFile))
	}
	rep := &Report{Dir: dir, Results: res, Stats: stats.Summarize(res.Runs)}
	if rep.Charts, err = Charts(dir, rep.Stats); err != nil {
		return nil, err
	}
	for _, c := range rep.Charts {
		rep.Files = append(rep.Files, c.Base+".png", c.Base+".svg")
	}
	doc := reportDoc(rep)
	if err := writeFile(filepath.Join(dir, MarkdownFile), func(f *os.File) error { return writeMarkdown(f, doc) }); err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(dir, HTMLFile), func(f *os.File) error { return writeHTML(f, doc, dir) }); err != nil {
		return nil, err
	}
	if err := writeBenchTextFile(dir, res); err != nil {
		return nil, err
	}
	rep.Files = append(rep.Files, MarkdownFile, HTMLFile, BenchTextFile)
	return rep, nil
}

func writeFile(path string, write func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return f.Close()
}

func secs(v float64) string {
	if v == 0 {
		return "0"
	}
	if v < 10 {
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func formatInterval(i stats.Interval, unit string) string {
	if !i.OK {
		return "n/a"
	}
	return fmt.Sprintf("%s–%s%s", secs(i.Lo), secs(i.Hi), unit)
}

// summaryLines say what each strategy saves against no cache, in words, the
// warm runs first: "warm registry cache: 1.42× faster than no cache
// (1.32–1.61×, n=6)"; "cold runs with a registry cache: 8% slower than no
// cache (2–14%, n=6)".
func summaryLines(rows []stats.Stat) []string {
	var lines []string
	var base []string
	for _, s := range rows {
		if s.Strategy == stats.Baseline && s.N > 0 {
			base = append(base, fmt.Sprintf("%s runs %ss (%s)", s.Cache, secs(s.Median), withN(s.MedianCI, "s", s.N)))
		}
	}
	if len(base) > 0 {
		lines = append(lines, "no cache: "+strings.Join(base, "; "))
	}
	for _, cache := range []results.CacheState{results.Warm, results.Cold} {
		for _, s := range rows {
			if s.Strategy == stats.Baseline || s.Cache != cache || s.N == 0 || s.BaselineN == 0 {
				continue
			}
			subject := fmt.Sprintf("warm %s cache", s.Strategy)
			if cache == results.Cold {
				subject = fmt.Sprintf("cold runs with a %s cache", s.Strategy)
			}
			if ci := s.SpeedupCI; ci.OK && ci.Lo < 1 && ci.Hi > 1 {
				// The interval holds both faster and slower: no difference shown.
				lines = append(lines, fmt.Sprintf("%s: no clear difference from no cache (%.2f×, interval %.2f–%.2f×, n=%d)", subject, s.Speedup, ci.Lo, ci.Hi, s.N))
				continue
			}
			lines = append(lines, fmt.Sprintf("%s: %s than no cache (%s)", subject, relative(s.Speedup), relativeInterval(s.SpeedupCI, s.N)))
		}
	}
	return lines
}

// precision is the row's relative half-width ("±6.1%"), the figure a
// precision-driven benchmark stops on.
func precision(s stats.Stat) string {
	if p := s.Precision(); !math.IsNaN(p) {
		return fmt.Sprintf("±%.1f%%", p*100)
	}
	return "n/a"
}

// relative puts a speedup (baseline time / this time) in words.
func relative(speedup float64) string {
	switch {
	case speedup >= 1.005:
		return fmt.Sprintf("%.2f× faster", speedup)
	case speedup <= 0.995:
		return fmt.Sprintf("%.0f%% slower", (1/speedup-1)*100)
	}
	return "as fast"
}

func relativeInterval(i stats.Interval, n int) string {
	switch {
	case !i.OK:
		return fmt.Sprintf("n=%d; an interval needs n≥6 here and in the baseline", n)
	case i.Lo >= 1:
		return fmt.Sprintf("%.2f–%.2f×, n=%d", i.Lo, i.Hi, n)
	case i.Hi <= 1:
		// Slower: the interval of the extra time, from the least to the most.
		return fmt.Sprintf("%.0f–%.0f%% slower, n=%d", (1/i.Hi-1)*100, (1/i.Lo-1)*100, n)
	}
	return fmt.Sprintf("%.2f–%.2f×, n=%d", i.Lo, i.Hi, n)
}

func withN(i stats.Interval, unit string, n int) string {
	if !i.OK {
		return fmt.Sprintf("n=%d; an interval needs n≥6", n)
	}
	return fmt.Sprintf("%s%s, n=%d", formatInterval(i, ""), unit, n)
}

// reportDoc lays out the report of one results folder.
func reportDoc(rep *Report) doc {
	res := rep.Results
	e := res.Environment
	var d doc
	d.heading(1, "cachebench report "+e.RunID)
	d.para("Build-cache strategies measured on one cluster, in one session, with the same build under each. " +
		"Every figure is over the successful runs of its row (n); failed runs are listed at the end and never counted.")

	d.heading(2, "Summary")
	for _, wl := range workloads(rep.Stats) {
		d.para("**" + wl + "** (median wall time of a run, 95% interval):")
		d.add(bullets(summaryLines(filterWorkload(rep.Stats, wl))))
	}

	d.heading(2, "Environment")
	env := table{header: []string{"", ""}}
	env.add("started", e.Started.Format("2006-01-02 15:04:05 MST"))
	env.add("host", fmt.Sprintf("%s: %d CPUs, %.1f GiB, kernel %s, cgroup %s", e.Host, e.CPUs, e.MemoryGiB, e.Kernel, e.Cgroup))
	if e.GoArch != "" {
		env.add("goarch", e.GoArch)
	}
	if e.Docker != "" {
		env.add("docker", e.Docker)
	}
	for _, k := range sortedKeys(e.Versions) {
		env.add(k, e.Versions[k])
	}
	for _, k := range sortedKeys(e.Settings) {
		env.add("setting "+k, e.Settings[k])
	}
	d.add(env)
	notes := append([]string{}, e.Notes...)
	notes = append(notes,
		fmt.Sprintf("Statistics: median with its 95%% order-statistic interval (the one benchstat prints; n>=6 needed), speedup = median(none)/median(row) with a bootstrap 95%% interval (n>=6 on both sides), p = Mann-Whitney U test against none (benchstat's). Rows with CV above %.0f%% are marked noisy.", stats.NoisyCV*100),
		"Cold: the first run of a round, right after the strategy's cache was reset (new layer cache repository, new volume warmed with the base images). Warm: later runs of the same round.",
		"bench.txt holds every run in the Go benchmark format: benchstat old/bench.txt new/bench.txt compares two benchmarks.",
	)
	d.add(bullets(notes))

	for _, wl := range workloads(rep.Stats) {
		rows := filterWorkload(rep.Stats, wl)
		d.heading(2, "Workload "+wl)
		d.para("Wall time of a PipelineRun (harness clock, create to completion), seconds.")
		t := table{header: []string{"strategy", "cache", "n", "median", "95% CI", "mean", "min–max", "stddev", "CV", "speedup vs none", "95% CI", "±", "p", "hits / misses / local (mean)", "cache check", "failed"}, numeric: 2}
		for _, s := range rows {
			if s.N == 0 {
				t.add(s.Strategy, string(s.Cache), "0", "", "", "", "", "", "", "", "", "", "", "", "", fmt.Sprint(s.Failed))
				continue
			}
			cv := fmt.Sprintf("%.1f%%", s.CV*100)
			if s.Noisy {
				cv += " ⚠ noisy"
			}
			speed, speedCI, p := "", "", ""
			switch {
			case s.Strategy == stats.Baseline:
				speed = "baseline"
			case s.BaselineN > 0:
				speed, speedCI = fmt.Sprintf("%.2f×", s.Speedup), formatInterval(s.SpeedupCI, "×")
				if s.HasP {
					p = fmt.Sprintf("%.3f", s.P)
				}
			}
			t.add(s.Strategy, string(s.Cache), fmt.Sprint(s.N), secs(s.Median), formatInterval(s.MedianCI, ""), secs(s.Mean),
				secs(s.Min)+"–"+secs(s.Max), secs(s.StdDev), cv, speed, speedCI, precision(s), p,
				fmt.Sprintf("%.1f / %.1f / %.1f", s.CacheHits, s.CacheMisses, s.LocalCacheHits), checks(s.Checks), fmt.Sprint(s.Failed))
		}
		d.add(t)
		if why := firstWhy(rows); why != "" {
			d.para("n/a: " + why + ".")
		}
		for _, c := range rep.Charts {
			if strings.HasPrefix(c.Base, wl+"-") {
				d.add(figure{c})
			}
		}
		d.para("Where the time goes (median seconds of each part; the parts come from different runs, so they need not add up to the median wall time):")
		bt := table{header: append(append([]string{"strategy", "cache", "n"}, stats.BreakdownParts...), "cache prep (not in wall)"), numeric: 2}
		for _, s := range rows {
			if s.N == 0 {
				continue
			}
			row := []string{s.Strategy, string(s.Cache), fmt.Sprint(s.N)}
			for _, part := range stats.BreakdownParts {
				row = append(row, secs(s.Breakdown[part]))
			}
			prep := ""
			if s.Prepare > 0 {
				prep = secs(s.Prepare)
			}
			bt.add(append(row, prep)...)
		}
		d.add(bt)
	}

	d.heading(2, "Cache use")
	d.para("Each successful run's builder log is checked against its strategy: no cache shows no hits, a cold run finds an empty layer cache, a warm run takes layers from it, a cache volume serves the base images. A run whose log could not be read is unverified, never counted as zero hits.")
	var contradicted []string
	checked := 0
	for _, r := range res.Runs {
		if r.Check == nil {
			continue
		}
		checked++
		if r.Check.Verdict != results.Verified {
			contradicted = append(contradicted, fmt.Sprintf("#%d %s/%s %s%d: %s: %s", r.Seq, r.Workload, r.Strategy, r.Cache, r.Attempt, r.Check.Verdict, strings.Join(r.Check.Problems, "; ")))
		}
	}
	switch {
	case checked == 0:
		d.para("No run was checked (results recorded before cachebench checked cache use, or no successful run).")
	case len(contradicted) == 0:
		d.para(fmt.Sprintf("All %d checked runs agree with their strategy.", checked))
	default:
		d.add(bullets(contradicted))
	}

	d.heading(2, "Failed runs")
	nfailed := 0
	for _, r := range res.Runs {
		if r.Success {
			continue
		}
		// Every failed run is listed, with its log tail where there is one.
		nfailed++
		d.add(bullets{fmt.Sprintf("#%d %s/%s %s%d (%s): %s", r.Seq, r.Workload, r.Strategy, r.Cache, r.Attempt, orDash(r.PipelineRun), r.Reason)})
		if r.LogTail != "" {
			d.add(code(r.LogTail))
		}
	}
	if nfailed == 0 {
		d.para("None.")
	}
	if res.Skipped > 0 {
		d.para(fmt.Sprintf("%d unreadable line(s) in %s were skipped (a run cut off mid-write).", res.Skipped, results.ResultsFile))
	}
	d.para(fmt.Sprintf("Rendered by cachebench report %s from %d runs.", filepath.Base(rep.Dir), len(res.Runs)))
	return d
}

// checks sums up a row's cache-use verdicts: "6 verified", "5 verified, 1
// contradicted ✗".
func checks(c map[results.Verdict]int) string {
	var parts []string
	for _, v := range []results.Verdict{results.Verified, results.Contradicted, results.Unverified} {
		if c[v] > 0 {
			part := fmt.Sprintf("%d %s", c[v], v)
			if v == results.Contradicted {
				part += " ✗"
			}
			parts = append(parts, part)
		}
	}
	if len(parts) == 0 {
		return "not checked"
	}
	return strings.Join(parts, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "no PipelineRun"
	}
	return s
}

func firstWhy(rows []stats.Stat) string {
	for _, s := range rows {
		if s.N > 0 && !s.MedianCI.OK {
			return "intervals need at least 6 successful runs per row (" + s.MedianCI.Why + "); add --warm-runs or --rounds"
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}
