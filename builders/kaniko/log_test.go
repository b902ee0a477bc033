package kaniko

import (
	"math"
	"os"
	"strings"
	"testing"

	"github.com/cachebench/cachebench/measure"
)

// ../testdata/kaniko-gobuild-registry-warm.log is the build step's log of a real
// warm run of the gobuild workload under the registry strategy, fetched
// with kubelet timestamps: the dependency layer came from the cache, the
// stamped compile missed and was pushed to the cache.
func TestKanikoFromRecordedLog(t *testing.T) {
	raw, err := os.ReadFile("../testdata/kaniko-gobuild-registry-warm.log")
	if err != nil {
		t.Fatal(err)
	}
	lines := measure.ParseTimestamped(string(raw))
	if len(lines) < 50 || lines[0].Time.IsZero() {
		t.Fatalf("parsed %d lines, first at %v", len(lines), lines[0].Time)
	}
	b := readLog(lines)
	if b.CacheHits != 1 || b.CacheMisses != 1 || b.LocalCacheHits != 0 || b.CachePushes != 1 {
		t.Fatalf("counters = %+v", b)
	}
	got := map[string]float64{}
	var total float64
	for _, p := range b.Phases {
		got[p.Name] = p.Seconds
		total += p.Seconds
	}
	// From the log: unpacks 13:29:30.84 -> 13:29:38.87 and 13:30:24.24 ->
	// 13:30:27.91; between the stages 13:30:20.62 -> 13:30:24.22; the compile
	// runs 13:29:42.06 -> 13:30:16.14.
	for name, want := range map[string]float64{"unpack": 11.70, "stage-switch": 3.60} {
		if math.Abs(got[name]-want) > 0.5 {
			t.Errorf("phase %s = %.2fs, want about %.2fs (all: %v)", name, got[name], want, got)
		}
	}
	if got["commands"] < 34 {
		t.Errorf("commands = %.2fs, want at least the 34 s compile", got["commands"])
	}
	for _, p := range []string{"base-image", "cache-lookup", "cache-extract", "snapshot", "cache-push", "push"} {
		if got[p] <= 0 {
			t.Errorf("phase %s missing: %v", p, got)
		}
	}
	// The phases cover the log from the first line to the last push.
	span := lines[len(lines)-1].Time.Sub(lines[0].Time).Seconds()
	if math.Abs(total-span) > 0.01 {
		t.Errorf("phases add up to %.2fs, the log spans %.2fs", total, span)
	}
}

func TestKanikoCountsLocalCacheHits(t *testing.T) {
	log := strings.Join([]string{
		`2026-11-26T13:00:00.000000000Z {"level":"info","msg":"Retrieving image manifest r/base/debian:bookworm"}`,
		`2026-11-26T13:00:00.100000000Z {"level":"info","msg":"Found sha256:0123abcd in local cache"}`,
		`2026-11-26T13:00:01.000000000Z {"level":"info","msg":"No cached layer found for cmd RUN apt-get update"}`,
		`2026-11-26T13:00:01.500000000Z {"level":"info","msg":"RUN apt-get update"}`,
		`2026-11-26T13:00:02.000000000Z Get:1 http://deb.debian.org/debian bookworm InRelease [151 kB]`,
		`2026-11-26T13:00:05.000000000Z {"level":"info","msg":"Taking snapshot of full filesystem..."}`,
		`2026-11-26T13:00:06.000000000Z {"level":"info","msg":"Pushing layer r/cache:abc to cache now"}`,
		`2026-11-26T13:00:06.500000000Z {"level":"info","msg":"Pushing image to r/bench/small:x"}`,
		`2026-11-26T13:00:07.000000000Z {"level":"info","msg":"Pushed r/bench/small@sha256:ff"}`,
	}, "\n")
	b := readLog(measure.ParseTimestamped(log))
	if b.LocalCacheHits != 1 || b.CacheMisses != 1 || b.CachePushes != 1 || b.CacheHits != 0 {
		t.Fatalf("counters = %+v", b)
	}
	want := map[string]float64{"base-image": 1.0, "cache-lookup": 0.5, "commands": 3.5, "snapshot": 1, "cache-push": 0.5, "push": 0.5}
	for _, p := range b.Phases {
		if math.Abs(p.Seconds-want[p.Name]) > 1e-6 {
			t.Errorf("phase %s = %v, want %v", p.Name, p.Seconds, want[p.Name])
		}
		delete(want, p.Name)
	}
	if len(want) > 0 {
		t.Errorf("phases missing: %v", want)
	}
}

// Early kaniko releases said "No cached layer found, executing command...",
// naming no command: still a miss, but there is nothing to list.
func TestKanikoLookupWithoutCommand(t *testing.T) {
	b := readLog(measure.ParseTimestamped(`{"level":"info","msg":"No cached layer found, executing command..."}`))
	if b.CacheMisses != 1 || b.Instructions != nil {
		t.Fatalf("misses %d, instructions %v", b.CacheMisses, b.Instructions)
	}
}
