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

// Plan orders the runs. For each workload and round: every strategy's cold
// run (each after its cache reset), then the warm runs, interleaved across
// strategies (none, registry, pv-warm, none, ...), so that a slow drift of
// a shared machine does not favour one strategy.
func Plan(workloads []scenarios.Workload, strategies []scenarios.Strategy, rounds, warm int) []Step {
	var steps []Step
	for _, w := range workloads {
		for r := 1; r <= rounds; r++ {
			for _, s := range strategies {
				steps = append(steps, Step{Workload: w, Strategy: s, Round: r, Cache: results.Cold})
			}
			for a := 1; a <= warm; a++ {
				for _, s := range strategies {
					steps = append(steps, Step{Workload: w, Strategy: s, Round: r, Cache: results.Warm, Attempt: a})
				}
			}
		}
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
