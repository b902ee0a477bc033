package reports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachebench/cachebench/decision"
	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/results/resultstest"
)

// A workload measured under two change patterns gets a section per
// pattern, the default one unnamed; warm runs judged against their change
// are summed up per row, findings marked.
func TestReportPerChangeWithFindings(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "changes")
	w, err := results.Create(dir, results.Environment{RunID: "changes", Started: time.Now(), CPUs: 2})
	if err != nil {
		t.Fatal(err)
	}
	var runs []results.Run
	for _, change := range []string{"stamp", "source"} {
		for _, strategy := range []string{"none", "registry"} {
			for _, cache := range []results.CacheState{results.Cold, results.Warm} {
				rs := resultstest.Runs("gobuild", strategy, cache, 30, 31, 29)
				for i := range rs {
					rs[i].Change = change
					if cache == results.Warm && strategy == "registry" {
						rs[i].BuildLog.Instructions = []results.InstructionCache{{Instruction: "RUN go mod download", Cached: true}}
						if change == "source" && i == 0 {
							rs[i].Findings = []string{`"RUN go build ./cmd/server | tee log" came from the cache; expected to run (follows a missed instruction)`}
						}
					}
				}
				runs = append(runs, rs...)
			}
		}
	}
	for i, r := range runs {
		r.Seq = i + 1
		w.Append(r)
	}
	w.Close()
	rep, err := Render(dir, decision.Inputs{})
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(rep.Dir, MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"## Workload gobuild\n", "## Workload gobuild, change source\n",
		"### Expected against observed",
		"| gobuild | kaniko | registry | as expected | 3 | 0 |",
		`| gobuild+source | kaniko | registry | ⚑ "RUN go build ./cmd/server \| tee log" came from the cache; expected to run (follows a missed instruction) (1) | 3 | 1 |`,
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	bench, err := os.ReadFile(filepath.Join(rep.Dir, "bench.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(bench), "change: source\n") || !strings.Contains(string(bench), "change: stamp\n") {
		t.Errorf("bench.txt names no change:\n%s", bench)
	}
}
