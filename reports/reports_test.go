package reports

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/stats"
)

// fakeRuns makes successful runs with the given wall times.
func fakeRuns(workload, strategy string, phase results.CacheState, walls ...float64) []results.Run {
	var out []results.Run
	for i, w := range walls {
		out = append(out, results.Run{
			Workload: workload, Strategy: strategy, Cache: phase, Attempt: i, Success: true,
			WallMillis: int64(w * 1000),
			Tasks:      []results.Task{{Name: "fetch-source", Span: results.Span{Seconds: 5}}, {Name: "build-push", Span: results.Span{Seconds: w - 6}}},
			BuildLog: results.BuildLog{Read: true, CacheHits: map[bool]int{true: 1}[strategy != "none" && phase == results.Warm],
				Phases: []results.BuildPhase{{Name: "base-image", Seconds: 0.5}, {Name: "commands", Seconds: w / 3}}},
		})
	}
	return out
}

func sampleRuns() []results.Run {
	var runs []results.Run
	runs = append(runs, fakeRuns("small", "none", results.Cold, 17)...)
	runs = append(runs, fakeRuns("small", "registry", results.Cold, 18)...)
	runs = append(runs, fakeRuns("small", "pv-warm", results.Cold, 18.5)...)
	runs = append(runs, fakeRuns("small", "none", results.Warm, 16, 16.5, 15.8, 16.2, 16.1, 16.4)...)
	runs = append(runs, fakeRuns("small", "registry", results.Warm, 10, 10.4, 9.8, 10.1, 10.2, 10.3)...)
	runs = append(runs, fakeRuns("small", "pv-warm", results.Warm, 10.1, 12.5, 9.0, 10, 13, 10.2)...)
	runs = append(runs, results.Run{Workload: "small", Strategy: "registry", Cache: results.Warm, Success: false, Reason: "boom", LogTail: "error building image"})
	for i := range runs {
		runs[i].Seq = i + 1
	}
	return runs
}

func TestRenderWritesChartsAndReport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "20261126-120000")
	w, err := results.Create(dir, results.Environment{RunID: "20261126-120000", Started: time.Now(), CPUs: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sampleRuns() {
		w.Append(r)
	}
	w.Close()
	rep, err := Render(dir)
	if err != nil {
		t.Fatal(err)
	}
	strategies := []string{"none", "registry", "pv-warm"}
	for _, base := range []string{"small-wall", "small-tasks", "small-phases"} {
		pngData, err := os.ReadFile(filepath.Join(dir, base+".png"))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(pngData))
		if err != nil {
			t.Fatalf("%s.png is not a PNG: %v", base, err)
		}
		if b := img.Bounds(); b.Dx() < 300 || b.Dy() < 200 {
			t.Errorf("%s.png is %v", base, b)
		}
		svg, err := os.ReadFile(filepath.Join(dir, base+".svg"))
		if err != nil {
			t.Fatal(err)
		}
		if err := xml.Unmarshal(svg, new(struct{ XMLName xml.Name })); err != nil {
			t.Fatalf("%s.svg is not XML: %v", base, err)
		}
		for _, s := range strategies {
			if !bytes.Contains(svg, []byte(">"+s)) {
				t.Errorf("%s.svg does not show strategy %s", base, s)
			}
		}
	}
	md, err := os.ReadFile(filepath.Join(rep.Dir, MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| none | warm | 6 |", "| registry | warm | 6 |", "| pv-warm | cold | 1 |", "⚠ noisy", "small-wall.png", "boom", "n/a"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
}

func TestPaletteCoversEveryPart(t *testing.T) {
	if len(palette) < len(stats.BreakdownParts) {
		t.Fatalf("%d colours for %d parts: two parts of a stack would look alike", len(palette), len(stats.BreakdownParts))
	}
}
