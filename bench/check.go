package bench

import (
	"fmt"

	"github.com/cachebench/cachebench/cluster/registry"
	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/scenarios"
)

// CheckCacheUse lists the ways a successful run contradicts its strategy,
// judged from the builder's log: no cache must show no hits; a layer cache
// (in a registry, or on a volume that keeps layers) must start empty in a
// cold run and serve layers in warm runs; a cache volume must serve every
// base image. A mirror, judged from the registries' traffic, must be
// pulled through, fill itself from upstream in a cold run and spare
// upstream every blob in warm runs.
func CheckCacheUse(s PlannedRun, run results.Run) []string {
	var problems []string
	bad := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s %s (%s %s%d): ", s.Builder.Name(), s.Strategy.Name, s.Workload.Name, run.Cache, run.Attempt)+fmt.Sprintf(format, args...))
	}
	k := run.BuildLog
	if s.Strategy.Mirror {
		// The builder's log cannot tell a mirror from upstream; the
		// registries' access logs can.
		m, up := run.Traffic[string(registry.Mirror)], run.Traffic[string(registry.Upstream)]
		switch {
		case m.BlobGets == 0 && m.Pulls == 0:
			bad("nothing was pulled through the mirror (upstream served %d blobs)", up.BlobGets)
		case run.Cache == results.Cold && up.BlobGets == 0:
			bad("cold run: the mirror fetched none of the round's new bases' blobs from upstream")
		case run.Cache == results.Warm && up.BlobGets > 0:
			bad("warm run: %d blobs (%.1f MB) came from upstream, which the mirror should have served", up.BlobGets, float64(up.PulledBytes)/1e6)
		}
	}
	if !s.Strategy.UsesCache() {
		if k.CacheHits != 0 || k.LocalCacheHits != 0 {
			bad("no cache, yet %d layer and %d local cache hits", k.CacheHits, k.LocalCacheHits)
		}
		return problems
	}
	if s.Strategy.LayerCache() {
		// A warm build on a node whose volume no build of the round has
		// used finds no layers there, as a cold run does.
		empty, what := run.Cache == results.Cold, "cold run"
		if run.ColdVolume && s.Strategy.VolumeLayers {
			empty, what = true, "build on a node whose cache volume held no layers yet"
		}
		if run.ColdDaemon && s.Strategy.Daemon {
			empty, what = true, "build on a daemon that no build of the round had used"
		}
		switch {
		case empty:
			if k.CacheHits != 0 {
				bad("%s found %d cached layers in a cache that should be empty", what, k.CacheHits)
			}
			if k.CacheMisses == 0 {
				bad("%s reported no cache lookups", what)
			}
		case run.Cache == results.Warm:
			// A source, deps or base change may rightly leave nothing a
			// builder looks up cached (manyfiles' first COPY; a new base):
			// its instructions are judged one by one instead (findings).
			if k.CacheHits == 0 && !changesInputs(s.made()) {
				bad("warm run took no layer from the cache (%d misses)", k.CacheMisses)
			}
		}
	}
	// A volume that keeps layers serves the warm runs' layers, and a build
	// whose every instruction is cached needs no base image at all (BuildKit does
	// not even load it): the bases are checked in the cold run there.
	// After a base change the volume holds the old digests, which the
	// warm runs no longer ask for.
	// A volume no build has used holds the bases its warm-up put there.
	basesChecked := (!s.Strategy.VolumeLayers && s.Change != scenarios.ChangeBase) || run.Cache == results.Cold ||
		(run.ColdVolume && s.Change != scenarios.ChangeBase)
	if s.Strategy.CacheVolume && basesChecked && k.LocalCacheHits < len(s.Workload.Bases) {
		bad("the cache volume served %d base images, want at least %d (%v)", k.LocalCacheHits, len(s.Workload.Bases), s.Workload.Bases)
	}
	return problems
}

// changesInputs reports whether a change edits what the build reads
// (files, base images), rather than nothing or a build argument.
func changesInputs(c scenarios.Change) bool {
	return c.EditsFile() || c == scenarios.ChangeBase
}

// CheckRun is the verdict on a successful run's cache use: unverified when
// the builder's log could not be read (its counters are then unknown, not
// zero), else verified or contradicted by CheckCacheUse.
func CheckRun(s PlannedRun, run results.Run) *results.CacheCheck {
	if !run.BuildLog.Read {
		return &results.CacheCheck{Verdict: results.Unverified, Problems: []string{"the builder's log could not be read"}}
	}
	if s.Strategy.Mirror && run.Traffic == nil {
		return &results.CacheCheck{Verdict: results.Unverified, Problems: []string{"the registries' access logs could not be read"}}
	}
	if problems := CheckCacheUse(s, run); len(problems) > 0 {
		return &results.CacheCheck{Verdict: results.Contradicted, Problems: problems}
	}
	return &results.CacheCheck{Verdict: results.Verified}
}
