package bench

import (
	"fmt"
	"strings"
	"time"

	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/scenarios"
)

// Step is one planned run.
type Step struct {
	Workload scenarios.Workload
	Builder  scenarios.Builder
	Strategy scenarios.Strategy // as Builder implements it
	Round    int
	Cache    results.CacheState
	Attempt  int // 0 for cold, 1.. for warm
}

// Name is the step's test name:
// <strategy>/<builder>/<workload>/r<round>-<cold|warmN>, so that
// "go test -run Cache/registry" selects one strategy and
// "-run Cache//buildkit" one builder.
func (s Step) Name() string {
	if s.Cache == results.Cold {
		return fmt.Sprintf("%s/%s/%s/r%d-cold", s.Strategy.Name, s.Builder.Name(), s.Workload.Name, s.Round)
	}
	return fmt.Sprintf("%s/%s/%s/r%d-warm%d", s.Strategy.Name, s.Builder.Name(), s.Workload.Name, s.Round, s.Attempt)
}

// Plan lists the runs of a fixed number of rounds, in the order the
// Planner hands them out.
func Plan(workloads []scenarios.Workload, builders []scenarios.Builder, strategies []string, rounds, warm int) []Step {
	var steps []Step
	for r := 1; r <= rounds; r++ {
		steps = append(steps, roundSteps(workloads, builders, strategies, r, warm)...)
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

// selection returns the workloads, builders (with img's images) and
// strategy names the options name; every builder must have every
// strategy. No strategies named means the first builder's.
func (o *Options) selection(img BuilderImages) ([]scenarios.Workload, []scenarios.Builder, []string, error) {
	ws, err := scenarios.SelectWorkloads(o.Workloads)
	if err != nil {
		return nil, nil, nil, err
	}
	bs, err := NewBuilders(o.Builders, img)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(bs) == 0 {
		return nil, nil, nil, fmt.Errorf("no builder: choose from %s", strings.Join(Builders, ", "))
	}
	names := o.Strategies
	if len(names) == 0 {
		names = scenarios.StrategyNames(bs[0])
	}
	for _, b := range bs {
		if _, err := scenarios.SelectStrategies(b, names); err != nil {
			return nil, nil, nil, err
		}
	}
	return ws, bs, names, nil
}

// strategyOf is a builder's own strategy of that name (selection checked
// that it has it).
func strategyOf(b scenarios.Builder, name string) scenarios.Strategy {
	ss, _ := scenarios.SelectStrategies(b, []string{name})
	return ss[0]
}
