package reports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachebench/cachebench/decision"
	"github.com/cachebench/cachebench/results"
)

// TestReportOpensWithTheRecommendation: a benchmark of three change
// patterns, with CPU and cache sizes recorded, gets a recommendation first,
// its cost per 1,000 builds with the formula, and what would change it.
func TestReportOpensWithTheRecommendation(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "decide")
	env := results.Environment{RunID: "decide", Started: time.Now(), CPUs: 2, Builders: []results.BuilderInfo{
		{Name: "kaniko", Needs: []string{}, Strategies: []results.StrategyInfo{{Name: "none", Needs: []string{}}, {Name: "registry", Needs: []string{results.NeedRegistryWrites}}}},
		{Name: "buildkit", Needs: []string{results.NeedPrivileged}, Strategies: []results.StrategyInfo{{Name: "none", Needs: []string{}}, {Name: "pv-warm", Needs: []string{}}}},
	}}
	w, err := results.Create(dir, env)
	if err != nil {
		t.Fatal(err)
	}
	// Seconds of a warm run per row and pattern: buildkit/pv-warm is
	// fastest unless base changes dominate.
	walls := map[[2]string]map[string]float64{
		{"kaniko", "none"}:      {"none": 30, "source": 30, "base": 30},
		{"kaniko", "registry"}:  {"none": 14, "source": 16, "base": 20},
		{"buildkit", "none"}:    {"none": 38, "source": 38, "base": 38},
		{"buildkit", "pv-warm"}: {"none": 10, "source": 12, "base": 40},
	}
	seq := 0
	for row, byPattern := range walls {
		for pattern, wall := range byPattern {
			for i := range 6 {
				seq++
				w.Append(results.Run{
					Seq: seq,
					Coordinates: results.Coordinates{Workload: "small", Builder: row[0], Strategy: row[1], Round: i/3 + 1, Cache: results.Warm,
						Change: pattern, Network: results.LocalNetwork, Start: results.StartAPI},
					Success: true, WallMillis: int64((wall + float64(i%3-1)*0.1) * 1000),
					Tasks:      []results.Task{{Name: "build-push", Span: results.Span{Seconds: wall}, CPUSeconds: 8, PeakMemoryBytes: 5e8}},
					CacheBytes: 1e8,
				})
			}
		}
	}
	w.Close()
	mix, _ := decision.ParseMix("source=60,none=30,base=10")
	rep, err := Render(dir, decision.Inputs{Mix: mix, Current: &decision.Row{Builder: "kaniko", Strategy: "none"}, Prices: decision.DefaultPrices})
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(rep.Dir, MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	s := string(md)
	rec, sum := strings.Index(s, "## Recommendation"), strings.Index(s, "## Summary")
	if rec < 0 || sum < rec {
		t.Fatalf("the recommendation does not come first:\n%s", s[:min(len(s), 1500)])
	}
	section := s[rec:sum]
	for _, want := range []string{
		"your commit mix: source 60%, none 30%, base 10%; everything allowed",
		// 0.6·12 + 0.3·10 + 0.1·40 = 14.2 s.
		"**Run buildkit with the pv-warm strategy**: 14.2s a build expected (95% interval",
		"Against what you run now (kaniko/none): 2.11× faster",
		"Runner-up: kaniko/registry",
		"if base commits rose to",
		"It needs privileged",
		"| row |  | expected s | CPU-hours |",
		"$ = CPU-hours × 0.04048",
		"| buildkit/pv-warm (recommended) | privileged | 14.2 |",
	} {
		if !strings.Contains(section, want) {
			t.Errorf("recommendation lacks %q:\n%s", want, section)
		}
	}
	if len(rep.Decisions) != 1 || !strings.HasPrefix(Headline(rep.Decisions[0]), "small: buildkit with the pv-warm strategy, 14.2s a build") {
		t.Errorf("headline: %v", rep.Decisions)
	}
	html, err := os.ReadFile(filepath.Join(rep.Dir, HTMLFile))
	if err != nil || !strings.Contains(string(html), "Recommendation") {
		t.Errorf("report.html lacks the recommendation (%v)", err)
	}

	// A team that forbids privileged pods gets kaniko, and sees what it
	// left out.
	allow, _ := decision.ParseAllow([]string{"registry-writes"})
	if rep, err = Render(dir, decision.Inputs{Mix: mix, Allow: allow}); err != nil {
		t.Fatal(err)
	}
	md, _ = os.ReadFile(filepath.Join(rep.Dir, MarkdownFile))
	for _, want := range []string{"**Run kaniko with the registry strategy**", "buildkit/pv-warm needs privileged, which --allow leaves out: it would give 14.2s"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("with --allow registry-writes the report lacks %q", want)
		}
	}
}
