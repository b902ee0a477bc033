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
	"github.com/cachebench/cachebench/results/resultstest"
	"github.com/cachebench/cachebench/stats"
)

func TestRenderWritesChartsAndReport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "20261126-120000")
	w, err := results.Create(dir, results.Environment{RunID: "20261126-120000", Started: time.Now(), CPUs: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resultstest.Sample() {
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
