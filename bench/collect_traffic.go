package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cachebench/cachebench/cluster/registry"
	"github.com/cachebench/cachebench/measure"
	"github.com/cachebench/cachebench/results"
)

// trafficCollector counts what a run asked of each registry (upstream,
// cache, mirror): requests, pulls, bytes pulled and pushed.
type trafficCollector struct{ r *Runner }

// Collect implements Collector. A round with bases of its own (ownBases)
// tells its traffic to the mirror and upstream from other runs' by their
// repositories.
func (c trafficCollector) Collect(ctx context.Context, f Finished, run *results.Run) {
	var err error
	if run.Traffic, err = c.traffic(ctx, f.Start, f.End, f.round.basePath); err != nil {
		c.r.log.Warnf("%s: registry traffic: %v", f.Planned.Name(), err)
	}
}

// traffic reads what the run asked of each registry, between its start
// and its end, from the registries' access logs: requests are attributed
// by the kubelet's timestamp of their log line (warm-ups and cache checks
// happen before a run starts). With bases, a repository path that is the
// run's round's alone, only the requests for repositories under it count
// at the upstream registry and the mirror, which tells the run's requests
// from those of runs beside it. The bytes pushed are looked up blob by
// blob, since the access log holds response sizes only.
func (c trafficCollector) traffic(ctx context.Context, from, to time.Time, bases string) (map[string]results.RegistryTraffic, error) {
	r := c.r
	out := map[string]results.RegistryTraffic{}
	for _, reg := range r.env.Registries() {
		log, err := r.env.Clients.LogsSince(ctx, r.env.Namespace, reg.PodSelector(), reg.LogContainer(), from.Add(-time.Second))
		if err != nil {
			return nil, fmt.Errorf("%s registry: %w", reg.Role, err)
		}
		reqs := measure.AccessLog(measure.ParseTimestamped(log))
		if bases != "" && reg.Role != registry.Cache {
			reqs = slices.DeleteFunc(reqs, func(q measure.Request) bool { return !strings.HasPrefix(q.Repository(), bases+"/") })
		}
		t := measure.Tally(reqs, from, to)
		rt := results.RegistryTraffic{
			Requests: t.Requests, Pulls: t.Pulls, BlobGets: t.BlobGets, PulledBytes: t.PulledBytes,
			PushedBlobs: len(t.Pushed), ManifestPuts: t.ManifestPuts,
		}
		if len(t.Pushed) > 0 {
			sess, err := reg.Connect(ctx)
			if err != nil {
				return nil, err
			}
			for _, b := range t.Pushed {
				n, err := sess.BlobSize(ctx, b.Repository, b.Digest)
				if err != nil {
					sess.Close()
					return nil, fmt.Errorf("%s registry: %w", reg.Role, err)
				}
				rt.PushedBytes += n
			}
			sess.Close()
		}
		out[string(reg.Role)] = rt
	}
	return out, nil
}
