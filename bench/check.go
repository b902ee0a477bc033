package bench

import (
	"fmt"

	"github.com/cachebench/cachebench/reports"
)

// CheckCacheUse lists the ways a successful run contradicts its strategy,
// judged from kaniko's log: no cache must show no hits; a layer cache must
// start empty in a cold run and serve layers in warm runs; a cache volume
// must serve every base image.
func CheckCacheUse(s Step, run reports.Run) []string {
	var problems []string
	bad := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s (%s %s%d): ", s.Strategy.Name, s.Workload.Name, run.Phase, run.Attempt)+fmt.Sprintf(format, args...))
	}
	k := run.Kaniko
	if !s.Strategy.UsesCache() {
		if k.CacheHits != 0 || k.LocalCacheHits != 0 {
			bad("no cache, yet %d layer and %d local cache hits", k.CacheHits, k.LocalCacheHits)
		}
		return problems
	}
	if s.Strategy.LayerRepo != "" {
		switch run.Phase {
		case reports.Cold:
			if k.CacheHits != 0 {
				bad("cold run found %d cached layers in a repository that should be empty", k.CacheHits)
			}
			if k.CacheMisses == 0 {
				bad("cold run reported no cache lookups")
			}
		case reports.Warm:
			if k.CacheHits == 0 {
				bad("warm run took no layer from the cache (%d misses)", k.CacheMisses)
			}
		}
	}
	if s.Strategy.CacheVolume && k.LocalCacheHits < len(s.Workload.Bases) {
		bad("the cache volume served %d base images, want at least %d (%v)", k.LocalCacheHits, len(s.Workload.Bases), s.Workload.Bases)
	}
	return problems
}
