package reports

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/cachebench/cachebench/decision"
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
	// Decisions are the recommendations, one per build shape.
	Decisions []decision.Decision
	Charts    []Chart
	// Levels are the rows measured at several concurrency levels; Ended
	// the levels at which a row's builds timed out.
	Levels []stats.Level
	Ended  []stats.Ended
	// soaks are the rounds followed build by build through a daemon.
	soaks  []soak
	Inputs decision.Inputs
	// Files lists what was written, relative to Dir.
	Files []string
}

// Render reads a results folder and writes into it: charts (PNG and SVG),
// report.md, report.html (one file, charts inline) and bench.txt. in is
// what the recommendation weighs.
func Render(dir string, in decision.Inputs) (*Report, error) {
	res, err := results.Load(dir)
	if err != nil {
		return nil, err
	}
	return RenderResults(res, in)
}

// RenderResults is Render of results already loaded, written into their
// folder (res.Dir).
func RenderResults(res *results.Results, in decision.Inputs) (*Report, error) {
	dir := res.Dir
	if len(res.Runs) == 0 {
		return nil, fmt.Errorf("%s holds no runs yet", filepath.Join(dir, results.ResultsFile))
	}
	rep := &Report{Dir: dir, Results: res, Inputs: in}
	rep.Levels, rep.Ended = stats.Levels(res.Runs), stats.EndedLevels(res.Runs)
	// An ended level is reported under builds at once only.
	rep.Stats = stats.WithoutEnded(stats.Summarize(res.Runs), rep.Ended)
	var err error
	if rep.Decisions, err = decision.Decide(res, in); err != nil {
		return nil, err
	}
	if rep.Charts, err = Charts(dir, rep.Stats); err != nil {
		return nil, err
	}
	lc, err := levelsCharts(dir, rep.Levels)
	if err != nil {
		return nil, err
	}
	rep.Charts = append(rep.Charts, lc...)
	rep.soaks = soaks(res.Runs)
	sc, err := soakCharts(dir, rep.soaks, rep.gcLimit())
	if err != nil {
		return nil, err
	}
	rep.Charts = append(rep.Charts, sc...)
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

// gcLimit is the daemons' garbage collection limit the benchmark was
// planned with ("" for the daemon's own policy).
func (rep *Report) gcLimit() string {
	if v := rep.Results.Environment.Plan["gc-limit"]; len(v) == 1 {
		return v[0]
	}
	return ""
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

// summaryLines say, per builder, what each strategy saves against that
// builder without cache, in words, the warm runs first: "warm registry
// cache: 1.42× faster than no cache (1.32–1.61×, n=6)"; "cold runs with a
// registry cache: 8% slower than no cache (2–14%, n=6)". With more than one
// builder each line starts with the builder's name, and a lead line names
// the fastest builder and strategy of the warm runs.
func summaryLines(rows []stats.Stat) []string {
	builders := builderNames(rows)
	if len(builders) < 2 {
		return builderSummary(rows)
	}
	lines := fastestLines(rows)
	for _, b := range builders {
		for _, l := range builderSummary(filterBuilder(rows, b)) {
			lines = append(lines, b+": "+l)
		}
	}
	return lines
}

// builderSummary is summaryLines for the rows of one builder.
func builderSummary(rows []stats.Stat) []string {
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
			lines = append(lines, subject+": "+compared(s.Speedup, s.SpeedupCI, s.N, "no cache"))
		}
	}
	return lines
}

// compared puts a speedup against what in words, with its interval: "1.42×
// faster than no cache (1.32–1.61×, n=6)"; an interval that holds both
// faster and slower shows no difference.
func compared(speedup float64, ci stats.Interval, n int, what string) string {
	if ci.OK && ci.Lo < 1 && ci.Hi > 1 {
		return fmt.Sprintf("no clear difference from %s (%.2f×, interval %.2f–%.2f×, n=%d)", what, speedup, ci.Lo, ci.Hi, n)
	}
	rel := relative(speedup)
	if rel == "as fast" {
		rel += " as"
	} else {
		rel += " than"
	}
	return fmt.Sprintf("%s %s (%s)", rel, what, relativeInterval(ci, n))
}

// subject names a builder and strategy: "buildkit with a registry cache",
// "kaniko without cache".
func subject(s stats.Stat) string {
	if s.Strategy == stats.Baseline {
		return s.Builder + " without cache"
	}
	return fmt.Sprintf("%s with a %s cache", s.Builder, s.Strategy)
}

// fastestLines name the builder and strategy whose warm runs have the
// lowest median, against the reference builder without cache when it ran:
// "fastest warm: buildkit with a registry cache (6.2s), 2.40× faster than
// kaniko without cache (2.10–2.70×, n=8)". When the next fastest median
// lies inside the fastest's interval, a second line says so.
func fastestLines(rows []stats.Stat) []string {
	var warm []stats.Stat
	for _, s := range rows {
		if s.Cache == results.Warm && s.N > 0 {
			warm = append(warm, s)
		}
	}
	if len(warm) == 0 {
		return nil
	}
	sort.SliceStable(warm, func(i, j int) bool { return warm[i].Median < warm[j].Median })
	best := warm[0]
	line := fmt.Sprintf("fastest warm: %s", subject(best))
	ref := stats.ReferenceBuilder + " without cache"
	switch {
	case best.Builder == stats.ReferenceBuilder && best.Strategy == stats.Baseline:
		line += fmt.Sprintf(", %ss (%s): no builder or cache beat it", secs(best.Median), withN(best.MedianCI, "s", best.N))
	case best.ReferenceN > 0:
		line += fmt.Sprintf(" (%ss), %s", secs(best.Median), compared(best.VsReference, best.VsReferenceCI, best.N, ref))
	default:
		line += fmt.Sprintf(", %ss (%s; %s did not run)", secs(best.Median), withN(best.MedianCI, "s", best.N), stats.ReferenceBuilder)
	}
	lines := []string{line}
	if len(warm) > 1 {
		next := warm[1]
		if ci := best.MedianCI; ci.OK && next.Median <= ci.Hi {
			lines = append(lines, fmt.Sprintf("close behind: %s (%ss) lies within the fastest's interval (%s): not clearly slower", subject(next), secs(next.Median), formatInterval(ci, "s")))
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
	builders := builderNames(rep.Stats)
	multi := len(builders) > 1
	withRef := multi && slices.Contains(builders, stats.ReferenceBuilder)
	var d doc
	d.heading(1, "cachebench report "+e.RunID)
	if multi {
		d.para(fmt.Sprintf("Builders (%s) and their build-cache strategies measured on one cluster, in one session, with the same build under each. ", strings.Join(builders, ", ")) +
			"Every figure is over the successful runs of its row (n); failed runs are listed at the end and never counted.")
	} else {
		d.para("Build-cache strategies measured on one cluster, in one session, with the same build under each. " +
			"Every figure is over the successful runs of its row (n); failed runs are listed at the end and never counted.")
	}

	recommendationSection(&d, rep.Decisions, rep.Inputs)

	d.heading(2, "Summary")
	for _, wl := range sections(rep.Stats) {
		d.para("**" + wl + "** (median wall time of a run, 95% interval):")
		d.add(bullets(summaryLines(filterSection(rep.Stats, wl))))
	}

	d.heading(2, "Environment")
	env := table{header: []string{"", ""}}
	env.add("started", e.Started.Format("2006-01-02 15:04:05 MST"))
	env.add("host", fmt.Sprintf("%s: %d CPUs, %.1f GiB, kernel %s, cgroup %s", e.Host, e.CPUs, e.MemoryGiB, e.Kernel, e.Cgroup))
	if e.GoArch != "" {
		env.add("goarch", e.GoArch)
	}
	if e.Docker != "" {
		// The docker builder's image is a version too, under its role.
		if _, ok := e.Versions["docker"]; ok {
			env.add("docker (host)", e.Docker)
		} else {
			env.add("docker", e.Docker)
		}
	}
	for _, k := range sortedKeys(e.Versions) {
		env.add(k, e.Versions[k])
	}
	for _, k := range sortedKeys(e.Settings) {
		env.add("setting "+k, e.Settings[k])
	}
	d.add(env)
	if len(e.Networks) > 0 {
		d.heading(3, "Network profiles")
		d.para("Between the builders and each registry: upstream holds the base images (standing for Docker Hub or a vendor's registry), the cache registry is near the cluster and takes layer caches and pushed images.")
		t := table{header: []string{"registry", "profile", "adds"}}
		for _, n := range e.Networks {
			t.add(n.Role, n.Name, n.Profile)
		}
		d.add(t)
	}
	if len(e.Builders) > 0 {
		d.heading(3, "Builders and strategies")
		d.para("What each builder's pod needs of the cluster, and how the builder implements each strategy.")
		d.add(buildersTable(e.Builders))
	}
	notes := append([]string{}, e.Notes...)
	speedupNote := "speedup = median(none)/median(row)"
	if multi {
		speedupNote = "speedup = median(the same builder's none)/median(row)"
		if withRef {
			speedupNote += fmt.Sprintf(", vs %s none = median(%s's none)/median(row), each", stats.ReferenceBuilder, stats.ReferenceBuilder)
		}
	}
	notes = append(notes,
		fmt.Sprintf("Statistics: median with its 95%% order-statistic interval (the one benchstat prints; n>=6 needed), %s with a bootstrap 95%% interval (n>=6 on both sides), p = Mann-Whitney U test against none (benchstat's). Rows with CV above %.0f%% are marked noisy.", speedupNote, stats.NoisyCV*100),
		"Cold: the first run of a round, right after the strategy's cache was reset (new layer cache repository, new volume warmed with the base images). Warm: later runs of the same round.",
	)
	if multi {
		notes = append(notes, "bench.txt holds every run in the Go benchmark format: benchstat old/bench.txt new/bench.txt compares two benchmarks, benchstat -col /builder bench.txt the builders of this one.")
	} else {
		notes = append(notes, "bench.txt holds every run in the Go benchmark format: benchstat old/bench.txt new/bench.txt compares two benchmarks.")
	}
	d.add(bullets(notes))

	networkSection(&d, rep)
	triggerSection(&d, rep.Stats)
	concurrencySection(&d, rep.Levels, rep.Ended, rep.Charts)
	soakSection(&d, rep.soaks, rep.gcLimit(), rep.Charts)

	for _, wl := range sections(rep.Stats) {
		rows := filterSection(rep.Stats, wl)
		wb := builderNames(rows)
		wMulti := len(wb) > 1
		wRef := wMulti && slices.Contains(wb, stats.ReferenceBuilder)
		var charts []Chart
		for _, c := range rep.Charts {
			if c.Section == wl {
				charts = append(charts, c)
			}
		}
		d.heading(2, sectionTitle(rows[0].Key))
		if wMulti {
			d.para("Which builder with which cache: median wall time of the warm and of the cold runs, seconds; in brackets the warm runs' speedup against the same builder without cache.")
			d.add(builderStrategyTable(rows))
			if wRef {
				d.para(fmt.Sprintf("Warm runs against %s without cache: median(%s's none)/median(row), 95%% interval.", stats.ReferenceBuilder, stats.ReferenceBuilder))
				d.add(referenceTable(rows))
			}
			for _, c := range charts {
				if c.Base == results.Slug(wl)+"-builders" {
					d.add(figure{c})
				}
			}
		} else if len(wb) == 1 {
			d.para("Builder: " + wb[0] + ".")
		}
		d.para(wallNote(rows))
		d.add(detailTable(rows, wMulti, wRef))
		if why := firstWhy(rows); why != "" {
			d.para("n/a: " + why + ".")
		}
		for _, c := range charts {
			if c.Base != results.Slug(wl)+"-builders" {
				d.add(figure{c})
			}
		}
		d.para("Where the time goes (median seconds of each part; the parts come from different runs, so they need not add up to the median wall time):")
		d.add(breakdownTable(rows, wMulti))
		if t, ok := trafficTable(res.Runs, rows, wMulti); ok {
			d.para("Registry traffic of a run (medians, from the registries' access logs): megabytes from upstream (base images; under the mirror strategy, what the mirror fetched) and pulls there (manifest GETs, as Docker Hub counts them), megabytes pulled from and pushed to the cache registry (layer caches, the image), and, where runs pulled through the mirror, megabytes it served. With packages proxied, the last column is what RUN instructions downloaded from the package cache (apt, Go modules, npm), under the upstream profile.")
			d.add(t)
		}
		if t, ok := nodeTable(res.Runs, rows, wMulti); ok {
			d.para(nodesText(res.Environment))
			d.add(t)
		}
		if t, ok := daemonTable(res.Runs, rows, wMulti); ok {
			d.para(daemonsText(res.Environment))
			d.add(t)
		}
		if t, ok := usageTable(res.Runs, rows, wMulti); ok {
			text := "What a run used (medians, from the kernel's counters of each pod's cgroup, read every 200 ms while it ran): CPU-seconds of the build task's pod and of every task's pod together, and the most memory the build task's pod held at once; then the size of the round's cache after the run: its layer cache repository (every blob once) and what its cache volume holds."
			if slices.ContainsFunc(res.Runs, func(r results.Run) bool { return r.DaemonCPUSeconds > 0 }) {
				text += " Under the daemon strategy the build runs in the round's daemon, not in the build task's pod: the run's CPU-seconds include the daemon's while the run went on (builds at once each count it over their own time, so the daemon's work is counted once per build in flight)."
			}
			if slices.ContainsFunc(res.Runs, daemonMeasured) {
				text += " The last two columns are the daemon's: the most memory it held at once since the round started, and what its state (its cache) takes on disk after the run."
			}
			d.para(text)
			d.add(t)
		}
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
			contradicted = append(contradicted, fmt.Sprintf("%s: %s: %s", runName(r), r.Check.Verdict, strings.Join(r.Check.Problems, "; ")))
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
	d.para(imageCheckNote(res.Runs))

	findingsSection(&d, res.Runs)

	d.heading(2, "Failed runs")
	nfailed := 0
	for _, r := range res.Runs {
		if r.Success {
			continue
		}
		// Every failed run is listed, with its log tail where there is one.
		nfailed++
		d.add(bullets{fmt.Sprintf("%s (%s): %s", runName(r), cmp.Or(r.PipelineRun, "no PipelineRun"), r.Reason)})
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

// imageCheckNote says how many successful runs' images were read back from
// the registry and found to hold their commit, and what the check could not
// follow.
func imageCheckNote(runs []results.Run) string {
	var succeeded, checked, files int
	skipped := map[string]bool{}
	var notes []string
	for _, r := range runs {
		if !r.Success {
			continue
		}
		succeeded++
		if r.Check == nil || r.Check.Image == nil {
			continue
		}
		checked++
		files += r.Check.Image.Files
		for _, s := range r.Check.Image.Skipped {
			skipped[s] = true
		}
		for _, n := range r.Check.Image.Notes {
			if !slices.Contains(notes, n) {
				notes = append(notes, n)
			}
		}
	}
	if succeeded == 0 {
		return ""
	}
	if checked == 0 {
		return fmt.Sprintf("No pushed image was checked against its commit (the image check): these %d successful runs were recorded before the check existed, or their images could not be read (the benchmark's log says why).", succeeded)
	}
	text := fmt.Sprintf("The image check read %d of %d successful runs' pushed images back from the cache registry and compared every file the Dockerfile copies from the commit into the image with the commit's bytes (%d files in all); a file missing or not the commit's, as after a stale cache hit, contradicts its run above.", checked, succeeded, files)
	if checked < succeeded {
		text += fmt.Sprintf(" %d images were not checked (results recorded before the check, or an image that could not be read: the benchmark's log says why).", succeeded-checked)
	}
	if len(skipped) > 0 {
		text += " Instructions it cannot follow, not checked: " + strings.Join(slices.Sorted(maps.Keys(skipped)), "; ") + "."
	}
	if len(notes) > 0 {
		text += " " + strings.Join(notes, "; ") + "."
	}
	return text
}

// runName names one run: "#12 small/buildkit/registry warm2".
func runName(r results.Run) string {
	return fmt.Sprintf("#%d %s/%s/%s %s%d", r.Seq, stats.KeyOf(r).Where(), stats.BuilderOf(r), r.Strategy, r.Cache, r.Attempt)
}

// findingsSection compares, for the warm runs with a layer cache, what
// each instruction's cache lookup gave with what the run's change predicts
// (see bench.CacheFindings), row by row; the differences are findings
// about the builder's cache, not failures.
func findingsSection(d *doc, runs []results.Run) {
	type row struct {
		key    stats.Key
		judged int
		with   int
		counts map[string]int
		order  []string
	}
	var rows []*row
	byKey := map[stats.Key]*row{}
	for _, r := range runs {
		// Runs recorded before the comparison existed carry no
		// instructions: they were not judged.
		if !r.Success || r.Cache != results.Warm || len(r.BuildLog.Instructions) == 0 || r.Strategy == stats.Baseline || r.Strategy == "mirror" {
			continue
		}
		k := stats.KeyOf(r)
		rw, ok := byKey[k]
		if !ok {
			rw = &row{key: k, counts: map[string]int{}}
			byKey[k] = rw
			rows = append(rows, rw)
		}
		rw.judged++
		if len(r.Findings) > 0 {
			rw.with++
		}
		for _, f := range r.Findings {
			if rw.counts[f] == 0 {
				rw.order = append(rw.order, f)
			}
			rw.counts[f]++
		}
	}
	if len(rows) == 0 {
		return
	}
	d.heading(3, "Expected against observed")
	d.para("Each warm run with a layer cache is judged instruction by instruction: what its change should leave cached (predicted from the Dockerfile: an instruction misses when it copies a changed file, follows a miss, builds on a changed base or stage, or is the first RUN after the stamp argument) against what the builder's log says it took from the cache. Each is judged on what the builder did before it in its stage, so one surprise is one finding: after an unexpected miss the rest of the stage is expected to miss. Instructions the builder does not look up (kaniko: COPY, and the rest of a stage after a miss) are not judged. A difference is a finding about the builder's cache, not a failure.")
	t := table{header: []string{"workload", "builder", "strategy", "findings (runs)", "warm runs judged", "with findings"}, numeric: 4}
	for _, rw := range rows {
		var fs []string
		for _, f := range rw.order {
			fs = append(fs, fmt.Sprintf("%s (%d)", f, rw.counts[f]))
		}
		found := "as expected"
		if len(fs) > 0 {
			found = "⚑ " + strings.Join(fs, "; ")
		}
		t.add(rw.key.Where(), rw.key.Builder, rw.key.Strategy, found, fmt.Sprint(rw.judged), fmt.Sprint(rw.with))
	}
	d.add(t)
}

// buildersTable describes the builders of a benchmark: what the pod needs,
// and a column per strategy saying how the builder implements it.
func buildersTable(infos []results.BuilderInfo) table {
	var strats []string
	seen := map[string]bool{}
	for _, b := range infos {
		for _, s := range b.Strategies {
			if !seen[s.Name] {
				seen[s.Name] = true
				strats = append(strats, s.Name)
			}
		}
	}
	t := table{header: append([]string{"builder", "pod needs"}, strats...)}
	for _, b := range infos {
		row := []string{b.Name, orNone(b.Pod)}
		for _, name := range strats {
			cell := "—"
			for _, s := range b.Strategies {
				if s.Name == name {
					cell = orNone(s.Summary)
				}
			}
			row = append(row, cell)
		}
		t.add(row...)
	}
	return t
}

func orNone(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// builderStrategyTable has a row per builder and a column per strategy,
// each cell the warm and the cold median: "warm 9.8s (1.90×) · cold 21.0s",
// the speedup against the same builder's none.
func builderStrategyTable(rows []stats.Stat) table {
	strats := strategies(rows)
	t := table{header: append([]string{"builder"}, strats...), numeric: 1}
	for _, b := range builderNames(rows) {
		row := []string{b}
		for _, s := range strats {
			var parts []string
			if st, ok := find(rows, b, s, results.Warm); ok {
				part := "warm " + secs(st.Median) + "s"
				if s != stats.Baseline && st.BaselineN > 0 {
					part += fmt.Sprintf(" (%.2f×)", st.Speedup)
				}
				parts = append(parts, part)
			}
			if st, ok := find(rows, b, s, results.Cold); ok {
				parts = append(parts, "cold "+secs(st.Median)+"s")
			}
			if len(parts) == 0 {
				parts = []string{"—"}
			}
			row = append(row, strings.Join(parts, " · "))
		}
		t.add(row...)
	}
	return t
}

// referenceTable has a row per builder and a column per strategy, each
// cell the warm runs' speedup against the reference builder without cache.
func referenceTable(rows []stats.Stat) table {
	strats := strategies(rows)
	t := table{header: append([]string{"builder"}, strats...), numeric: 1}
	for _, b := range builderNames(rows) {
		row := []string{b}
		for _, s := range strats {
			st, ok := find(rows, b, s, results.Warm)
			switch {
			case !ok || st.ReferenceN == 0:
				row = append(row, "—")
			case b == stats.ReferenceBuilder && s == stats.Baseline:
				row = append(row, "reference")
			default:
				row = append(row, vsReference(st))
			}
		}
		t.add(row...)
	}
	return t
}

// vsReference is a row's speedup against the reference builder without
// cache, with its interval: "2.40× (2.10–2.70×)", "2.40× (n=3)".
func vsReference(s stats.Stat) string {
	if !s.VsReferenceCI.OK {
		return fmt.Sprintf("%.2f× (n=%d)", s.VsReference, s.N)
	}
	return fmt.Sprintf("%.2f× (%s)", s.VsReference, formatInterval(s.VsReferenceCI, "×"))
}

// detailTable has every figure of every row; the builder column only when
// more than one builder ran, the speedup against the reference builder
// only when it is one of them.
func detailTable(rows []stats.Stat, multi, withRef bool) table {
	header := []string{"strategy", "cache", "n", "median", "95% CI", "mean", "min–max", "stddev", "CV", "speedup vs none", "95% CI", "±", "p"}
	if withRef {
		header = append(header, "vs "+stats.ReferenceBuilder+" none", "95% CI")
	}
	header = append(header, "hits / misses / local (mean)", "cache check", "failed")
	numeric := 2
	if multi {
		header, numeric = append([]string{"builder"}, header...), 3
	}
	t := table{header: header, numeric: numeric}
	for _, s := range rows {
		var row []string
		if s.N == 0 {
			row = []string{s.Strategy, string(s.Cache), "0", "", "", "", "", "", "", "", "", "", ""}
			if withRef {
				row = append(row, "", "")
			}
			row = append(row, "", "", fmt.Sprint(s.Failed))
		} else {
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
			row = []string{s.Strategy, string(s.Cache), fmt.Sprint(s.N), secs(s.Median), formatInterval(s.MedianCI, ""), secs(s.Mean),
				secs(s.Min) + "–" + secs(s.Max), secs(s.StdDev), cv, speed, speedCI, precision(s), p}
			if withRef {
				switch {
				case s.ReferenceN == 0:
					row = append(row, "", "")
				case s.Builder == stats.ReferenceBuilder && s.Strategy == stats.Baseline:
					row = append(row, "reference", "")
				default:
					row = append(row, fmt.Sprintf("%.2f×", s.VsReference), formatInterval(s.VsReferenceCI, "×"))
				}
			}
			row = append(row, fmt.Sprintf("%.1f / %.1f / %.1f", s.CacheHits, s.CacheMisses, s.LocalCacheHits), checks(s.Checks), fmt.Sprint(s.Failed))
		}
		if multi {
			row = append([]string{s.Builder}, row...)
		}
		t.add(row...)
	}
	return t
}

// breakdownTable splits each row's time into stats.BreakdownParts.
func breakdownTable(rows []stats.Stat, multi bool) table {
	header := append(append([]string{"strategy", "cache", "n"}, stats.BreakdownParts...), "cache prep (not in wall)")
	numeric := 2
	if multi {
		header, numeric = append([]string{"builder"}, header...), 3
	}
	t := table{header: header, numeric: numeric}
	for _, s := range rows {
		if s.N == 0 {
			continue
		}
		row := []string{s.Strategy, string(s.Cache), fmt.Sprint(s.N)}
		if multi {
			row = append([]string{s.Builder}, row...)
		}
		for _, part := range stats.BreakdownParts {
			row = append(row, secs(s.Breakdown[part]))
		}
		prep := ""
		if s.Prepare > 0 {
			prep = secs(s.Prepare)
		}
		t.add(append(row, prep)...)
	}
	return t
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

func firstWhy(rows []stats.Stat) string {
	for _, s := range rows {
		if s.N > 0 && !s.MedianCI.OK {
			return naNote(s.MedianCI.Why)
		}
	}
	return ""
}

// naNote explains a table's n/a intervals by the first row that has one.
func naNote(why string) string {
	return "intervals need at least 6 successful runs per row (" + why + "); add --warm-runs or --rounds"
}

// wallNote says what a section's wall time measures: a push event's
// PipelineRun is not created by the harness, so its clock starts when the
// watch sees it.
func wallNote(rows []stats.Stat) string {
	if len(rows) > 0 && rows[0].Start == results.StartTrigger {
		return "Wall time of a PipelineRun (harness clock, from the watch seeing the PipelineRun the push event's Trigger created to its completion), seconds."
	}
	return "Wall time of a PipelineRun (harness clock, create to completion), seconds."
}

func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

// sectionTitle is the heading of the section of k's workload, change,
// network profile and start (stats.Key.Where's parts, in words): "Workload
// small", "Workload small, upstream network wan" under a profile other than
// local, "Workload small, started by a push event" for runs a Trigger
// started.
func sectionTitle(k stats.Key) string {
	title := "Workload " + k.Workload
	if c := k.NamedChange(); c != "" {
		title += ", change " + c
	}
	if n := k.NamedNetwork(); n != "" {
		title += ", upstream network " + n
	}
	if s := k.NamedStart(); s != "" {
		title += ", " + startedBy(s)
	}
	if l := k.Level(); l > 1 {
		title += fmt.Sprintf(", warm runs of %d builds at once", l)
	}
	return title
}

// startedBy puts a start other than the API in words.
func startedBy(start string) string {
	if start == results.StartTrigger {
		return "started by a push event"
	}
	return "started by " + start
}

// networkSection compares, for each workload measured under two or more
// network profiles, each cache's warm speedup under each profile; runs a
// push event started are compared among themselves (see networkGroups).
func networkSection(d *doc, rep *Report) {
	started := false
	for _, wl := range networkGroups(rep.Stats) {
		rows := filterNetworkGroup(rep.Stats, wl)
		nets := networkNames(rows)
		if len(nets) < 2 {
			continue
		}
		if !started {
			d.heading(2, "Network profiles")
			d.para("What each cache saves as the upstream registry gets farther away: warm runs' speedup against the same builder without cache under the same profile, 95% interval, and the warm median.")
			started = true
		}
		group := rows[0].Key
		group.Network = ""
		d.heading(3, sectionTitle(group))
		t := table{header: append([]string{"builder", "strategy"}, nets...), numeric: 2}
		for _, b := range builderNames(rows) {
			for _, st := range strategies(filterBuilder(rows, b)) {
				row := []string{b, st}
				for _, net := range nets {
					cell := "—"
					for _, s := range rows {
						if s.Network != net || s.Builder != b || s.Strategy != st || s.Cache != results.Warm || s.N == 0 {
							continue
						}
						if st == stats.Baseline {
							cell = secs(s.Median) + "s"
						} else {
							cell = fmt.Sprintf("%.2f× (%s) · %ss", s.Speedup, formatInterval(s.SpeedupCI, "×"), secs(s.Median))
						}
					}
					row = append(row, cell)
				}
				t.add(row...)
			}
		}
		d.add(t)
		for _, c := range rep.Charts {
			if c.Base == results.Slug(wl)+"-networks" {
				d.add(figure{c})
			}
		}
	}
}

// daemonMeasured: the run recorded its daemon's memory or state.
func daemonMeasured(r results.Run) bool { return r.DaemonPeakMemoryBytes > 0 || r.DaemonStateBytes > 0 }

// usageTable gives each row's median CPU time and peak memory, from the
// runs that recorded them; ok is false when none did.
func usageTable(runs []results.Run, rows []stats.Stat, multi bool) (t table, ok bool) {
	header, numeric := []string{"strategy", "cache", "n", "build CPU-s", "run CPU-s", "build peak MiB", "cache repository MB", "cache volume MB"}, 2
	daemons := slices.ContainsFunc(runs, daemonMeasured)
	if daemons {
		header = append(header, "daemon peak MiB", "daemon state MB")
	}
	if multi {
		header, numeric = append([]string{"builder"}, header...), 3
	}
	t = table{header: header, numeric: numeric}
	for _, st := range rows {
		var build, all, peak, repo, volume, daemonPeak, daemonState []float64
		for _, r := range runs {
			if !r.Success || stats.KeyOf(r) != st.Key {
				continue
			}
			b, _ := r.Task("build-push")
			if b.CPUSeconds <= 0 {
				continue
			}
			build, all, peak = append(build, b.CPUSeconds), append(all, r.CPUSeconds()), append(peak, float64(b.PeakMemoryBytes)/(1<<20))
			if r.CacheBytes > 0 {
				repo = append(repo, float64(r.CacheBytes)/1e6)
			}
			if r.VolumeBytes > 0 {
				volume = append(volume, float64(r.VolumeBytes)/1e6)
			}
			if r.DaemonPeakMemoryBytes > 0 {
				daemonPeak = append(daemonPeak, float64(r.DaemonPeakMemoryBytes)/(1<<20))
			}
			if r.DaemonStateBytes > 0 {
				daemonState = append(daemonState, float64(r.DaemonStateBytes)/1e6)
			}
		}
		if len(build) == 0 {
			continue
		}
		ok = true
		row := []string{st.Strategy, string(st.Cache), fmt.Sprint(len(build)),
			fmt.Sprintf("%.1f", stats.MedianOf(build)), fmt.Sprintf("%.1f", stats.MedianOf(all)), fmt.Sprintf("%.0f", stats.MedianOf(peak)),
			medianOrDash(repo, "%.1f"), medianOrDash(volume, "%.1f")}
		if daemons {
			row = append(row, medianOrDash(daemonPeak, "%.0f"), medianOrDash(daemonState, "%.1f"))
		}
		if multi {
			row = append([]string{st.Builder}, row...)
		}
		t.add(row...)
	}
	return t, ok
}

// nodeTable gives each row's runs per node that ran their builds; ok is
// false unless the rows' builds ran on more than one node.
func nodeTable(runs []results.Run, rows []stats.Stat, multi bool) (t table, ok bool) {
	// With a cache volume per node, a build can find its node's volume
	// without the round's layers: those builds are counted apart.
	t, places := placeTable(runs, rows, multi, place{column: "node", cold: "on a cold volume", of: func(r results.Run) (string, bool) {
		b, _ := r.Task("build-push")
		return b.Node, r.ColdVolume
	}})
	return t, places > 1
}

// daemonTable gives each row's runs per daemon of its rounds that they
// built on; ok is false unless the rounds had several (--daemons), even
// if every build went to one of them (sticky).
func daemonTable(runs []results.Run, rows []stats.Stat, multi bool) (t table, ok bool) {
	t, places := placeTable(runs, rows, multi, place{column: "daemon", cold: "on a fresh daemon", of: func(r results.Run) (string, bool) {
		if r.Daemon == 0 {
			return "", false
		}
		return fmt.Sprint(r.Daemon), r.ColdDaemon
	}})
	return t, places > 0
}

// place is where a run's build went, for a table of each row's runs per
// place: of names it ("" for nowhere known) and says whether the cache
// there was cold for a warm run; column and cold head their columns.
type place struct {
	column, cold string
	of           func(results.Run) (string, bool)
}

// placeTable gives each row's runs per place, and how many places the
// rows' builds went to.
func placeTable(runs []results.Run, rows []stats.Stat, multi bool, p place) (t table, places int) {
	header, numeric := []string{"strategy", "cache", p.column, "n", "median s", "layer cache hit rate"}, 3
	anyCold := slices.ContainsFunc(runs, func(r results.Run) bool { _, cold := p.of(r); return cold })
	if anyCold {
		header = append(header, p.cold)
	}
	if multi {
		header, numeric = append([]string{"builder"}, header...), 4
	}
	t = table{header: header, numeric: numeric}
	seen := map[string]bool{}
	for _, st := range rows {
		type perPlace struct {
			secs               []float64
			hits, misses, cold int
		}
		by := map[string]*perPlace{}
		for _, r := range runs {
			where, cold := p.of(r)
			if !r.Success || where == "" || stats.KeyOf(r) != st.Key {
				continue
			}
			seen[where] = true
			n := by[where]
			if n == nil {
				n = &perPlace{}
				by[where] = n
			}
			n.secs = append(n.secs, r.WallSeconds())
			n.hits += r.BuildLog.CacheHits
			n.misses += r.BuildLog.CacheMisses
			if cold {
				n.cold++
			}
		}
		for _, where := range slices.Sorted(maps.Keys(by)) {
			n := by[where]
			rate := "–"
			if n.hits+n.misses > 0 {
				rate = fmt.Sprintf("%.0f%% (%d of %d)", 100*float64(n.hits)/float64(n.hits+n.misses), n.hits, n.hits+n.misses)
			}
			row := []string{st.Strategy, string(st.Cache), where, fmt.Sprint(len(n.secs)), fmt.Sprintf("%.1f", stats.MedianOf(n.secs)), rate}
			if anyCold {
				cold := fmt.Sprint(n.cold)
				if st.Cache == results.Cold {
					cold = "–" // a cold run's cache is cold by definition
				}
				row = append(row, cold)
			}
			if multi {
				row = append([]string{st.Builder}, row...)
			}
			t.add(row...)
		}
	}
	return t, len(seen)
}

// nodesText introduces the table of where the builds ran.
func nodesText(env results.Environment) string {
	placed := "each round's runs on one node, the rounds in turn"
	switch env.Settings["cache-volume"] {
	case "per-node":
		placed = "each round's runs on one node, the rounds in turn, but a warm run's builds at once spread over the nodes, each mounting its node's cache volume; a build on a node whose volume no build of its round had used is on a cold volume: the base images were there, the round's layers not"
	case "shared":
		placed = "each round's runs on one node, the rounds in turn, but a warm run's builds at once spread over the nodes; a round's cache volume is one folder every node mounts, warmed on another node than the round's"
	}
	return "Where the builds ran (" + placed + "): per node, the runs, their median wall time in seconds, and the layer cache's hit rate, the hits in the builders' logs over the hits and misses together."
}

// daemonsText introduces the table of the daemons the builds went to.
func daemonsText(env results.Environment) string {
	placed := "sticky: every build of a workload went to the same daemon"
	if env.Settings["placement"] == "spread" {
		placed = "spread: the round's builds went to its daemons in turn, so a warm build could go to a daemon that no build of its round had used, find nothing cached there and be judged as a cold build"
	}
	return "Which daemon the builds went to (each round of the daemon strategy had " + env.Settings["daemons"] + " daemons, each started empty; " + placed + "): per daemon, the runs, their median wall time in seconds, and the layer cache's hit rate, the hits in the builders' logs over the hits and misses together."
}

// medianOrDash is the median of vs in format, or "–" for none.
func medianOrDash(vs []float64, format string) string {
	if len(vs) == 0 {
		return "–"
	}
	return fmt.Sprintf(format, stats.MedianOf(vs))
}

// trafficTable gives each row's median registry traffic, with the
// mirror's column when any run pulled through it; false when no run of the
// rows recorded any (results from before it was measured).
func trafficTable(runs []results.Run, rows []stats.Stat, multi bool) (table, bool) {
	withMirror := slices.ContainsFunc(runs, func(r results.Run) bool { return r.Traffic["mirror"].Requests > 0 })
	header := []string{"strategy", "cache", "n", "upstream MB", "upstream pulls", "cache MB pulled", "cache MB pushed"}
	if withMirror {
		header = append(header, "mirror MB")
	}
	withPackages := slices.ContainsFunc(runs, func(r results.Run) bool { return r.Packages != nil })
	if withPackages {
		header = append(header, "packages MB")
	}
	numeric := 2
	if multi {
		header, numeric = append([]string{"builder"}, header...), 3
	}
	t := table{header: header, numeric: numeric}
	any := false
	for _, st := range rows {
		var upMB, pulls, cachePulled, cachePushed, mirrorMB, packagesMB []float64
		for _, r := range runs {
			if !r.Success || r.Traffic == nil || stats.KeyOf(r) != st.Key {
				continue
			}
			up, cache := r.Traffic["upstream"], r.Traffic["cache"]
			upMB = append(upMB, float64(up.PulledBytes)/1e6)
			pulls = append(pulls, float64(up.Pulls))
			cachePulled = append(cachePulled, float64(cache.PulledBytes)/1e6)
			cachePushed = append(cachePushed, float64(cache.PushedBytes)/1e6)
			mirrorMB = append(mirrorMB, float64(r.Traffic["mirror"].PulledBytes)/1e6)
			if r.Packages != nil {
				packagesMB = append(packagesMB, float64(r.Packages.Bytes)/1e6)
			}
		}
		if len(upMB) == 0 {
			continue
		}
		any = true
		row := []string{st.Strategy, string(st.Cache), fmt.Sprint(len(upMB)),
			fmt.Sprintf("%.1f", stats.MedianOf(upMB)), fmt.Sprintf("%.0f", stats.MedianOf(pulls)),
			fmt.Sprintf("%.1f", stats.MedianOf(cachePulled)), fmt.Sprintf("%.1f", stats.MedianOf(cachePushed))}
		if withMirror {
			row = append(row, fmt.Sprintf("%.1f", stats.MedianOf(mirrorMB)))
		}
		if withPackages {
			cell := "–"
			if len(packagesMB) > 0 {
				cell = fmt.Sprintf("%.1f", stats.MedianOf(packagesMB))
			}
			row = append(row, cell)
		}
		if multi {
			row = append([]string{st.Builder}, row...)
		}
		t.add(row...)
	}
	return t, any
}
