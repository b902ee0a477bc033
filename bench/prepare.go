package bench

import (
	"context"

	"github.com/cachebench/cachebench/results"
)

// Preparation is what a round needs before its cold run, undone after its
// last: one file each (prepare_*.go). A strategy's flags (a layer cache
// repository, a cache volume), the change pattern and the start mode say
// which a round has.
type Preparation interface {
	// Start prepares the round, recording in rd what its runs need.
	Start(ctx context.Context, s PlannedRun, rd *round) error
	// End undoes what Start made, whether or not it finished; it also
	// runs after a Ctrl-C.
	End(ctx context.Context, rd *round)
}

// preparations are a round's, in order: the trigger last, since its
// template names what the others made (the cache volume, the daemon).
func (r *Runner) preparations(s PlannedRun) []Preparation {
	var p []Preparation
	if s.Strategy.LayerRepo != "" {
		p = append(p, layerRepoPreparation{r})
	}
	p = append(p, changePreparation{r})
	if s.Strategy.CacheVolume {
		p = append(p, volumePreparation{r})
	}
	if s.Strategy.Daemon {
		p = append(p, daemonPreparation{r})
	}
	if r.cfg.Start == results.StartTrigger {
		p = append(p, triggerPreparation{r})
	}
	return p
}
