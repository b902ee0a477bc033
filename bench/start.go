package bench

import (
	"context"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/cachebench/cachebench/results"
)

// Starter is how a run begins (--start): one file per way, start_api.go
// and start_trigger.go.
type Starter interface {
	// Prepare readies the run's start (the api renders its PipelineRun,
	// a push makes its commit) and returns what begins it. The run's
	// clock has not started yet.
	Prepare(ctx context.Context, s PlannedRun, rd *round, seq int, stamp string) (Begin, error)
}

// Begin begins a prepared run.
type Begin func(ctx context.Context) (Started, error)

// Started is a run that began: its PipelineRun, when its clock started,
// and, for a push, the event's own times.
type Started struct {
	PipelineRun *pipelinev1.PipelineRun
	At          time.Time
	Trigger     *results.TriggerTimes
}

// starter is the Starter of a start mode.
func (r *Runner) starter() Starter {
	if r.cfg.Start == results.StartTrigger {
		return triggerStarter{r}
	}
	return apiStarter{r}
}
