package bench

import (
	"context"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/cachebench/cachebench/results"
)

// Collector is one measurement of a finished run, written into its
// record: one file each (collect_*.go). A collector that cannot measure
// says so in the log and leaves its part of the record empty.
type Collector interface {
	Collect(ctx context.Context, f Finished, run *results.Run)
}

// Finished is a run whose PipelineRun ended: what collectors read.
type Finished struct {
	Planned     PlannedRun
	PipelineRun *pipelinev1.PipelineRun
	// Start and End are the harness's clock around the run.
	Start, End time.Time
	// Pods is what the harness saw of its pods while it went on.
	Pods  PodsSeen
	round *round
}

// collectors are the measurements of every run, in order: the pipeline's
// own first (success, the build log, each task's node), the verdict last
// (it reads the others).
func (r *Runner) collectors() []Collector {
	return []Collector{pipelineCollector{r}, trafficCollector{r}, packagesCollector{r}, cacheCollector{r}, verdictCollector{r}}
}
