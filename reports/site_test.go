package reports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRenderSite(t *testing.T) {
	examples := filepath.Join("..", "benchmarks", "examples")
	out := filepath.Join(t.TempDir(), "site")
	site, err := RenderSite(out, []string{examples}, nil)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := filepath.Glob(filepath.Join(examples, "*", "results.jsonl"))
	if len(site.Benchmarks) != len(all) || site.Trend == "" {
		t.Fatalf("%d benchmarks (want %d), trend %q", len(site.Benchmarks), len(all), site.Trend)
	}
	index, err := os.ReadFile(filepath.Join(out, SiteIndex))
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range site.Benchmarks {
		if i > 0 && b.Started.After(site.Benchmarks[i-1].Started) {
			t.Errorf("%s listed after an older benchmark", b.RunID)
		}
		if _, err := os.Stat(filepath.Join(out, b.Page)); err != nil {
			t.Errorf("%s: %v", b.RunID, err)
		}
		if !strings.Contains(string(index), `href="`+b.Page+`"`) || len(b.Headlines) == 0 || !strings.Contains(string(index), b.Headlines[0]) {
			t.Errorf("the index lacks %s or its recommendation", b.RunID)
		}
	}
	if _, err := os.Stat(filepath.Join(out, site.Trend)); err != nil {
		t.Error(err)
	}
	// The sources are read, never written.
	if _, err := os.Stat(filepath.Join(examples, "builders-small", SiteIndex)); err == nil {
		t.Error("the site was written into a source folder")
	}

	empty := t.TempDir()
	if _, err := RenderSite(filepath.Join(t.TempDir(), "s"), []string{empty}, nil); err == nil || !strings.Contains(err.Error(), "neither a results folder") {
		t.Errorf("a folder without benchmarks: %v", err)
	}
	twin := filepath.Join(t.TempDir(), "builders-small")
	os.MkdirAll(twin, 0o755)
	data, _ := os.ReadFile(filepath.Join(examples, "builders-small", "results.jsonl"))
	os.WriteFile(filepath.Join(twin, "results.jsonl"), data, 0o644)
	if _, err := RenderSite(filepath.Join(t.TempDir(), "s"), []string{examples, twin}, nil); err == nil || !strings.Contains(err.Error(), "both named builders-small") {
		t.Errorf("two benchmarks of one name: %v", err)
	}
}
