package reports

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cachebench/cachebench/decision"
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
	rep, err := Render(dir, decision.Inputs{})
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

func TestUsageTable(t *testing.T) {
	runs := resultstest.Runs("small", "registry", results.Warm, 10, 11, 12)
	for i := range runs {
		runs[i].Tasks[0].CPUSeconds = 0.5
		runs[i].Tasks[1].CPUSeconds = float64(4 + i)
		runs[i].Tasks[1].PeakMemoryBytes = int64(100+10*i) << 20
		runs[i].CacheBytes = int64(20+i) * 1e6
	}
	// A run whose pods could not be read counts in no median.
	unread := resultstest.Runs("small", "registry", results.Warm, 30)
	none := resultstest.Runs("small", "none", results.Warm, 20)
	all := append(append(runs, unread...), none...)
	tab, ok := usageTable(all, stats.Summarize(all), false)
	if !ok {
		t.Fatal("no usage table for runs with counters")
	}
	want := [][]string{{"registry", "warm", "3", "5.0", "5.5", "110", "21.0", "–"}}
	if len(tab.rows) != 1 || strings.Join(tab.rows[0], "|") != strings.Join(want[0], "|") {
		t.Errorf("rows %v, want %v", tab.rows, want)
	}
	if _, ok := usageTable(none, stats.Summarize(none), false); ok {
		t.Error("a usage table for runs without counters")
	}
}

func TestBenchTextUsage(t *testing.T) {
	runs := resultstest.Runs("small", "registry", results.Warm, 10)
	runs[0].Tasks[0].CPUSeconds = 0.5
	runs[0].Tasks[1].CPUSeconds = 4
	runs[0].Tasks[1].PeakMemoryBytes = 300 << 20
	runs = append(runs, resultstest.Runs("small", "none", results.Warm, 12)...)
	var buf bytes.Buffer
	if err := WriteBenchText(&buf, &results.Results{Runs: runs}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var registry, none string
	for _, l := range lines {
		switch {
		case strings.Contains(l, "strategy=registry"):
			registry = l
		case strings.Contains(l, "strategy=none"):
			none = l
		}
	}
	if !strings.Contains(registry, "4.5 cpu-s/op") || !strings.Contains(registry, "300 peak-MiB/op") {
		t.Errorf("the run with counters: %q", registry)
	}
	if strings.Contains(none, "cpu-s/op") {
		t.Errorf("a run without counters has a CPU time: %q", none)
	}
}

func TestInlineHTML(t *testing.T) {
	for in, want := range map[string]string{
		"For **small** builds, `--mix` <x>": "For <strong>small</strong> builds, <code>--mix</code> &lt;x&gt;",
		"2 ** 3, a lone ` mark":             "2 ** 3, a lone ` mark",
	} {
		if got := inlineHTML(in); got != want {
			t.Errorf("inlineHTML(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestNodeTable: builds on two nodes get a row per node with its own hit
// rate, so a node whose cache was cold is not hidden in a median; builds
// on one node get no table.
func TestNodeTable(t *testing.T) {
	runs := resultstest.Runs("small", "registry", results.Warm, 10, 11, 30)
	for i, node := range []string{"w1", "w1", "w2"} {
		runs[i].Tasks[1].Node = node
		runs[i].BuildLog.CacheHits, runs[i].BuildLog.CacheMisses = 2, 0
	}
	runs[2].BuildLog.CacheHits, runs[2].BuildLog.CacheMisses = 0, 2
	tab, ok := nodeTable(runs, stats.Summarize(runs), false)
	if !ok {
		t.Fatal("no node table for builds on two nodes")
	}
	want := []string{"registry|warm|w1|2|10.5|100% (4 of 4)", "registry|warm|w2|1|30.0|0% (0 of 2)"}
	var got []string
	for _, r := range tab.rows {
		got = append(got, strings.Join(r, "|"))
	}
	if !slices.Equal(got, want) {
		t.Errorf("rows %q, want %q", got, want)
	}
	// With a volume per node, the warm builds that found theirs cold are
	// counted; a cold run's is cold by definition.
	runs[2].ColdVolume = true
	cold := resultstest.Runs("small", "registry", results.Cold, 40)
	cold[0].Tasks[1].Node = "w1"
	all := append(slices.Clone(runs), cold...)
	tab, _ = nodeTable(all, stats.Summarize(all), false)
	got = nil
	for _, r := range tab.rows {
		got = append(got, strings.Join(r, "|"))
	}
	want = []string{"registry|cold|w1|1|40.0|–|–", "registry|warm|w1|2|10.5|100% (4 of 4)|0", "registry|warm|w2|1|30.0|0% (0 of 2)|1"}
	if !slices.Equal(got, want) || tab.header[len(tab.header)-1] != "on a cold volume" {
		t.Errorf("rows %q (header %q), want %q", got, tab.header, want)
	}
	runs[2].ColdVolume = false
	runs[2].Tasks[1].Node = "w1"
	if _, ok := nodeTable(runs, stats.Summarize(runs), false); ok {
		t.Error("a node table for builds on one node")
	}
}

// TestDaemonTable: builds spread over two daemons get a row per daemon,
// the warm builds on a fresh daemon counted; rounds of one daemon get no
// table.
func TestDaemonTable(t *testing.T) {
	runs := resultstest.Runs("small", "daemon", results.Warm, 10, 30, 11)
	for i, d := range []int{2, 1, 2} {
		runs[i].Daemon = d
		runs[i].BuildLog.CacheHits, runs[i].BuildLog.CacheMisses = 2, 0
	}
	runs[1].BuildLog.CacheHits, runs[1].BuildLog.CacheMisses = 0, 2
	runs[1].ColdDaemon = true
	cold := resultstest.Runs("small", "daemon", results.Cold, 40)
	cold[0].Daemon = 1
	all := append(slices.Clone(runs), cold...)
	tab, ok := daemonTable(all, stats.Summarize(all), false)
	if !ok {
		t.Fatal("no daemon table for builds on two daemons")
	}
	var got []string
	for _, r := range tab.rows {
		got = append(got, strings.Join(r, "|"))
	}
	want := []string{"daemon|cold|1|1|40.0|–|–", "daemon|warm|1|1|30.0|0% (0 of 2)|1", "daemon|warm|2|2|10.5|100% (4 of 4)|0"}
	if !slices.Equal(got, want) || tab.header[2] != "daemon" || tab.header[len(tab.header)-1] != "on a fresh daemon" {
		t.Errorf("rows %q (header %q), want %q", got, tab.header, want)
	}
	for i := range all {
		all[i].Daemon, all[i].ColdDaemon = 0, false
	}
	if _, ok := daemonTable(all, stats.Summarize(all), false); ok {
		t.Error("a daemon table for builds on one daemon")
	}
}

// TestBenchConfigNodes: benchmarks on several nodes carry it in bench.txt's
// configuration, so benchstat never compares them with one node's.
func TestBenchConfigNodes(t *testing.T) {
	has := func(settings map[string]string) bool {
		for _, c := range benchConfig(results.Environment{Settings: settings}) {
			if c.Key == "nodes" {
				return string(c.Value) == settings["nodes"]
			}
		}
		return false
	}
	if !has(map[string]string{"nodes": "2"}) {
		t.Error("two nodes: no nodes line")
	}
	if has(map[string]string{"nodes": "1"}) || has(map[string]string{}) {
		t.Error("one node: a nodes line")
	}
	perNode := false
	for _, c := range benchConfig(results.Environment{Settings: map[string]string{"nodes": "2", "cache-volume": "per-node"}}) {
		perNode = perNode || c.Key == "cache-volume" && string(c.Value) == "per-node"
	}
	if !perNode {
		t.Error("a volume per node: no cache-volume line")
	}
}
