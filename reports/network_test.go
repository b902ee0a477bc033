package reports

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/results/resultstest"
	"github.com/cachebench/cachebench/stats"
)

// underNetwork is a copy of runs made under another network profile: the
// builds take extra seconds, more without a cache (each pulls its bases).
func underNetwork(runs []results.Run, network string, extraNone, extraCached float64) []results.Run {
	var out []results.Run
	for _, r := range runs {
		r.Network = network
		extra := extraCached
		if r.Strategy == stats.Baseline {
			extra = extraNone
		}
		r.WallMillis += int64(extra * 1000)
		// A cold run or one without cache pulls the 30 MB base; a warm one
		// with a cache only asks for the manifest.
		up := results.RegistryTraffic{Requests: 3, Pulls: 1, BlobGets: 1, PulledBytes: 30_000_000}
		if r.Strategy != stats.Baseline && r.Cache == results.Warm {
			up = results.RegistryTraffic{Requests: 2, Pulls: 1, PulledBytes: 2_000}
		}
		r.Traffic = map[string]results.RegistryTraffic{"upstream": up, "cache": {PushedBytes: 5_000_000, PushedBlobs: 2, ManifestPuts: 1}}
		out = append(out, r)
	}
	return out
}

func TestNetworksAreKeptApart(t *testing.T) {
	local := resultstest.BuilderSample()
	runs := append(underNetwork(local, results.LocalNetwork, 0, 0), underNetwork(local, "30ms/100mbit", 8, 1)...)
	env := twoBuilderEnv
	env.Networks = []results.NetworkInfo{
		{Role: "upstream", Name: "local", Profile: "nothing added (pod to pod on the node)"},
		{Role: "upstream", Name: "30ms/100mbit", Profile: "30ms round trip, 100 Mbit/s per connection"},
		{Role: "cache", Name: "local", Profile: "nothing added (pod to pod on the node)"},
	}
	env.Settings = map[string]string{"cache-network": "local"}

	// Statistics: every row twice, and each profile's speedups against its
	// own baseline.
	rows := stats.Summarize(runs)
	if n := len(stats.Summarize(local)); len(rows) != 2*n {
		t.Fatalf("%d rows, want %d (each row under both profiles)", len(rows), 2*n)
	}
	speedup := map[string]float64{}
	for _, s := range rows {
		if s.Builder == "kaniko" && s.Strategy == "registry" && s.Cache == results.Warm {
			speedup[s.Network] = s.Speedup
		}
	}
	if !(speedup["30ms/100mbit"] > speedup["local"]) {
		t.Errorf("a cache should save more when the baseline pays for the network: %v", speedup)
	}

	dir, md := renderRuns(t, env, runs)
	if out := os.Getenv("CACHEBENCH_KEEP_CHART"); out != "" {
		b, _ := os.ReadFile(filepath.Join(dir, "small-networks.png"))
		os.WriteFile(out, b, 0o644)
	}
	for _, want := range []string{
		"### Network profiles",
		"| upstream | 30ms/100mbit | 30ms round trip, 100 Mbit/s per connection |",
		"## Network profiles",
		"| builder | strategy | local | 30ms/100mbit |",
		"![small: warm speedup of each cache per upstream network profile](small-networks.png)",
		"## Workload small, upstream network 30ms/100mbit",
		"**small@30ms/100mbit**",
		"small-30ms-100mbit-builders.png",
		"| builder | strategy | cache | n | upstream MB | upstream pulls | cache MB pulled | cache MB pushed |",
		"| kaniko | none | cold | 1 | 30.0 | 1 | 0.0 | 5.0 |",
		"| kaniko | registry | warm | 6 | 0.0 | 1 | 0.0 | 5.0 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	for _, f := range []string{"small-networks.png", "small-networks.svg", "small-30ms-100mbit-wall.png", "small-wall.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "small-networks.svg"))
	for _, want := range []string{">local", ">30ms/100mbit", ">registry", ">pv-warm", ">kaniko", ">buildkit", "no saving"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("small-networks.svg lacks %q", want)
		}
	}

	// bench.txt: the profile is a configuration line, so that benchstat
	// keeps the profiles in tables of their own; the names stay as they were.
	var buf bytes.Buffer
	if err := WriteBenchText(&buf, &results.Results{Environment: env, Runs: runs}); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	for _, want := range []string{"\nnetwork: local\n", "\nnetwork: 30ms/100mbit\n", "cache-network: local\n", "BenchmarkCache/workload=small/builder=kaniko/strategy=registry/cache=warm 1 ", " 30 upstream-MB/op 1 pulls/op\n", "Unit pulls/op assume=exact"} {
		if !strings.Contains(text, want) {
			t.Errorf("bench.txt lacks %q", want)
		}
	}
	// Direct downloads, as before the setting existed, write no packages
	// line; proxied ones do.
	for mode, want := range map[string]bool{"": false, results.PackagesDirect: false, results.PackagesProxied: true} {
		env.Settings["packages"] = mode
		buf.Reset()
		if err := WriteBenchText(&buf, &results.Results{Environment: env, Runs: runs}); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(buf.String(), "\npackages: proxied\n"); got != want {
			t.Errorf("packages %q: bench.txt has the line packages: proxied %v, want %v", mode, got, want)
		}
	}
}

// withChange is a copy of runs made under a change pattern; the warm runs
// with a cache take extra seconds.
func withChange(runs []results.Run, change string, extraCached float64) []results.Run {
	var out []results.Run
	for _, r := range runs {
		r.Change = change
		if r.Strategy != stats.Baseline && r.Cache == results.Warm {
			r.WallMillis += int64(extraCached * 1000)
		}
		out = append(out, r)
	}
	return out
}

// Two change patterns under two profiles: each change has its own network
// comparison, whose cells are its own rows' (one change's speedup must not
// overwrite the other's).
func TestNetworkComparisonPerChange(t *testing.T) {
	local := resultstest.BuilderSample()
	var runs []results.Run
	for _, c := range []struct {
		change string
		extra  float64
	}{{"none", 0}, {"source", 20}} {
		changed := withChange(local, c.change, c.extra)
		runs = append(runs, underNetwork(changed, results.LocalNetwork, 0, 0)...)
		runs = append(runs, underNetwork(changed, "wan", 8, 1)...)
	}
	rows := stats.Summarize(runs)
	cell := func(change, network string) string {
		for _, s := range rows {
			if s.Change == change && s.Network == network && s.Builder == "kaniko" && s.Strategy == "registry" && s.Cache == results.Warm {
				return fmt.Sprintf("%.2f×", s.Speedup)
			}
		}
		t.Fatalf("no kaniko registry warm row of %s under %s", change, network)
		return ""
	}
	_, md := renderRuns(t, twoBuilderEnv, runs)
	for _, c := range []struct{ title, change string }{{"### Workload small", "none"}, {"### Workload small, change source", "source"}} {
		i := strings.Index(md, "## Network profiles")
		if i < 0 {
			t.Fatal("no network section")
		}
		sec := md[i:]
		j := strings.Index(sec, c.title+"\n")
		if j < 0 {
			t.Fatalf("the network section has no %q:\n%s", c.title, sec)
		}
		sec = sec[j+len(c.title):]
		if k := strings.Index(sec, "\n### "); k >= 0 {
			sec = sec[:k]
		}
		for _, want := range []string{"| kaniko | registry | " + cell(c.change, "local"), " | " + cell(c.change, "wan") + " ("} {
			if !strings.Contains(sec, want) {
				t.Errorf("%s: lacks %q in\n%s", c.title, want, sec)
			}
		}
	}
}
