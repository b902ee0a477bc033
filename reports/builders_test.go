package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchproc"
	"gonum.org/v1/plot/vg"

	"github.com/cachebench/cachebench/decision"
	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/results/resultstest"
	"github.com/cachebench/cachebench/stats"
)

// twoBuilderEnv describes the builders of resultstest.BuilderSample.
var twoBuilderEnv = results.Environment{
	RunID: "20261201-100000", Started: time.Now(), CPUs: 4,
	Builders: []results.BuilderInfo{
		{Name: "kaniko", Pod: "runs as root", Strategies: []results.StrategyInfo{
			{Name: "none", Summary: "no cache"}, {Name: "registry", Summary: "--cache-repo on the local registry"}, {Name: "pv-warm", Summary: "base images from a warmed volume"}}},
		{Name: "buildkit", Pod: "rootless; seccomp and AppArmor unconfined", Strategies: []results.StrategyInfo{
			{Name: "none", Summary: "no cache"}, {Name: "registry", Summary: "--export-cache type=registry"}}},
	},
}

func renderRuns(t *testing.T, env results.Environment, runs []results.Run) (string, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), env.RunID)
	w, err := results.Create(dir, env)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if err := w.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	if _, err := Render(dir, decision.Inputs{}); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	return dir, string(md)
}

// sampleWithout drops the runs of one builder and strategy.
func sampleWithout(runs []results.Run, builder, strategy string) []results.Run {
	return slices.DeleteFunc(slices.Clone(runs), func(r results.Run) bool {
		return stats.BuilderOf(r) == builder && r.Strategy == strategy
	})
}

func TestSummaryLines(t *testing.T) {
	near := func(builder string, walls ...float64) []results.Run {
		var runs []results.Run
		runs = append(runs, resultstest.WithBuilder(builder, resultstest.Runs("small", "none", results.Warm, walls...))...)
		return runs
	}
	for _, tc := range []struct {
		name   string
		runs   []results.Run
		want   []string // lines, in this order, each a prefix
		absent []string
	}{{
		name: "one builder reads as before",
		runs: resultstest.Sample(),
		want: []string{
			"no cache: cold runs 17.0s (n=1; an interval needs n≥6); warm runs 16.1s (15.8–16.5s, n=6)",
			"warm registry cache: 1.60× faster than no cache (",
			"warm pv-warm cache: ",
			"cold runs with a registry cache: 11% slower than no cache (n=1; an interval needs n≥6 here and in the baseline)",
		},
		absent: []string{"fastest", "kaniko:"},
	}, {
		name: "two builders: the fastest against kaniko, then each builder",
		runs: resultstest.BuilderSample(),
		want: []string{
			"fastest warm: buildkit with a registry cache (6.15s), 2.63× faster than kaniko without cache (",
			"kaniko: no cache: cold runs 17.0s",
			"kaniko: warm registry cache: 1.60× faster than no cache (",
			"buildkit: no cache: cold runs 13.0s",
			"buildkit: warm registry cache: 1.98× faster than no cache (",
			"buildkit: cold runs with a registry cache: 15% slower than no cache (n=1; an interval needs n≥6 here and in the baseline)",
		},
	}, {
		name: "without kaniko, the fastest stands alone",
		runs: append(resultstest.WithBuilder("buildah", resultstest.Runs("small", "registry", results.Warm, 9, 9, 9, 9, 9, 9)),
			resultstest.WithBuilder("buildkit", resultstest.Runs("small", "registry", results.Warm, 6, 6.1, 6.2, 6.1, 6, 6.2))...),
		want: []string{"fastest warm: buildkit with a registry cache, 6.10s (6.00–6.20s, n=6; kaniko did not run)"},
	}, {
		name: "fastest within noise of kaniko",
		runs: append(near("kaniko", 10, 10.4, 9.6, 10.2, 9.8, 10.1), near("buildkit", 10.1, 9.5, 10.3, 9.9, 9.7, 10.2)...),
		want: []string{
			"fastest warm: buildkit without cache (10.0s), no clear difference from kaniko without cache (1.01×, interval 0.96–1.05×, n=6)",
			"close behind: kaniko without cache (10.1s) lies within the fastest's interval (9.50–10.3s): not clearly slower",
		},
	}, {
		name: "kaniko without cache is the fastest",
		runs: append(near("kaniko", 5, 5, 5, 5, 5, 5), near("buildkit", 9, 9, 9, 9, 9, 9)...),
		want: []string{"fastest warm: kaniko without cache, 5.00s (5.00–5.00s, n=6): no builder or cache beat it"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			lines := summaryLines(stats.Summarize(tc.runs))
			all := strings.Join(lines, "\n")
			i := 0
			for _, want := range tc.want {
				for i < len(lines) && !strings.HasPrefix(lines[i], want) {
					i++
				}
				if i == len(lines) {
					t.Fatalf("no line (in order) starting %q in\n%s", want, all)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(all, a) {
					t.Errorf("lines hold %q:\n%s", a, all)
				}
			}
			if strings.Contains(all, "as fast than") {
				t.Errorf("bad grammar:\n%s", all)
			}
		})
	}
}

func TestCompared(t *testing.T) {
	for _, tc := range []struct {
		speedup float64
		ci      stats.Interval
		n       int
		want    string
	}{
		{1.42, stats.Interval{Lo: 1.32, Hi: 1.61, OK: true}, 6, "1.42× faster than no cache (1.32–1.61×, n=6)"},
		{0.9, stats.Interval{Lo: 0.85, Hi: 0.95, OK: true}, 6, "11% slower than no cache (5–18% slower, n=6)"},
		{1.02, stats.Interval{Lo: 0.95, Hi: 1.1, OK: true}, 6, "no clear difference from no cache (1.02×, interval 0.95–1.10×, n=6)"},
		{1.0, stats.Interval{}, 3, "as fast as no cache (n=3; an interval needs n≥6 here and in the baseline)"},
	} {
		if got := compared(tc.speedup, tc.ci, tc.n, "no cache"); got != tc.want {
			t.Errorf("compared(%v, %+v) = %q, want %q", tc.speedup, tc.ci, got, tc.want)
		}
	}
}

func TestBuilderTables(t *testing.T) {
	rows := stats.Summarize(sampleWithout(resultstest.BuilderSample(), "buildkit", "pv-warm"))
	bs := builderStrategyTable(rows)
	if got := strings.Join(bs.header, ","); got != "builder,none,registry,pv-warm" {
		t.Fatalf("header %s", got)
	}
	want := [][]string{
		{"kaniko", "warm 16.1s · cold 17.0s", "warm 10.1s (1.60×) · cold 18.0s", "warm 10.1s (1.60×) · cold 18.5s"},
		{"buildkit", "warm 12.1s · cold 13.0s", "warm 6.15s (1.98×) · cold 14.0s", "—"},
	}
	if !slices.EqualFunc(bs.rows, want, slices.Equal) {
		t.Errorf("builder × strategy rows\n%q\nwant\n%q", bs.rows, want)
	}
	ref := referenceTable(rows)
	if ref.rows[0][1] != "reference" || ref.rows[1][3] != "—" {
		t.Errorf("reference rows %q", ref.rows)
	}
	if c := ref.rows[1][2]; !strings.HasPrefix(c, "2.63× (") || !strings.HasSuffix(c, "×)") {
		t.Errorf("buildkit registry vs kaniko none = %q", c)
	}
}

func TestDetailTableColumns(t *testing.T) {
	// A group whose runs all failed still gets its row.
	two := stats.Summarize(append(resultstest.BuilderSample(), results.Run{Coordinates: results.Coordinates{Workload: "small", Builder: "buildkit", Strategy: "extra", Cache: results.Warm, Attempt: 9}}))
	noRef := stats.Summarize(slices.DeleteFunc(resultstest.BuilderSample(), func(r results.Run) bool { return r.Builder == "kaniko" }))
	noRef = append(noRef, stats.Summarize(resultstest.WithBuilder("buildah", resultstest.Runs("small", "none", results.Warm, 20)))...)
	for _, tc := range []struct {
		name         string
		rows         []stats.Stat
		multi, ref   bool
		wantBuilder  bool
		wantVsKaniko bool
	}{
		{"one builder", stats.Summarize(resultstest.Sample()), false, false, false, false},
		{"two with kaniko", two, true, true, true, true},
		{"two without kaniko", noRef, true, false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dt := detailTable(tc.rows, tc.multi, tc.ref)
			if got := dt.header[0] == "builder"; got != tc.wantBuilder {
				t.Errorf("builder column: %v, want %v", got, tc.wantBuilder)
			}
			if got := slices.Contains(dt.header, "vs kaniko none"); got != tc.wantVsKaniko {
				t.Errorf("vs kaniko column: %v, want %v", got, tc.wantVsKaniko)
			}
			for _, row := range dt.rows {
				if len(row) != len(dt.header) {
					t.Fatalf("row of %d cells under %d headers: %q", len(row), len(dt.header), row)
				}
			}
			bt := breakdownTable(tc.rows, tc.multi)
			if got := bt.header[0] == "builder"; got != tc.wantBuilder {
				t.Errorf("breakdown builder column: %v, want %v", got, tc.wantBuilder)
			}
		})
	}
	dt := detailTable(two, true, true)
	vs := slices.Index(dt.header, "vs kaniko none")
	for _, row := range dt.rows {
		switch {
		case row[0] == "kaniko" && row[1] == "none" && row[vs] != "reference":
			t.Errorf("kaniko none should be the reference: %q", row)
		case row[0] == "buildkit" && row[1] == "registry" && row[2] == "warm" && (!strings.HasPrefix(row[vs], "2.63×") || row[vs+1] == "n/a"):
			t.Errorf("buildkit registry warm vs kaniko: %q", row)
		}
	}
}

func TestRenderBuilders(t *testing.T) {
	dir, md := renderRuns(t, twoBuilderEnv, resultstest.BuilderSample())
	for _, f := range []string{"small-builders.png", "small-builders.svg", "small-wall.png", "small-phases.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	for _, want := range []string{
		"### Builders and strategies",
		"| buildkit | rootless; seccomp and AppArmor unconfined | no cache | --export-cache type=registry | — |",
		"| builder | none | registry | pv-warm |",
		"| kaniko | warm 16.1s · cold 17.0s | warm 10.1s (1.60×) · cold 18.0s |",
		"| kaniko | reference | 1.60× (",
		"![small: builders side by side",
		"| builder | strategy | cache | n |",
		"| vs kaniko none | 95% CI |",
		"| buildkit | registry | warm | 6 |",
		"- fastest warm: buildkit with a registry cache",
		"small/buildkit/registry warm0 (no PipelineRun): boom",
		"benchstat -col /builder",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	// The builders chart comes first in its workload, before the detailed table.
	if i, j := strings.Index(md, "small-builders.png"), strings.Index(md, "| builder | strategy | cache |"); i < 0 || i > j {
		t.Error("the builders chart should come before the detailed table")
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "small-builders.svg"))
	for _, want := range []string{">kaniko", ">buildkit", ">none", ">registry", ">pv-warm", "warm runs", "cold runs"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("small-builders.svg lacks %q", want)
		}
	}
	html, _ := os.ReadFile(filepath.Join(dir, HTMLFile))
	if !bytes.Contains(html, []byte("<h3>Builders and strategies</h3>")) {
		t.Error("report.html lacks the builders table")
	}
}

func TestRenderOneBuilderHasNoBuilderClutter(t *testing.T) {
	env := twoBuilderEnv
	env.Builders = env.Builders[:1]
	dir, md := renderRuns(t, env, resultstest.Sample())
	if _, err := os.Stat(filepath.Join(dir, "small-builders.png")); err == nil {
		t.Error("a builders chart with one builder")
	}
	for _, absent := range []string{"| builder | strategy", "| builder | none", "vs kaniko", "fastest", "kaniko: ", "Which builder"} {
		if strings.Contains(md, absent) {
			t.Errorf("one builder's report.md holds %q", absent)
		}
	}
	for _, want := range []string{"Builder: kaniko.", "| strategy | cache | n |", "| kaniko | runs as root |", "small/kaniko/registry warm0"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	// Results without builders in the environment: no builders table.
	env.Builders = nil
	_, md = renderRuns(t, env, resultstest.Sample())
	if strings.Contains(md, "Builders and strategies") {
		t.Error("a builders table without builders")
	}
}

func TestChartsGrowWithColumns(t *testing.T) {
	var runs []results.Run
	builders := []string{"kaniko", "kaniko-chainguard", "buildkit", "buildah"}
	for _, b := range builders {
		for _, s := range []string{"none", "registry", "pv-warm"} {
			runs = append(runs, resultstest.WithBuilder(b, resultstest.Runs("small", s, results.Cold, 18))...)
			runs = append(runs, resultstest.WithBuilder(b, resultstest.Runs("small", s, results.Warm, 10, 11))...)
		}
	}
	rows := stats.Summarize(runs)
	one, _, err := phaseChart("small", stats.Summarize(resultstest.Sample()))
	if err != nil {
		t.Fatal(err)
	}
	many, _, err := phaseChart("small", rows)
	if err != nil {
		t.Fatal(err)
	}
	w1, _, _ := one.size()
	w24, _, _ := many.size()
	if w1 != chartWidth {
		t.Errorf("6 columns: width %v, want %v", w1, chartWidth)
	}
	// 24 columns, each at least as wide as a bar and its label.
	if w24 < 24*vg.Points(40) {
		t.Errorf("24 columns in %v", w24)
	}
	dir := t.TempDir()
	charts, err := Charts(dir, rows)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range charts {
		names = append(names, c.Base)
		if c.Base == "small-phases" && !c.Wide {
			t.Error("a 24-column chart should scroll in HTML, not shrink")
		}
	}
	if got := strings.Join(names, ","); got != "small-builders,small-wall,small-tasks,small-phases" {
		t.Errorf("charts %s", got)
	}
	// Each builder named once on the X axis, under its columns.
	svg, _ := os.ReadFile(filepath.Join(dir, "small-phases.svg"))
	for _, b := range builders {
		if n := bytes.Count(svg, []byte(">"+b+"<")); n != 1 {
			t.Errorf("%s named %d times in small-phases.svg", b, n)
		}
	}
}

func TestBenchTextNamesTheBuilder(t *testing.T) {
	runs := append(resultstest.BuilderSample(), resultstest.Runs("old", "none", results.Warm, 12)...)
	var buf bytes.Buffer
	if err := WriteBenchText(&buf, &results.Results{Runs: runs}); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	// benchstat -col /builder: project each result on its builder.
	parser := new(benchproc.ProjectionParser)
	byBuilder, err := parser.Parse("/builder", nil)
	if err != nil {
		t.Fatal(err)
	}
	rest, err := parser.Parse(".name /workload /strategy /cache", nil)
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string]map[string]bool{}
	r := benchfmt.NewReader(strings.NewReader(text), "bench.txt")
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		if !ok {
			if e, ok := r.Result().(*benchfmt.SyntaxError); ok {
				t.Fatalf("bench.txt does not parse: %v", e)
			}
			continue
		}
		base, parts := res.Name.Parts()
		if string(base) != "Cache" || len(parts) != 4 {
			t.Fatalf("name %s: base %s, parts %q", res.Name, base, parts)
		}
		for i, key := range []string{"workload", "builder", "strategy", "cache"} {
			if !strings.HasPrefix(string(parts[i]), "/"+key+"=") {
				t.Errorf("name %s: part %d is %s, want /%s=...", res.Name, i, parts[i], key)
			}
		}
		b := byBuilder.Project(res).StringValues()
		if groups[b] == nil {
			groups[b] = map[string]bool{}
		}
		groups[b][rest.Project(res).StringValues()] = true
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if _, ok := groups["kaniko"]; !ok || len(groups) != 2 || groups["buildkit"] == nil {
		t.Fatalf("builders %v, want kaniko and buildkit", groups)
	}
	if !groups["buildkit"]["Cache small registry warm"] || !groups["kaniko"]["Cache old none warm"] {
		t.Errorf("groups %v", groups)
	}
	for _, want := range []string{
		"BenchmarkCache/workload=small/builder=buildkit/strategy=pv-warm/cache=warm 1 ",
		"BenchmarkCache/workload=old/builder=kaniko/strategy=none/cache=warm 1 ", // recorded without a builder
	} {
		if !strings.Contains(text, want) {
			t.Errorf("bench.txt lacks %q", want)
		}
	}
	if got := BenchName(results.Run{Coordinates: results.Coordinates{Workload: "a b", Builder: "x/y", Strategy: "s", Cache: results.Cold}}); got != "Cache/workload=a-b/builder=x-y/strategy=s/cache=cold" {
		t.Errorf("BenchName = %s", got)
	}
}

func TestTrendNamesBuilders(t *testing.T) {
	root := t.TempDir()
	steady := []float64{10, 10.2, 9.9, 10.1, 10.3, 10.0}
	both := func() []results.Run {
		return append(resultstest.Runs("small", "registry", results.Warm, steady...),
			resultstest.WithBuilder("buildkit", resultstest.Runs("small", "registry", results.Warm, 6, 6.2, 5.9, 6.1, 6.3, 6.0))...)
	}
	writeResults(t, root, "20261101-020000", both())
	writeResults(t, root, "20261102-020000", both())
	tr, err := RenderTrend(root)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, s := range tr.Series {
		keys = append(keys, s.Key.String())
	}
	if got := strings.Join(keys, ","); got != "small/kaniko/registry/warm,small/buildkit/registry/warm" {
		t.Fatalf("series %s", got)
	}
	md, _ := os.ReadFile(filepath.Join(root, TrendDir, "trend.md"))
	for _, want := range []string{"| builder | strategy | cache |", "| buildkit | registry | warm | 20261102-020000 | 6 |", "| kaniko | registry | warm | 20261101-020000 | 6 |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("trend.md lacks %q:\n%s", want, md)
		}
	}
	svg, _ := os.ReadFile(filepath.Join(root, TrendDir, "trend-small.svg"))
	// A panel per builder, each titled with its name; the legend names
	// strategies only, once.
	for _, want := range []string{">small, kaniko: median wall time per benchmark<", ">small, buildkit: median wall time per benchmark<", ">registry warm<"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("the trend chart lacks %q", want)
		}
	}
	if n := bytes.Count(svg, []byte(">registry warm<")); n != 1 {
		t.Errorf("the legend names registry warm %d times, want once", n)
	}
}

// The host's Docker and the docker builder's image are two rows of the
// environment, told apart; without that builder the host's keeps its name.
func TestEnvironmentTellsTheHostsDockerApart(t *testing.T) {
	env := results.Environment{RunID: "dind", Started: time.Now(), CPUs: 2, Docker: "20.10.24+dfsg1", Versions: map[string]string{"docker": "cachebench.local/docker:bookworm"}}
	_, md := renderRuns(t, env, resultstest.Sample())
	for _, want := range []string{"| docker (host) | 20.10.24+dfsg1 |", "| docker | cachebench.local/docker:bookworm |"} {
		if !strings.Contains(md, want) {
			t.Errorf("the environment lacks %q:\n%s", want, md[strings.Index(md, "## Environment"):])
		}
	}
	env.RunID, env.Versions = "host", nil
	if _, md := renderRuns(t, env, resultstest.Sample()); !strings.Contains(md, "| docker | 20.10.24+dfsg1 |") {
		t.Errorf("without the docker builder, the host's Docker is no longer \"docker\":\n%s", md[strings.Index(md, "## Environment"):])
	}
}
