package bench

import (
	"context"
	"fmt"
	"path"

	"github.com/cachebench/cachebench/cluster/pkgcache"
	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/scenarios"
)

// changePreparation gives a round what its change pattern and its start
// need: a branch of its own, and base images of its own.
type changePreparation struct{ r *Runner }

// End implements Preparation: the branch and the base copies stay (they
// are the round's record, and the registry and git server go with the
// cluster).
func (changePreparation) End(context.Context, *round) {}

// Start implements Preparation: a source or deps change gets a branch of
// its own, starting at the workload's commit, as does every round started
// by pushes; a base change gets its own copies of the base images, so
// that their new digests reach no other round, and so does a mirror
// round, and every round of runs side by side (ownBases). A round that
// follows a mix gets both, whichever patterns it makes.
func (p changePreparation) Start(ctx context.Context, s PlannedRun, rd *round) error {
	r := p.r
	mix := s.Change == scenarios.ChangeMix
	switch {
	case s.Change.EditsFile(), mix,
		r.cfg.Start == results.StartTrigger:
		// Every run of a round started by pushes needs a branch to push to.
		rd.branch = r.names.roundPath(s)
		if err := r.env.Git.Branch(ctx, s.Workload.Name, rd.branch); err != nil {
			return fmt.Errorf("%s: %w", s.Name(), err)
		}
	}
	if s.Change == scenarios.ChangeBase || mix || s.Strategy.Mirror || r.cfg.SideBySide {
		if err := p.ownBases(ctx, s, rd); err != nil {
			return fmt.Errorf("%s: %w", s.Name(), err)
		}
	}
	return nil
}

// ownBases gives the round copies of the workload's base images of its
// own, in upstream under the round's path. Their repositories tell the
// round's registry traffic from that of runs beside it; bases no round
// pulled before are new to the mirror, as an empty mirror would be. With
// packages proxied, the copies carry the package cache's settings with
// the round's own tag (pkgcache.Env), which tells its package traffic
// from others' likewise.
func (p changePreparation) ownBases(ctx context.Context, s PlannedRun, rd *round) error {
	r := p.r
	pathOfRound, from := r.names.roundPath(s), r.packagesPath()
	rd.basePath = path.Join(from, pathOfRound)
	var env []string
	if from != "" {
		rd.packageTag = roundName(pathOfRound)
		env = pkgcache.Env(r.env.Namespace, rd.packageTag)
	}
	sess, err := r.env.Upstream.Connect(ctx)
	if err != nil {
		return err
	}
	defer sess.Close()
	for _, repo := range r.baseRepos(s) {
		dst := rd.basePath + "/" + repo
		if env != nil {
			_, err = sess.CopyWithEnv(ctx, repo, dst, env)
		} else {
			err = sess.Copy(ctx, repo, dst)
		}
		if err != nil {
			return fmt.Errorf("copy base image %s for the round: %w", repo, err)
		}
	}
	return nil
}
