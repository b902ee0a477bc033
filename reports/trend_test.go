package reports

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/perf/benchfmt"

	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/results/resultstest"
)

func writeResults(t *testing.T, root, id string, runs []results.Run) string {
	t.Helper()
	dir := filepath.Join(root, id)
	w, err := results.Create(dir, results.Environment{RunID: id, Started: time.Now(), CPUs: 2, Versions: map[string]string{"tekton": "v1.15.0", "kubernetes": "v1.34.1"}})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range runs {
		r.Seq = i + 1
		if err := w.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	return dir
}

func TestTrendMarksRegressions(t *testing.T) {
	root := t.TempDir()
	steady := []float64{10, 10.2, 9.9, 10.1, 10.3, 10.0}
	slower := []float64{13, 13.2, 12.9, 13.1, 13.3, 13.0}
	faster := []float64{7, 7.2, 6.9, 7.1, 7.3, 7.0}
	writeResults(t, root, "20261101-020000", resultstest.Runs("small", "registry", results.Warm, steady...))
	writeResults(t, root, "20261102-020000", resultstest.Runs("small", "registry", results.Warm, steady...))
	writeResults(t, root, "20261103-020000", resultstest.Runs("small", "registry", results.Warm, slower...))
	writeResults(t, root, "20261104-020000", resultstest.Runs("small", "registry", results.Warm, faster...))
	writeResults(t, root, "20261105-020000", resultstest.Runs("small", "registry", results.Warm, 7))
	writeResults(t, root, "20261106-020000", resultstest.Runs("small", "registry", results.Warm, 20))
	tr, err := RenderTrend(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Series) != 1 || len(tr.Series[0].Points) != 6 {
		t.Fatalf("series = %+v", tr.Series)
	}
	var verdicts []string
	for _, p := range tr.Series[0].Points {
		verdicts = append(verdicts, p.Verdict)
	}
	// The last point follows a benchmark with n=1: no interval, no verdict.
	want := []string{"", "", "regression", "improvement", "", "n/a"}
	if strings.Join(verdicts, ",") != strings.Join(want, ",") {
		t.Fatalf("verdicts %q, want %q", verdicts, want)
	}
	if got := tr.Regressions(); len(got) != 1 || !strings.Contains(got[0], "20261103-020000") {
		t.Fatalf("regressions = %v", got)
	}
	for _, f := range []string{"trend-small.png", "trend-small.svg", "trend.md", "trend.html"} {
		if _, err := os.Stat(filepath.Join(root, TrendDir, f)); err != nil {
			t.Error(err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(root, TrendDir, "trend.md"))
	if !strings.Contains(string(md), "| registry | warm | 20261103-020000 | 6 |") || !strings.Contains(string(md), "regression") {
		t.Errorf("trend.md lacks the regression row:\n%s", md)
	}
	html, _ := os.ReadFile(filepath.Join(root, TrendDir, "trend.html"))
	if !bytes.Contains(html, []byte("<svg")) || bytes.Contains(html, []byte("<?xml")) {
		t.Error("trend.html should hold its charts inline, without XML prologs")
	}
}

// TestTrendOfRenamedFolders: a results folder renamed after its benchmark
// (as the examples are) is placed by its folder's name.
func TestTrendOfRenamedFolders(t *testing.T) {
	root := t.TempDir()
	for i, name := range []string{"before-upgrade", "after-upgrade"} {
		dir := writeResults(t, root, fmt.Sprintf("2026110%d-020000", i+1), resultstest.Runs("small", "registry", results.Warm, 10, 11))
		if err := os.Rename(dir, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := RenderTrend(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Series) != 1 || len(tr.Series[0].Points) != 2 {
		t.Fatalf("series = %+v, want one of two points", tr.Series)
	}
	for _, p := range tr.Series[0].Points {
		if p.RunID != "before-upgrade" && p.RunID != "after-upgrade" {
			t.Errorf("a point is named %q, not by its folder", p.RunID)
		}
	}
}

func TestTrendNeedsTwoBenchmarks(t *testing.T) {
	root := t.TempDir()
	writeResults(t, root, "20261101-020000", resultstest.Runs("small", "none", results.Warm, 10))
	if _, err := RenderTrend(root); err == nil {
		t.Fatal("want an error with one results folder")
	}
}

func TestBenchTextReadsBack(t *testing.T) {
	root := t.TempDir()
	runs := resultstest.Sample()
	dir := writeResults(t, root, "20261126-120000", runs)
	res, err := results.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteBenchText(&buf, res); err != nil {
		t.Fatal(err)
	}
	r := benchfmt.NewReader(&buf, "bench.txt")
	n := 0
	names := map[string]bool{}
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.Result:
			n++
			names[rec.Name.String()] = true
			if v, ok := rec.Value("sec/op"); !ok || v <= 0 {
				t.Errorf("%s: no time per op", rec.Name)
			}
			if _, ok := rec.Value(UnitHits); !ok {
				t.Errorf("%s: no %s", rec.Name, UnitHits)
			}
			if rec.GetConfig("tekton") != "v1.15.0" || rec.GetConfig("goos") != "linux" {
				t.Errorf("config lines missing: %v", rec.Config)
			}
			if rec.GetConfig("host") != "" || rec.GetConfig("run-id") != "" {
				t.Error("machine- or run-specific configuration splits benchstat's tables")
			}
		case *benchfmt.SyntaxError:
			t.Fatalf("bench.txt does not parse: %v", rec)
		}
	}
	succeeded := 0
	for _, run := range runs {
		if run.Success {
			succeeded++
		}
	}
	if n != succeeded {
		t.Fatalf("%d results, want one per successful run (%d)", n, succeeded)
	}
	for _, want := range []string{"Cache/workload=small/builder=kaniko/strategy=none/cache=cold", "Cache/workload=small/builder=kaniko/strategy=registry/cache=warm", "Cache/workload=small/builder=kaniko/strategy=pv-warm/cache=warm"} {
		if !names[want] {
			t.Errorf("no result named %s (have %v)", want, names)
		}
	}
}

// A benchmark whose builds downloaded packages another way is never
// called a regression or an improvement of the one before.
func TestTrendPackagesModeChange(t *testing.T) {
	root := t.TempDir()
	steady := []float64{10, 10.2, 9.9, 10.1, 10.3, 10.0}
	faster := []float64{7, 7.2, 6.9, 7.1, 7.3, 7.0}
	writeResults(t, root, "20261101-020000", resultstest.Runs("small", "registry", results.Warm, steady...))
	dir := writeResults(t, root, "20261102-020000", resultstest.Runs("small", "registry", results.Warm, faster...))
	res, err := results.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	res.Environment.Settings = map[string]string{"packages": results.PackagesProxied}
	os.RemoveAll(dir)
	w, err := results.Create(dir, res.Environment)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Runs {
		if err := w.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	series, err := Trend([]string{filepath.Join(root, "20261101-020000"), dir})
	if err != nil {
		t.Fatal(err)
	}
	pts := series[0].Points
	if pts[0].Packages != results.PackagesDirect || pts[1].Packages != results.PackagesProxied || pts[1].Verdict != "n/a" {
		t.Errorf("points %+v: want direct then proxied, with no verdict", pts)
	}
}
