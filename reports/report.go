package reports

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Report is what Render produced.
type Report struct {
	Dir      string
	Results  *Results
	Stats    []Stat
	Charts   []Chart
	Markdown string // path of report.md
	Files    []string
}

// Render reads a results folder and writes its charts and report.md into it.
func Render(dir string) (*Report, error) {
	res, err := Load(dir)
	if err != nil {
		return nil, err
	}
	if len(res.Runs) == 0 {
		return nil, fmt.Errorf("%s holds no runs yet", filepath.Join(dir, ResultsFile))
	}
	rep := &Report{Dir: dir, Results: res, Stats: Summarize(res.Runs)}
	if rep.Charts, err = Charts(dir, rep.Stats); err != nil {
		return nil, err
	}
	for _, c := range rep.Charts {
		rep.Files = append(rep.Files, c.Base+".png", c.Base+".svg")
	}
	rep.Markdown = filepath.Join(dir, "report.md")
	f, err := os.Create(rep.Markdown)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := WriteMarkdown(f, rep); err != nil {
		return nil, fmt.Errorf("write report.md: %w", err)
	}
	rep.Files = append(rep.Files, "report.md")
	return rep, f.Close()
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

func (i Interval) format(unit string) string {
	if !i.OK {
		return "n/a"
	}
	return fmt.Sprintf("%s–%s%s", secs(i.Lo), secs(i.Hi), unit)
}

// WriteMarkdown writes report.md.
func WriteMarkdown(w io.Writer, rep *Report) error {
	res := rep.Results
	e := res.Environment
	pf := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	pf("# cachebench report %s\n\n", e.RunID)
	pf("Build-cache strategies measured on one cluster, in one session, with the same build under each.\n")
	pf("Every figure is over the successful runs of its row (n); failed runs are listed at the end and never counted.\n\n")

	pf("## Environment\n\n")
	pf("| | |\n|---|---|\n")
	pf("| started | %s |\n", e.Started.Format("2006-01-02 15:04:05 MST"))
	pf("| host | %s: %d CPUs, %.1f GiB, kernel %s, cgroup %s |\n", e.Host, e.CPUs, e.MemoryGiB, e.Kernel, e.Cgroup)
	if e.Docker != "" {
		pf("| docker | %s |\n", e.Docker)
	}
	for _, k := range sortedKeys(e.Versions) {
		pf("| %s | %s |\n", k, e.Versions[k])
	}
	for _, k := range sortedKeys(e.Settings) {
		pf("| setting %s | %s |\n", k, e.Settings[k])
	}
	pf("\n")
	for _, n := range e.Notes {
		pf("- %s\n", n)
	}
	pf("- Statistics: median with its 95%% order-statistic interval (the one benchstat prints; n>=6 needed), speedup = median(none)/median(row) with a bootstrap 95%% interval (n>=6 on both sides), p = Mann-Whitney U test against none (benchstat's). Rows with CV above %.0f%% are marked noisy.\n", NoisyCV*100)
	pf("- Cold: the first run of a round, right after the strategy's cache was reset (new layer cache repository, new volume warmed with the base images). Warm: later runs of the same round.\n\n")

	for _, wl := range workloads(rep.Stats) {
		stats := filterWorkload(rep.Stats, wl)
		pf("## Workload %s\n\n", wl)
		pf("Wall time of a PipelineRun (harness clock, create to completion), seconds.\n\n")
		pf("| strategy | phase | n | median | 95%% CI | mean | min–max | stddev | CV | speedup vs none | 95%% CI | p | hits / misses / local (mean) | failed |\n")
		pf("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, s := range stats {
			if s.N == 0 {
				pf("| %s | %s | 0 | | | | | | | | | | | %d |\n", s.Strategy, s.Phase, s.Failed)
				continue
			}
			cv := fmt.Sprintf("%.1f%%", s.CV*100)
			if s.Noisy {
				cv += " ⚠ noisy"
			}
			speed, speedCI, p := "", "", ""
			if s.Strategy == Baseline {
				speed, speedCI, p = "baseline", "", ""
			} else if s.BaselineN > 0 {
				speed = fmt.Sprintf("%.2f×", s.Speedup)
				speedCI = s.SpeedupCI.format("×")
				if s.HasP {
					p = fmt.Sprintf("%.3f", s.P)
				}
			}
			pf("| %s | %s | %d | %s | %s | %s | %s–%s | %s | %s | %s | %s | %s | %.1f / %.1f / %.1f | %d |\n",
				s.Strategy, s.Phase, s.N, secs(s.Median), s.MedianCI.format(""), secs(s.Mean), secs(s.Min), secs(s.Max), secs(s.StdDev), cv,
				speed, speedCI, p, s.CacheHits, s.CacheMisses, s.LocalCacheHits, s.Failed)
		}
		pf("\n")
		if why := firstWhy(stats); why != "" {
			pf("n/a: %s.\n\n", why)
		}
		for _, c := range rep.Charts {
			if strings.HasPrefix(c.Base, wl+"-") {
				pf("![%s](%s.png)\n\n", c.Title, c.Base)
			}
		}
		pf("Where the time goes (median seconds of each part; parts of different runs, so they need not add up to the median wall time):\n\n")
		pf("| strategy | phase | n | %s | cache prep (not in wall) |\n|---|---|--:|%s--:|\n", strings.Join(TaskParts, " | "), strings.Repeat("--:|", len(TaskParts)))
		for _, s := range stats {
			if s.N == 0 {
				continue
			}
			var cells []string
			for _, part := range TaskParts {
				cells = append(cells, secs(s.Tasks[part]))
			}
			prep := ""
			if s.Prepare > 0 {
				prep = secs(s.Prepare)
			}
			pf("| %s | %s | %d | %s | %s |\n", s.Strategy, s.Phase, s.N, strings.Join(cells, " | "), prep)
		}
		pf("\nkaniko's phases, from its log (median seconds):\n\n")
		pf("| strategy | phase | %s |\n|---|---|%s\n", strings.Join(KanikoPhases, " | "), strings.Repeat("--:|", len(KanikoPhases)))
		for _, s := range stats {
			if s.N == 0 {
				continue
			}
			var cells []string
			for _, ph := range KanikoPhases {
				cells = append(cells, secs(s.Phases[ph]))
			}
			pf("| %s | %s | %s |\n", s.Strategy, s.Phase, strings.Join(cells, " | "))
		}
		pf("\n")
	}

	var failed []Run
	for _, r := range res.Runs {
		if !r.Success {
			failed = append(failed, r)
		}
	}
	pf("## Failed runs\n\n")
	if len(failed) == 0 {
		pf("None.\n\n")
	}
	for _, r := range failed {
		pf("- #%d %s/%s %s%d (%s): %s\n", r.Seq, r.Workload, r.Strategy, r.Phase, r.Attempt, r.PipelineRun, r.Reason)
		if r.LogTail != "" {
			pf("\n  ```\n%s\n  ```\n", indent(r.LogTail, "  "))
		}
	}
	if res.Skipped > 0 {
		pf("\n%d unreadable line(s) in %s were skipped (a run cut off mid-write).\n", res.Skipped, ResultsFile)
	}
	pf("\n---\nRendered by `cachebench report %s` from %d runs.\n", filepath.Base(rep.Dir), len(res.Runs))
	return nil
}

func firstWhy(stats []Stat) string {
	for _, s := range stats {
		if s.N > 0 && !s.MedianCI.OK {
			return "intervals need at least 6 successful runs per row (" + s.MedianCI.Why + "); add --warm-runs or --rounds"
		}
	}
	return ""
}

func indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n")
}

func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}
