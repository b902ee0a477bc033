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

// Collect implements Collector. At the cache registry, the run's requests
// are those for its repositories (the builder's image repository and the
// round's layer cache); a round with bases of its own (ownBases) tells its
// traffic to the mirror and upstream from other runs' by their
// repositories too.
func (c trafficCollector) Collect(ctx context.Context, f Finished, run *results.Run) {
	if f.Planned.Member > 0 {
		// The builds of a warm run started together share its repositories
		// and its time: no request is one build's alone.
		return
	}
	var err error
	if run.Traffic, err = c.traffic(ctx, f.Start, f.End, f.round); err != nil {
		c.r.log.Warnf("%s: registry traffic: %v", f.Planned.Name(), err)
	}
}

// traffic reads what the run asked of each registry, between its start
// and its end, from the registries' access logs: requests are attributed
// by the kubelet's timestamp of their log line (warm-ups and cache checks
// happen before a run starts) and by repository (roundRequests). The
// bytes pushed are looked up blob by blob, since the access log holds
// response sizes only.
func (c trafficCollector) traffic(ctx context.Context, from, to time.Time, rd *round) (map[string]results.RegistryTraffic, error) {
	r := c.r
	out := map[string]results.RegistryTraffic{}
	for _, reg := range r.env.Registries() {
		log, err := r.env.Clients.LogsSince(ctx, r.env.Namespace, reg.PodSelector(), reg.LogContainer(), from.Add(-time.Second))
		if err != nil {
			return nil, fmt.Errorf("%s registry: %w", reg.Role, err)
		}
		reqs := roundRequests(measure.AccessLog(measure.ParseTimestamped(log)), reg.Role, rd, r.env.Registry.Host)
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

// roundRequests keeps the requests of a round's runs: at the cache
// registry those for its repositories (the builder's image repository,
// the round's layer cache), which no run beside it uses; at upstream and the mirror,
// when the round has bases of its own, those under its base path. Requests
// that name no repository (a client's /v2/ ping) are no round's.
func roundRequests(reqs []measure.Request, role registry.Role, rd *round, cacheHost string) []measure.Request {
	switch {
	case role == registry.Cache:
		mine := []string{rd.imageRepo, strings.TrimPrefix(rd.cacheRepo, cacheHost+"/")}
		return slices.DeleteFunc(reqs, func(q measure.Request) bool {
			repo := q.Repository()
			return repo == "" || !slices.Contains(mine, repo)
		})
	case rd.basePath != "":
		return slices.DeleteFunc(reqs, func(q measure.Request) bool { return !strings.HasPrefix(q.Repository(), rd.basePath+"/") })
	}
	return reqs
}
