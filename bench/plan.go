package bench

import (
	"fmt"
	"time"

	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/scenarios"
)

// Step is one planned run.
type Step struct {
	Workload scenarios.Workload
	Strategy scenarios.Strategy
	Round    int
	Cache    results.CacheState
	Attempt  int // 0 for cold, 1.. for warm
}

// Name is the step's test name: <strategy>/<workload>/r<round>-<cold|warmN>,
// so that "go test -run Cache/registry" selects one strategy.
func (s Step) Name() string {
	if s.Cache == results.Cold {
		return fmt.Sprintf("%s/%s/r%d-cold", s.Strategy.Name, s.Workload.Name, s.Round)
	}
	return fmt.Sprintf("%s/%s/r%d-warm%d", s.Strategy.Name, s.Workload.Name, s.Round, s.Attempt)
}

// Plan lists the runs of a fixed number of rounds, in the order the
// Planner hands them out.
func Plan(workloads []scenarios.Workload, strategies []scenarios.Strategy, rounds, warm int) []Step {
	var steps []Step
	for r := 1; r <= rounds; r++ {
		steps = append(steps, roundSteps(workloads, strategies, r, warm)...)
	}
	return steps
}

// Estimate is about how long the steps take (each workload's RunTime).
func Estimate(steps []Step) time.Duration {
	var d time.Duration
	for _, s := range steps {
		d += s.Workload.RunTime
	}
	return d
}

// selection returns the workloads and strategies the options name. A
// strategy is the same value whatever images its builder runs.
func (o *Options) selection() ([]scenarios.Workload, []scenarios.Strategy, error) {
	ws, err := scenarios.SelectWorkloads(o.Workloads)
	if err != nil {
		return nil, nil, err
	}
	b, err := NewBuilder(o.Builder, BuilderImages{})
	if err != nil {
		return nil, nil, err
	}
	ss, err := scenarios.SelectStrategies(b, o.Strategies)
	if err != nil {
		return nil, nil, err
	}
	return ws, ss, nil
}
