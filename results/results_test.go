package results

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWriterAndLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "20261126-120000")
	w, err := Create(dir, Environment{RunID: "20261126-120000", CPUs: 2, Versions: map[string]string{"tekton": "v1.15.0"}})
	if err != nil {
		t.Fatal(err)
	}
	runs := []Run{
		{Coordinates: Coordinates{Workload: "small", Strategy: "registry", Cache: Warm}, Seq: 2, Success: true, WallMillis: 16000, BuildLog: BuildLog{Read: true, CacheHits: 1}, Check: &CacheCheck{Verdict: Verified}},
		{Coordinates: Coordinates{Workload: "small", Strategy: "none", Cache: Cold}, Seq: 1, Reason: "boom"},
	}
	for _, r := range runs {
		if err := w.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.AddNote("found nothing"); err != nil {
		t.Fatal(err)
	}
	w.Close()
	// A crash while writing leaves a truncated last line.
	f, _ := os.OpenFile(filepath.Join(dir, ResultsFile), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"runId":"x","seq":99,"workl`)
	f.Close()
	res, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 2 || res.Skipped != 1 {
		t.Fatalf("loaded %d runs, skipped %d; want 2, 1", len(res.Runs), res.Skipped)
	}
	if res.Runs[0].Seq != 1 || res.Runs[1].WallSeconds() != 16 || res.Runs[1].Check.Verdict != Verified || !res.Runs[1].BuildLog.Read {
		t.Errorf("round trip lost data: %+v", res.Runs)
	}
	if res.Environment.Versions["tekton"] != "v1.15.0" || len(res.Environment.Notes) != 1 {
		t.Errorf("environment: %+v", res.Environment)
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), ResultsFile) {
		t.Errorf("loading a folder without results: %v", err)
	}
}

// Results written before the results package named things as it does now
// still load: "phase" is the cache state, "kaniko" the builder's log.
func TestLoadsLegacyLines(t *testing.T) {
	var r Run
	line := `{"runId":"a","seq":3,"workload":"small","strategy":"registry","phase":"warm","success":true,"wallMillis":11000,"kaniko":{"cacheHits":1,"cacheMisses":0,"localCacheHits":0,"cachePushes":0}}`
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatal(err)
	}
	if r.Cache != Warm || r.BuildLog.CacheHits != 1 || !r.BuildLog.Read || r.Check != nil {
		t.Fatalf("legacy line read as %+v", r)
	}
	line = `{"runId":"a","seq":4,"cache":"cold","success":false,"kaniko":{"cacheHits":0}}`
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatal(err)
	}
	if r.Cache != Cold || r.BuildLog.Read {
		t.Fatalf("a failed legacy run has no log read: %+v", r)
	}
}

func TestNewestIsByStartTimeNotName(t *testing.T) {
	root := t.TempDir()
	now := time.Now()
	for _, f := range []struct {
		name    string
		started time.Time
	}{
		{"zzz-old", now.Add(-2 * time.Hour)},
		{"aaa-new", now},
		{"20261127-000000", now.Add(-time.Hour)},
	} {
		w, err := Create(filepath.Join(root, f.name), Environment{RunID: f.name, Started: f.started})
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
	}
	os.MkdirAll(filepath.Join(root, "trend"), 0o755) // no results: not a results folder
	all, err := All(root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range all {
		names = append(names, filepath.Base(d))
	}
	if got := strings.Join(names, " "); got != "zzz-old 20261127-000000 aaa-new" {
		t.Errorf("All = %s", got)
	}
	if newest, err := Newest(root); err != nil || filepath.Base(newest) != "aaa-new" {
		t.Errorf("Newest = %q, %v", newest, err)
	}
	if _, err := Newest(t.TempDir()); err == nil || !strings.Contains(err.Error(), "make bench") {
		t.Errorf("an empty root should say how to get results: %v", err)
	}
}

func TestCheckRunID(t *testing.T) {
	for id, ok := range map[string]bool{
		"20261127-120000": true, "nightly.3": true, "trend": false, "examples": false,
		"My Run": false, "": false, strings.Repeat("a", 42): false, "-x": false,
	} {
		if err := CheckRunID(id); (err == nil) != ok {
			t.Errorf("CheckRunID(%q) = %v, want ok=%v", id, err, ok)
		}
	}
}

// TestCreateRefusesAFolderInUse: a results folder that holds a benchmark
// is refused, naming it, and its runs are left as they were.
func TestCreateRefusesAFolderInUse(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bench-1")
	if err := CheckFree(dir); err != nil {
		t.Fatalf("a folder that does not exist: %v", err)
	}
	w, err := Create(dir, Environment{RunID: "bench-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(Run{RunID: "bench-1", Seq: 1, Success: true}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	before, _ := os.ReadFile(filepath.Join(dir, ResultsFile))
	if err := CheckFree(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("CheckFree of a folder in use: %v", err)
	}
	if _, err := Create(dir, Environment{RunID: "bench-1"}); err == nil {
		t.Error("Create made a second benchmark in a folder in use")
	}
	if after, _ := os.ReadFile(filepath.Join(dir, ResultsFile)); !bytes.Equal(before, after) {
		t.Errorf("the first benchmark's runs changed: %q, then %q", before, after)
	}
}

// TestReopenSetsRunsAside: a resumed benchmark's results hold the runs it
// keeps and those it adds; the runs set aside are kept apart, whole.
func TestReopenSetsRunsAside(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cut")
	w, err := Create(dir, Environment{RunID: "cut"})
	if err != nil {
		t.Fatal(err)
	}
	for seq := 1; seq <= 3; seq++ {
		if err := w.Append(Run{Coordinates: Coordinates{Workload: "small"}, Seq: seq, Reason: map[bool]string{true: "interrupted"}[seq == 2]}); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	w, err = Reopen(dir, []Run{{Seq: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(Run{Coordinates: Coordinates{Workload: "small"}, Seq: 4}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	seqs := func(runs []Run) []int {
		var out []int
		for _, r := range runs {
			out = append(out, r.Seq)
		}
		return out
	}
	res, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := seqs(res.Runs); len(got) != 3 || got[0] != 1 || got[1] != 3 || got[2] != 4 {
		t.Errorf("results hold runs %v, want 1 3 4", got)
	}
	aside, err := LoadSuperseded(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(aside) != 1 || aside[0].Seq != 2 || aside[0].Reason != "interrupted" {
		t.Errorf("set aside %+v, want run 2 as recorded", aside)
	}
}
