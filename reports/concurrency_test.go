package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/perf/benchfmt"

	"github.com/cachebench/cachebench/decision"
	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/results/resultstest"
)

// atLevel is a round at a concurrency level: a cold build, then one warm
// run of level builds started together, each taking wall seconds more
// than the last.
func atLevel(strategy string, level, round int, cold, wall float64, at time.Time) []results.Run {
	c := results.Coordinates{Workload: "small", Builder: "kaniko", Strategy: strategy, Round: round, Concurrency: level, Network: results.LocalNetwork, Start: results.StartAPI}
	cold0 := c
	cold0.Cache = results.Cold
	runs := []results.Run{{Coordinates: cold0, Success: true, WallMillis: int64(cold * 1000), StartedAt: at}}
	for m := 1; m <= max(level, 1); m++ {
		w := c
		w.Cache, w.Attempt = results.Warm, 1
		if level > 1 {
			w.Member = m
		}
		runs = append(runs, results.Run{Coordinates: w, Success: true, WallMillis: int64((wall + float64(m)) * 1000), StartedAt: at.Add(time.Minute), FirstStepMillis: int64(1000 * m)})
	}
	return runs
}

// A benchmark at levels 1 and 4 gets its section, its chart, a bench.txt
// configuration of its own for the level, and a recommendation from the
// builds one at a time only.
func TestConcurrencyReport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "20261206-200000")
	w, err := results.Create(dir, results.Environment{RunID: "20261206-200000", Started: time.Now(), CPUs: 2})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC)
	var runs []results.Run
	for round := 1; round <= 2; round++ {
		for _, strategy := range []string{"none", "registry"} {
			wall := map[string]float64{"none": 15, "registry": 9}[strategy]
			runs = append(runs, atLevel(strategy, 0, round, 20, wall, at)...)
			runs = append(runs, atLevel(strategy, 4, round, 20, 2*wall, at.Add(time.Hour))...)
		}
	}
	for i, r := range withSeq(runs) {
		r.Seq = i + 1
		if err := w.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	rep, err := Render(dir, decision.Inputs{})
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	text := string(md)
	section, _, _ := strings.Cut(text[strings.Index(text, "## Builds at once"):], "\n## ")
	// registry at 4: builds of 19 to 22 s (median 20.5 s), against 10 s
	// one at a time; each warm run spans 22 s for its 4 builds.
	for _, want := range []string{
		"| small | kaniko | registry | 1 | 2 | 10.0 | 10.0 | 10.0 | 1.00× | 1.0 | 6.00 |",
		"| small | kaniko | registry | 4 | 8 | 20.5 | 22.0 | 22.0 | 2.05× | 2.5 | 10.91 |",
		"small-concurrency.png",
		"- small, kaniko registry: still growing at the highest level measured",
	} {
		if !strings.Contains(section, want) {
			t.Errorf("the section lacks %q:\n%s", want, section)
		}
	}
	if !strings.Contains(text, "## Workload small, warm runs of 4 builds at once") {
		t.Error("no section of the level's rows")
	}
	if _, err := os.Stat(filepath.Join(dir, "small-concurrency.png")); err != nil {
		t.Error(err)
	}
	bench, err := os.ReadFile(filepath.Join(dir, BenchTextFile))
	if err != nil {
		t.Fatal(err)
	}
	atFour := 0
	br := benchfmt.NewReader(bytes.NewReader(bench), BenchTextFile)
	for br.Scan() {
		if r, ok := br.Result().(*benchfmt.Result); ok && string(r.GetConfig("concurrency")) == "4" {
			atFour++
		}
	}
	if atFour != 20 {
		t.Errorf("bench.txt has %d results of level 4, want 20 (two rounds of two strategies, a cold run and 4 builds)", atFour)
	}
	for _, d := range rep.Decisions {
		for _, e := range d.Estimates {
			// Without a cache, cold and warm runs are alike: 2 of each.
			want := map[string]int{"none": 4, "registry": 2}[e.Strategy]
			for _, p := range e.Patterns {
				if p.N != want {
					t.Errorf("the recommendation weighs %d runs of %s, want the %d one at a time", p.N, e.Row, want)
				}
			}
		}
	}
	// Without a level above 1 the report has no such section.
	if _, md := renderRuns(t, results.Environment{RunID: "one-at-a-time", Started: time.Now(), CPUs: 2}, resultstest.Sample()); strings.Contains(md, "Builds at once") {
		t.Error("a benchmark of builds one at a time has a concurrency section")
	}
}

// A level whose builds timed out is said in the section, with why, and
// the levels below it keep their rows.
func TestConcurrencyReportEndedLevel(t *testing.T) {
	at := time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC)
	var runs []results.Run
	runs = append(runs, atLevel("registry", 0, 1, 20, 9, at)...)
	runs = append(runs, atLevel("registry", 2, 1, 20, 12, at.Add(time.Hour))...)
	eight := atLevel("registry", 8, 1, 20, 0, at.Add(2*time.Hour))
	for i := range eight {
		// One build of eight finished within the timeout.
		if eight[i].Cache == results.Warm && eight[i].Member > 1 {
			eight[i].Success, eight[i].WallMillis, eight[i].TimedOut = false, 0, true
			eight[i].Reason = `PipelineRunTimeout: PipelineRun "small-kaniko-registry-x8" failed to finish within "20m0s"`
		}
	}
	_, md := renderRuns(t, results.Environment{RunID: "ended", Started: time.Now(), CPUs: 2}, withSeq(append(runs, eight...)))
	section, _, _ := strings.Cut(md[strings.Index(md, "## Builds at once"):], "\n## ")
	for _, want := range []string{
		"| small | kaniko | registry | 2 | 2 | 13.5 |",
		"| small | kaniko | registry | 8 (ended) | 1 (+7 failed) | 1.0 | 1.0 | 1.0 | 0.10× | 1.0 | – |",
		"- small, kaniko registry: still growing at the highest level measured",
		"stopped finishing within the run timeout",
		`- small, kaniko registry: at 8 at once (PipelineRunTimeout: PipelineRun "small-kaniko-registry-x8" failed to finish within "20m0s")`,
	} {
		if !strings.Contains(section, want) {
			t.Errorf("the section lacks %q:\n%s", want, section)
		}
	}
	// The survivors of an ended level are no row of their own elsewhere.
	for _, unwanted := range []string{"**small×8**", "small-x8-wall.png"} {
		if strings.Contains(md, unwanted) {
			t.Errorf("the report shows the ended level outside builds at once (%q)", unwanted)
		}
	}
}
