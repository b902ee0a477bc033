package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachebench/cachebench/bench"
	"github.com/cachebench/cachebench/decision"
	"github.com/cachebench/cachebench/results"
)

// TestExamplesRenderAsCommitted: every example under benchmarks/examples
// renders from its results to the bench.txt and report.md committed
// beside them, byte for byte. A change to what the report says shows
// here; the examples are then rendered again and committed with it.
func TestExamplesRenderAsCommitted(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("..", "benchmarks", "examples", "*", results.ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no examples under benchmarks/examples")
	}
	for _, p := range dirs {
		src := filepath.Dir(p)
		name := filepath.Base(src)
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), name)
			if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
				t.Fatal(err)
			}
			// As cachebench report renders them: needs the examples did not
			// record come from this cachebench's builders.
			if _, err := Render(dir, decision.Inputs{Defined: bench.DefinedBuilders()}); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{BenchTextFile, MarkdownFile} {
				want, err := os.ReadFile(filepath.Join(src, f))
				if err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s renders differently from the committed one, first at line %d:\n  committed: %s\n  rendered:  %s\n(render it again: go run ./cmd/cachebench report benchmarks/examples/%s)", f, firstDiff(want, got)+1, line(want, firstDiff(want, got)), line(got, firstDiff(want, got)), name)
				}
			}
		})
	}
}

// firstDiff is the index of the first line where a and b differ.
func firstDiff(a, b []byte) int {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return i
		}
	}
	return min(len(la), len(lb))
}

func line(b []byte, i int) string {
	l := strings.Split(string(b), "\n")
	if i >= len(l) {
		return "(end of file)"
	}
	return l[i]
}
