package measure

import (
	"math"
	"testing"

	"github.com/cachebench/cachebench/results"
)

// The logs under testdata were recorded from real runs in a kind cluster
// (workload small; RUN instructions' apt output thinned out).
func TestBuilderLogs(t *testing.T) {
	tests := []struct {
		file                        string
		read                        func([]LogLine) results.BuildLog
		hits, misses, local, pushes int
		phases                      map[string]float64
	}{
		// Registry cache imported into an empty state directory: both steps
		// cached, the base image never loaded, the cache exported again.
		{"buildkit-registry-warm1.log", BuildKit, 2, 0, 0, 1,
			map[string]float64{"base-image": 0.3, "cache-lookup": 0.3, "push": 0.6, "cache-push": 0.8}},
		// State directory warmed with the base image: FROM is CACHED.
		{"buildkit-pv-warm-cold0.log", BuildKit, 0, 2, 1, 0,
			map[string]float64{"base-image": 0.1, "commands": 8.8, "snapshot": 8.0, "push": 1.0}},
		{"buildah-registry-cold0.log", Buildah, 0, 3, 0, 3,
			map[string]float64{"base-image": 9.48, "commands": 16.14, "cache-push": 4.99, "snapshot": 0.97, "push": 1.11}},
		{"buildah-registry-warm1.log", Buildah, 3, 0, 0, 0,
			map[string]float64{"base-image": 7.16, "cache-lookup": 4.80, "snapshot": 0.16, "push": 0.73}},
		// Base image pulled into the volume by the warm-up pod.
		{"buildah-pv-warm-cold0.log", Buildah, 0, 3, 1, 0,
			map[string]float64{"base-image": 0.13, "commands": 13.24, "snapshot": 0.11, "push": 6.57}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b := readTestLog(t, tt.file, tt.read)
			if !b.Read || b.CacheHits != tt.hits || b.CacheMisses != tt.misses || b.LocalCacheHits != tt.local || b.CachePushes != tt.pushes {
				t.Errorf("hits %d misses %d local %d pushes %d, want %d %d %d %d", b.CacheHits, b.CacheMisses, b.LocalCacheHits, b.CachePushes, tt.hits, tt.misses, tt.local, tt.pushes)
			}
			got := map[string]float64{}
			for _, p := range b.Phases {
				got[p.Name] = p.Seconds
			}
			for name, want := range tt.phases {
				if math.Abs(got[name]-want) > 0.02 {
					t.Errorf("phase %s = %.3f s, want %.2f (all: %v)", name, got[name], want, got)
				}
			}
			for name, v := range got {
				if _, ok := tt.phases[name]; !ok && v > 0.02 {
					t.Errorf("unexpected phase %s = %.3f s", name, v)
				}
			}
		})
	}
}
