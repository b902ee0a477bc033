package bench

import (
	"context"
	"fmt"
	"strings"

	"github.com/cachebench/cachebench/builders"
)

// layerRepoPreparation gives a round with a layer cache in the registry a
// repository of its own, never used before, and proves it empty.
type layerRepoPreparation struct{ r *Runner }

// Start implements Preparation. Each change pattern has rounds of its
// own, and so repositories.
func (p layerRepoPreparation) Start(ctx context.Context, s PlannedRun, rd *round) error {
	r := p.r
	rd.cacheRepo = builders.CacheRepo(r.env.Registry.Host, s.Strategy, r.names.roundID(s))
	return p.checkEmptyRepo(ctx, rd.cacheRepo)
}

// End implements Preparation: the repository stays, for the record (the
// image check reads the pushed images from the registry too).
func (layerRepoPreparation) End(context.Context, *round) {}

// checkEmptyRepo proves that a round's cache starts empty.
func (p layerRepoPreparation) checkEmptyRepo(ctx context.Context, ref string) error {
	r := p.r
	repo := strings.TrimPrefix(ref, r.env.Registry.Host+"/")
	sess, err := r.env.Registry.Connect(ctx)
	if err != nil {
		return err
	}
	defer sess.Close()
	tags, err := sess.Tags(ctx, repo)
	if err != nil {
		return fmt.Errorf("check cache repository %s: %w", repo, err)
	}
	if len(tags) > 0 {
		return fmt.Errorf("cache repository %s is not empty (%d tags): a round must start cold; use a new --run-id", repo, len(tags))
	}
	return nil
}
