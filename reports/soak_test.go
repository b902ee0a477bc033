package reports

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachebench/cachebench/results"
)

// soakRuns is a round of n builds through a daemon: the cold one finds
// nothing, warm ones 4 of 5 steps until garbage collection starts at build
// lostFrom, then 1 of 5; the state grows by 100 MB a build up to 500, and
// from build lostFrom on it is down to 50 MB as a build starts.
func soakRuns(round, n, lostFrom int) []results.Run {
	var runs []results.Run
	for i := range n {
		c := results.Coordinates{Workload: "small", Builder: "buildkit", Strategy: "daemon", Round: round, Cache: results.Warm, Attempt: i,
			Change: "source", Network: results.LocalNetwork, Start: results.StartAPI}
		hits, before := 4, int64(min(i, 5))*100e6
		switch {
		case i == 0:
			c.Cache, hits, before = results.Cold, 0, 1e6
		case i+1 >= lostFrom:
			hits, before = 1, 50e6
		}
		runs = append(runs, results.Run{Coordinates: c, Seq: 100*round + i, Success: true, WallMillis: int64(10_000 + 1000*(5-hits)),
			BuildLog:         results.BuildLog{Read: true, CacheHits: hits, CacheMisses: 5 - hits},
			DaemonStateBytes: int64(min(i+1, 5)) * 100e6, DaemonStateBeforeBytes: before})
	}
	return runs
}

func TestSoaks(t *testing.T) {
	runs := append(soakRuns(1, 12, 8), soakRuns(2, soakMin-1, 99)...)
	// A failed build and one whose log was not read have no hit rate.
	runs[3].Success, runs[4].BuildLog.Read = false, false
	ss := soaks(runs)
	if len(ss) != 1 || ss[0].round.Round != 1 || len(ss[0].builds) != 12 {
		t.Fatalf("soaks: %+v; want round 1's 12 builds (round 2 is too short)", ss)
	}
	b := ss[0].builds
	if b[0].n != 1 || b[0].hitRate != 0 || b[1].hitRate != 0.8 || b[11].hitRate != 0.2 || b[11].stateMB != 500 || b[11].stateBeforeMB != 50 || b[2].stateBeforeMB != 200 {
		t.Errorf("builds: %+v", b)
	}
	if !math.IsNaN(b[3].hitRate) || !math.IsNaN(b[3].seconds) || !math.IsNaN(b[4].hitRate) || math.IsNaN(b[4].seconds) {
		t.Errorf("a failed build %+v and an unread log %+v: want no hit rate, and no time for the failed one", b[3], b[4])
	}

	// A daemon that died: its last build failed and recorded no state, and
	// the round went on with a fresh daemon's cold build, in the order run.
	died := soakRuns(3, 6, 99)
	died[3].Success, died[3].DaemonStateBytes = false, 0
	died[4].Cache, died[4].Attempt, died[4].BuildLog.CacheHits, died[4].BuildLog.CacheMisses = results.Cold, 0, 0, 5
	died[5].Attempt = 4
	ss = soaks(died)
	if len(ss) != 1 || len(ss[0].builds) != 6 {
		t.Fatalf("a soak whose daemon died: %+v; want its 6 builds", ss)
	}
	if b := ss[0].builds; !math.IsNaN(b[3].hitRate) || b[4].n != 5 || b[4].hitRate != 0 || b[5].n != 6 || b[5].hitRate != 0.8 {
		t.Errorf("a soak whose daemon died: %+v; want the failed build, then the fresh daemon's cold build at 5 and its warm one at 6", b)
	}
}

func TestSoakSection(t *testing.T) {
	env := results.Environment{RunID: "soak", Plan: map[string][]string{"gc-limit": {"300M"}}}
	dir, md := renderRuns(t, env, soakRuns(1, 12, 8))
	for _, want := range []string{
		"## A daemon over many builds",
		"garbage collection at 300M",
		"| buildkit, small+source | 12 | 5 of 11 | 80% | 20% | 11.0 | 14.0 | 500 | 50 |",
		"![A daemon's cache over builds in a row](soak.png)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "soak.png")); err != nil {
		t.Error(err)
	}
	_, md = renderRuns(t, results.Environment{RunID: "short"}, soakRuns(1, soakMin-1, 99))
	if strings.Contains(md, "over many builds") {
		t.Error("a round of few builds is reported as a soak")
	}
}

// A soak that follows a mix: source commits find 4 of 5 steps cached, base
// commits 1 of 5, and from build 9 on the source commits only 2: those
// lost layers, the base commits did not (they find what a base change
// leaves).
func mixSoakRuns() []results.Run {
	runs := soakRuns(1, 12, 99)
	for i := range runs {
		runs[i].Change = results.ChangeMix
		if i == 0 {
			continue
		}
		runs[i].MixChange = "source"
		switch {
		case i%3 == 0:
			runs[i].MixChange, runs[i].BuildLog.CacheHits, runs[i].BuildLog.CacheMisses = "base", 1, 4
		case i >= 8:
			runs[i].BuildLog.CacheHits, runs[i].BuildLog.CacheMisses = 2, 3
		}
	}
	return runs
}

func TestSoakThatFollowsAMix(t *testing.T) {
	env := results.Environment{RunID: "mixsoak", Plan: map[string][]string{"gc-limit": {"300M"}}}
	dir, md := renderRuns(t, env, mixSoakRuns())
	for _, want := range []string{
		"in a soak that follows a commit mix (--mix), of one of the mix's patterns",
		// Warm builds 1..11: base at 3, 6, 9; source lost layers at 8, 10, 11.
		"| buildkit, small+mix | 12 | 3 of 11 | – | – | – | – | 500 |",
		"| buildkit, small+mix | source | 8 | 3 of 8 | 65% | 11.0 |",
		"| buildkit, small+mix | base | 3 | 0 of 3 | 20% | 11.0 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "soak.png")); err != nil {
		t.Error(err)
	}
}
