package reports

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"

	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/results/resultstest"
	"github.com/cachebench/cachebench/stats"
)

// triggered is a copy of runs as a push event would have started them:
// the EventListener and the Trigger take eventMillis (10ms more for each
// later attempt of a round) before the watch sees the PipelineRun, its
// first step runs a second later, and the build takes extra seconds more
// than the same build created through the API.
func triggered(runs []results.Run, eventMillis int64, extra float64) []results.Run {
	var out []results.Run
	for i, r := range runs {
		r.Start = results.StartTrigger
		r.WallMillis += int64(extra * 1000)
		wait := eventMillis + int64(r.Attempt*10)
		r.Trigger = &results.TriggerTimes{
			EventID:           fmt.Sprintf("event-%d", i),
			AcceptedMillis:    40,
			PipelineRunMillis: wait,
			FirstStepMillis:   wait + 1000,
		}
		out = append(out, r)
	}
	return out
}

// withSeq numbers runs in order, as results.jsonl does.
func withSeq(runs []results.Run) []results.Run {
	for i := range runs {
		runs[i].Seq = i + 1
	}
	return runs
}

// Runs a push event started are rows of their own, never pooled with
// the API's runs of the same builder, strategy, workload and cache, nor
// compared with their baseline.
func TestTriggerRowsAreKeptApart(t *testing.T) {
	api := resultstest.Sample()
	mixed := append(slices.Clone(api), triggered(resultstest.Sample(), 800, 30)...)
	alone := stats.Summarize(api)
	rows := stats.Summarize(mixed)
	if len(rows) != 2*len(alone) {
		t.Fatalf("%d rows, want %d (every row once per start)", len(rows), 2*len(alone))
	}
	// The API's rows come first and are exactly what they are without the
	// trigger's runs beside them.
	if !reflect.DeepEqual(rows[:len(alone)], alone) {
		t.Errorf("the API's rows changed when trigger runs were added:\n%+v\nwant\n%+v", rows[:len(alone)], alone)
	}
	for _, tc := range []struct {
		row        int
		key        string
		start      string
		median     float64
		eventToRun float64 // 0: none measured
	}{
		{0, "small/kaniko/none/cold", results.StartAPI, 17, 0},
		{3, "small/kaniko/registry/warm", results.StartAPI, 10.15, 0},
		{len(alone), "small~trigger/kaniko/none/cold", results.StartTrigger, 47, 0.8},
		{len(alone) + 3, "small~trigger/kaniko/registry/warm", results.StartTrigger, 40.15, 0.825},
	} {
		s := rows[tc.row]
		if s.Key.String() != tc.key || s.Start != tc.start {
			t.Errorf("row %d: %s (start %s), want %s (start %s)", tc.row, s.Key, s.Start, tc.key, tc.start)
			continue
		}
		if !near(s.Median, tc.median) || !near(s.EventToPipelineRun.Median, tc.eventToRun) {
			t.Errorf("%s: median %v, event to PipelineRun %v; want %v, %v", s.Key, s.Median, s.EventToPipelineRun.Median, tc.median, tc.eventToRun)
		}
	}
	// The trigger's registry row is compared with the trigger's none
	// (median 46.2s), not with the API's.
	if reg := rows[len(alone)+3]; reg.BaselineN != 7 || !near(reg.Speedup, 46.2/40.15) {
		t.Errorf("trigger registry warm: speedup %v over n=%d, want %v over 7", reg.Speedup, reg.BaselineN, 46.2/40.15)
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

// bench.txt: a trigger's runs carry a start: line and the event's times;
// the API's runs keep the lines they had before starts existed.
func TestBenchTextStart(t *testing.T) {
	api := resultstest.Sample()
	legacy := benchText(t, api)
	for _, tc := range []struct {
		name   string
		runs   []results.Run
		want   []string
		absent []string
	}{{
		name:   "api only",
		runs:   api,
		absent: []string{"start:", UnitEventToPipelineRun, UnitEventToFirstStep},
	}, {
		name: "api and trigger",
		runs: append(slices.Clone(api), triggered(resultstest.Sample(), 800, 30)...),
		want: []string{
			"\nstart: trigger\n\nBenchmarkCache/workload=small/builder=kaniko/strategy=none/cache=cold 1 4.7e+10 ns/op ",
			" 0.8 event-pipelinerun-s/op 1.8 event-first-step-s/op\n",
		},
	}, {
		name: "trigger, then api again",
		runs: append(triggered(resultstest.Runs("small", "none", results.Warm, 40), 900, 0), resultstest.Runs("small", "none", results.Warm, 10)...),
		want: []string{"\nstart:\n\nBenchmarkCache/workload=small/builder=kaniko/strategy=none/cache=warm 1 1e+10 ns/op "},
	}, {
		name:   "trigger without a first step",
		runs:   withoutFirstStep(triggered(resultstest.Runs("small", "none", results.Warm, 40), 900, 0)),
		want:   []string{"start: trigger\n", " 0.9 event-pipelinerun-s/op\n"},
		absent: []string{UnitEventToFirstStep},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			text := benchText(t, tc.runs)
			for _, want := range tc.want {
				if !strings.Contains(text, want) {
					t.Errorf("bench.txt lacks %q:\n%s", want, text)
				}
			}
			for _, absent := range tc.absent {
				if strings.Contains(text, absent) {
					t.Errorf("bench.txt has %q:\n%s", absent, text)
				}
			}
			checkStarts(t, text)
		})
	}
	// An API run recorded before starts existed and one that says api
	// write the same.
	explicit := slices.Clone(api)
	for i := range explicit {
		explicit[i].Start = results.StartAPI
	}
	if got := benchText(t, explicit); got != legacy {
		t.Errorf("start api changed bench.txt:\n%s\nwant\n%s", got, legacy)
	}
}

func withoutFirstStep(runs []results.Run) []results.Run {
	for i := range runs {
		runs[i].Trigger.FirstStepMillis = 0
	}
	return runs
}

func benchText(t *testing.T, runs []results.Run) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteBenchText(&buf, &results.Results{Environment: results.Environment{CPUs: 2}, Runs: runs}); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// checkStarts reads bench.txt back as benchstat does: every result with
// the event's times is configured start=trigger, every other has no start
// (so benchstat never puts the two in one table).
func checkStarts(t *testing.T, text string) {
	t.Helper()
	r := benchfmt.NewReader(strings.NewReader(text), "bench.txt")
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.Result:
			_, timed := rec.Value(UnitEventToPipelineRun)
			if start := rec.GetConfig("start"); timed != (start == results.StartTrigger) || (start != "" && start != results.StartTrigger) {
				t.Errorf("%s: start %q, event times %v", rec.Name, start, timed)
			}
		case *benchfmt.SyntaxError:
			t.Fatalf("bench.txt does not parse: %v", rec)
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
}

// report.md has the section on push events only when a push event started
// a run, and then a section per workload for those runs.
func TestTriggerSection(t *testing.T) {
	for _, tc := range []struct {
		name   string
		runs   []results.Run
		want   []string
		absent []string
	}{{
		name:   "api only",
		runs:   resultstest.Sample(),
		absent: []string{"Push to build", "push event", "~trigger", "event→"},
	}, {
		name: "api and trigger",
		runs: append(resultstest.Sample(), triggered(resultstest.Sample(), 800, 30)...),
		want: []string{
			"## Push to build: Tekton Triggers\n\nThese runs began with a signed GitHub-style push event",
			"triggers.tekton.dev/triggers-eventid",
			"| workload | builder | strategy | cache | n | event→PipelineRun (ms) | 95% CI | event→first step (ms) | 95% CI | wall time (s) |",
			"| small | kaniko | none | cold | 1 | 800 | n/a | 1800 | n/a | 47.0 |",
			"| small | kaniko | registry | warm | 6 | 825 | 800–850 | 1825 | 1800–1850 | 40.2 |",
			"n/a: intervals need at least 6 successful runs per row (n=1: a 95% interval of the median needs n>=6); add --warm-runs or --rounds.",
			"**small~trigger**",
			"## Workload small, started by a push event\n",
			"from the watch seeing the PipelineRun the push event's Trigger created to its completion",
			"![small~trigger: wall time per strategy, cold and warm](small-trigger-wall.png)",
			"#44 small~trigger/kaniko/registry warm0 (no PipelineRun): boom",
			// The API's part reads as it did.
			"## Workload small\n", "**small** (median wall time", "| registry | warm | 6 | 10.1 | 9.80–10.4 |",
		},
		absent: []string{"| small | kaniko | none | warm | 7 |"},
	}, {
		name: "trigger runs whose first step was not recorded",
		runs: withSeq(append(triggered(resultstest.Runs("small", "none", results.Warm, 40, 41), 800, 0),
			withoutFirstStep(triggered(resultstest.Runs("small", "none", results.Warm, 42), 900, 0))...)),
		want: []string{"| small | kaniko | none | warm | 3 | 810 | n/a | 1805 (n=2) | n/a | 41.0 |"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			env := results.Environment{RunID: "trigger", CPUs: 2}
			dir, md := renderRuns(t, env, withSeq(tc.runs))
			for _, want := range tc.want {
				if !strings.Contains(md, want) {
					t.Errorf("report.md lacks %q", want)
				}
			}
			for _, absent := range tc.absent {
				if strings.Contains(md, absent) {
					t.Errorf("report.md has %q", absent)
				}
			}
			page, err := os.ReadFile(filepath.Join(dir, HTMLFile))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := strings.Contains(string(page), "<h2>Push to build: Tekton Triggers</h2>"), strings.Contains(md, "## Push to build"); got != want {
				t.Errorf("report.html has the section: %v; report.md: %v", got, want)
			}
		})
	}
}

// The comparisons across network profiles and across benchmarks keep a
// push event's runs apart too: a table and a chart of their own, a trend
// series of their own.
func TestTriggerComparisonsAreKeptApart(t *testing.T) {
	local := resultstest.BuilderSample()
	api := append(underNetwork(local, results.LocalNetwork, 0, 0), underNetwork(local, "wan", 8, 1)...)
	runs := withSeq(append(slices.Clone(api), triggered(api, 700, 20)...))
	dir, md := renderRuns(t, twoBuilderEnv, runs)
	for _, want := range []string{
		"## Network profiles\n",
		"### Workload small\n\n| builder | strategy | local | wan |",
		"### Workload small, started by a push event\n\n| builder | strategy | local | wan |",
		"![small~trigger: warm speedup of each cache per upstream network profile](small-trigger-networks.png)",
		"## Workload small, upstream network wan, started by a push event\n",
		"| small@wan | buildkit | registry | warm | 6 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	for _, f := range []string{"small-networks.svg", "small-trigger-networks.svg", "small-wan-trigger-wall.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}

	root := t.TempDir()
	steady := resultstest.Runs("small", "registry", results.Warm, 10, 10.2, 9.9, 10.1, 10.3, 10.0)
	both := func() []results.Run { return append(slices.Clone(steady), triggered(steady, 700, 20)...) }
	writeResults(t, root, "20261101-020000", both())
	writeResults(t, root, "20261102-020000", both())
	tr, err := RenderTrend(root)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, s := range tr.Series {
		keys = append(keys, fmt.Sprintf("%s %d", s.Key, len(s.Points)))
	}
	if got, want := strings.Join(keys, ","), "small/kaniko/registry/warm 2,small~trigger/kaniko/registry/warm 2"; got != want {
		t.Errorf("trend series %s, want %s", got, want)
	}
	if regs := tr.Regressions(); len(regs) != 0 {
		t.Errorf("a trigger's slower runs read as a regression of the API's: %v", regs)
	}
}
