package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cachebench/cachebench/cluster/triggers"
	"github.com/cachebench/cachebench/scenarios"
)

// triggerPreparation gives a round started by pushes its Trigger: a push
// to the round's branch makes the round's PipelineRun.
type triggerPreparation struct{ r *Runner }

// Start implements Preparation: it creates the round's Trigger.
func (p triggerPreparation) Start(ctx context.Context, s PlannedRun, rd *round) error {
	rd.trigger = roundName(p.r.names.roundPath(s))
	return p.addTrigger(ctx, s, rd, rd.trigger)
}

// addTrigger creates a Trigger named name for pushes to rd's branch,
// making rd's PipelineRun. Every Trigger of a round carries its round's
// label (rd.trigger), by which End removes them all.
func (p triggerPreparation) addTrigger(ctx context.Context, s PlannedRun, rd *round, name string) error {
	r := p.r
	if r.env.Listener == nil {
		return errors.New("runs start from push events, but the cluster has no event listener (Tekton Triggers not installed)")
	}
	stamp := r.runID
	if s.Change == scenarios.ChangeStamp {
		stamp = paramCommit // each push is a new commit, so a new value
	}
	c := r.names.roundKey(s)
	l := r.labels(s)
	// Cold and warm runs share the round's template: the state is in the
	// results, not on the PipelineRun.
	delete(l, LabelCache)
	l[LabelTrigger] = rd.trigger
	// add creates Trigger t for pushes with header, making a PipelineRun
	// of round of.
	add := func(t string, of *round, header map[string]string) error {
		pr, err := r.pipelineRun(s, of, stamp, paramURL, imageTag(r.runID, c, paramCommit))
		if err != nil {
			return err
		}
		pr.GenerateName = namePrefix(c.Slug() + "-push")
		pr.Labels = l
		if err := r.env.Listener.AddTrigger(ctx, triggers.Trigger{Name: t, Labels: l, Repository: s.Workload.Name, Branch: of.branch, Header: header, PipelineRun: pr}); err != nil {
			return fmt.Errorf("%s: %w", s.Name(), err)
		}
		return nil
	}
	if daemonsOf(rd) == nil {
		if err := add(name, rd, nil); err != nil {
			return err
		}
	}
	// With several daemons, a Trigger per daemon: the push names the
	// daemon its build goes to in a header, as a dispatcher in front of
	// the listener would.
	for i, d := range daemonsOf(rd) {
		one := *rd // the round, with daemon d its only one
		one.daemons = &daemonPool{daemons: []*daemonInstance{d}, used: map[int]bool{}}
		if err := add(fmt.Sprintf("%s-d%d", name, i+1), &one, map[string]string{daemonHeader: fmt.Sprint(i + 1)}); err != nil {
			return err
		}
	}
	rd.triggerAt = time.Now()
	return nil
}

// daemonHeader names, in a push event, which of its round's daemons the
// build goes to (from 1), when the round has several.
const daemonHeader = "X-Cachebench-Daemon"

// daemonsOf are a round's daemons when it has several, else none.
func daemonsOf(rd *round) []*daemonInstance {
	if rd.daemons == nil || len(rd.daemons.daemons) < 2 {
		return nil
	}
	return rd.daemons.daemons
}

// End implements Preparation: it deletes the round's Trigger and
// template.
func (p triggerPreparation) End(ctx context.Context, rd *round) {
	r := p.r
	if rd.trigger == "" || r.env.Listener == nil {
		return
	}
	if err := r.env.Listener.RemoveTriggers(ctx, LabelTrigger+"="+rd.trigger); err != nil {
		r.log.Warnf("%v", err)
	}
}
