package results

import (
	"fmt"
	"strings"
)

// Coordinates place a run in a benchmark: what was built, after which
// change, over which network, how it started, by which builder with which
// strategy, and which run of which round it was. The reports group runs by
// them and the harness names what it makes for a run (branches, registry
// repositories, Triggers, PipelineRuns) from them.
type Coordinates struct {
	Workload string     `json:"workload"`
	Builder  string     `json:"builder"`
	Strategy string     `json:"strategy"`
	Round    int        `json:"round"`
	Cache    CacheState `json:"cache"`
	Attempt  int        `json:"attempt"` // 0 for the cold run, 1.. for warm runs
	// Network is the network profile between the builders and the upstream
	// registry ("local", "wan", "30ms/100mbit"); runs recorded before there
	// were profiles read as local.
	Network string `json:"network"`
	// Change is what the run's commit changed against the round's run
	// before it ("none", "stamp", "source", "deps", "base"; see package
	// scenarios); runs recorded before there were change patterns read as
	// what their workload did then (see Run.UnmarshalJSON).
	Change string `json:"change"`
	// Start is how the run began: "api" (the harness created the
	// PipelineRun) or "trigger" (a signed push event to an EventListener,
	// whose Trigger created it); runs recorded before read as api.
	Start string `json:"start"`
	// Concurrency is how many builds of the round's warm runs started
	// together (each warm run is then that many builds); 0 for one build
	// at a time, as runs recorded before there were levels read.
	Concurrency int `json:"concurrency,omitempty"`
	// Member tells apart the builds of one warm run at a concurrency level
	// (1 to Concurrency; 0 for a run of one build).
	Member int `json:"member,omitempty"`
}

// Level is the run's concurrency level: 1 when its builds went one at a
// time.
func (c Coordinates) Level() int { return max(c.Concurrency, 1) }

// OfRound are the coordinates of the run's round: every run of a round
// shares them.
func (c Coordinates) OfRound() Coordinates {
	c.Cache, c.Attempt, c.Member = "", 0, 0
	return c
}

// OfGroup are the coordinates of the runs the reports pool: every round's
// runs in the same cache state.
func (c Coordinates) OfGroup() Coordinates {
	c.Round, c.Attempt, c.Member = 0, 0, 0
	return c
}

// Slug is the coordinates as one name of lower-case letters, digits and
// dashes (the network profile as Slug writes it), for git branches, registry repositories and
// Kubernetes objects: workload-builder-strategy-change-network-rN, with
// "-xK" at a concurrency level above 1, then "-cold" or "-warmN" when the
// cache state is set, and "-mI" for a build of a level's warm run. How
// the runs start is left out: one benchmark starts every run the same way.
func (c Coordinates) Slug() string {
	s := fmt.Sprintf("%s-%s-%s-%s-%s-r%d", c.Workload, c.Builder, c.Strategy, c.Change, c.Network, c.Round)
	if c.Level() > 1 {
		s += fmt.Sprintf("-x%d", c.Concurrency)
	}
	switch c.Cache {
	case Cold:
		s += "-cold"
	case Warm:
		s += fmt.Sprintf("-warm%d", c.Attempt)
	}
	if c.Member > 0 {
		s += fmt.Sprintf("-m%d", c.Member)
	}
	return strings.Trim(NameChars(Slug(s)), "-")
}

// NameChars is s in lower case with every character other than a letter,
// a digit or '-' replaced by '-': a name git, registries and Kubernetes
// all take.
func NameChars(s string) string {
	return strings.Map(func(c rune) rune {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' {
			return c
		}
		return '-'
	}, strings.ToLower(s))
}
