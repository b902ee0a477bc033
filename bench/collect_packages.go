package bench

import (
	"context"
	"fmt"

	"github.com/cachebench/cachebench/results"
)

// packagesCollector counts a run's package requests through the package
// cache (by the round's tag), and fails a run whose cache lost its frozen
// store: its downloads then came from the internet.
type packagesCollector struct{ r *Runner }

// Collect implements Collector: it records what a run asked of the
// package cache (the requests with the round's tag only, when it has
// one), and fails a successful run that did not get it from the frozen
// cache (unfrozen).
func (c packagesCollector) Collect(ctx context.Context, f Finished, run *results.Run) {
	r, from, to, tag := c.r, f.Start, f.End, f.round.packageTag
	if r.packagesPath() == "" || r.env.Packages == nil {
		return
	}
	if f.Planned.Member == 0 {
		// The builds of a warm run started together share the round's tag
		// and time: their requests are not one build's alone.
		t, err := r.env.Packages.Traffic(ctx, from, to, tag)
		if err != nil {
			r.log.Warnf("package cache traffic: %v", err)
		} else {
			run.Packages = &t
		}
	}
	frozen, err := r.env.Packages.Frozen(ctx)
	if err != nil {
		r.log.Warnf("%v", err)
		frozen = true // unknown: the traffic alone decides
	}
	if why := unfrozen(run.Packages, frozen); why != "" && run.Success {
		run.Success, run.Reason = false, why
	}
}

// unfrozen says why a run is not a measurement when the package cache it
// used is no longer the frozen one ("" when it is): measured runs come
// after the cache was filled and frozen, so a cache found thawed, or a
// fetch from upstream, means the cache lost its store and its frozen state
// (its pod was replaced), and builds download from the internet what the
// runs before took from the cache.
func unfrozen(t *results.PackageTraffic, frozen bool) string {
	const why = " (was its pod replaced?), so this run is not measured; run the benchmark again to fill it, or use --packages direct"
	switch {
	case t != nil && t.Upstream > 0:
		return fmt.Sprintf("the package cache fetched %d of the run's %d package requests from upstream after it was frozen: it has lost its store%s", t.Upstream, t.Requests, why)
	case !frozen:
		return "the package cache, frozen after its fill, is no longer frozen: it has lost its store" + why
	}
	return ""
}

// packagesNote is the run's package traffic for the progress line.
func packagesNote(t *results.PackageTraffic) string {
	if t == nil {
		return ""
	}
	note := fmt.Sprintf("; packages %.1f MB in %d requests", float64(t.Bytes)/1e6, t.Requests)
	if t.Refused > 0 {
		note += fmt.Sprintf(", %d refused (first: %s)", t.Refused, t.RefusedURLs[0])
	}
	return note
}
