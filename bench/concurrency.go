package bench

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/cachebench/cachebench/results"
)

// addMembers gives a round at a concurrency level above 1 a round of its
// own for each build of its warm runs: a branch of its own where the round
// has one (a source or deps change, or runs started by pushes), so that
// each build builds its own commit, with a Trigger of its own for pushes
// to it; and a node of its own in turn, unless the strategy keeps its
// cache on the round's one volume and the nodes do not share it (such a
// volume is a folder on one node, so its round's builds stay there).
func (r *Runner) addMembers(ctx context.Context, s PlannedRun, rd *round) error {
	k := s.level()
	if k == 1 {
		return nil
	}
	rd.members = make([]*round, k)
	for m := range k {
		member := *rd
		member.members, member.commit = nil, ""
		if rd.branch != "" {
			member.branch = fmt.Sprintf("%s-m%d", rd.branch, m+1)
			if err := r.env.Git.Branch(ctx, s.Workload.Name, member.branch); err != nil {
				return fmt.Errorf("%s: %w", s.Name(), err)
			}
		}
		if nodes := r.env.BuildNodes; len(nodes) > 0 && (!s.Strategy.CacheVolume || rd.volumes != nil || rd.sharedVolume != "") {
			member.node = nodes[(rd.nodeIndex+m)%len(nodes)]
		}
		if rd.volumes != nil {
			member.claim = rd.volumes.claims[member.node]
		}
		if rd.trigger != "" {
			sm := s
			sm.Member = m + 1
			if err := (triggerPreparation{r}).addTrigger(ctx, sm, &member, fmt.Sprintf("%s-m%d", rd.trigger, m+1)); err != nil {
				return err
			}
		}
		rd.members[m] = &member
	}
	return nil
}

// runBatch makes a planned run: one build, or for a warm run at a
// concurrency level above 1 that many builds, each of its member's round,
// prepared one after another (their commits) and then started as the
// arrival says, together or at random gaps. Each build is recorded as a
// run of its own.
func (r *Runner) runBatch(ctx context.Context, s PlannedRun, rd *round) ([]results.Run, error) {
	if s.Builds() == 1 {
		run, err := r.runOnce(ctx, s, rd)
		return []results.Run{run}, err
	}
	if len(rd.members) != s.level() {
		return nil, fmt.Errorf("%s: its round has %d builds' rounds, not %d", s.Name(), len(rd.members), s.level())
	}
	var runs []results.Run
	var errs []error
	var ready []preparedRun
	for m, member := range rd.members {
		sm := s
		sm.Member = m + 1
		p, err := r.prepareRun(ctx, sm, member)
		if err != nil {
			run, err := r.failed(ctx, p.run, err)
			runs, errs = append(runs, run), append(errs, err)
			continue
		}
		ready = append(ready, p)
	}
	if err := dither(ctx); err != nil {
		for _, p := range ready {
			run, err := r.failed(ctx, p.run, err)
			runs, errs = append(runs, run), append(errs, err)
		}
		return runs, errors.Join(errs...)
	}
	offsets := r.cfg.Arrival.offsets(len(ready), arrivalRand(r.runID, s))
	if r.cfg.Arrival.Rate > 0 {
		r.log.Infof("%s: %d builds arriving over %s (%s)", s.Name(), len(ready), offsets[len(offsets)-1].Round(100*time.Millisecond), r.cfg.Arrival)
	} else {
		r.log.Infof("%s: %d builds at once", s.Name(), len(ready))
	}
	t0 := time.Now()
	started := make([]results.Run, len(ready))
	startErrs := make([]error, len(ready))
	var wg sync.WaitGroup
	for i, p := range ready {
		wg.Go(func() {
			select {
			case <-time.After(time.Until(t0.Add(offsets[i]))):
				started[i], startErrs[i] = r.startRun(ctx, p)
			case <-ctx.Done():
				started[i], startErrs[i] = r.failed(ctx, p.run, ctx.Err())
			}
		})
	}
	wg.Wait()
	return append(runs, started...), errors.Join(append(errs, startErrs...)...)
}

// arrivalRand draws a warm run's arrival gaps, the same for the same
// benchmark and run: a resumed benchmark repeats them.
func arrivalRand(runID string, s PlannedRun) *rand.Rand {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%s", runID, s.Name())
	return rand.New(rand.NewPCG(h.Sum64(), 0))
}
