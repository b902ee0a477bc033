package bench

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/cluster/network"
	"github.com/cachebench/cachebench/images"
	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/scenarios"
)

// PlannedRun is one run of the plan, before it is made.
type PlannedRun struct {
	Workload scenarios.Workload
	// Change is what each warm run's commit changes; ChangeMix when the
	// round follows a commit mix, whose pattern for this warm run is
	// MixChange.
	Change    scenarios.Change
	MixChange scenarios.Change
	// Network is the profile between the builders and the upstream registry.
	Network  network.Profile
	Builder  builders.Builder
	Strategy builders.Strategy // as Builder implements it
	Round    int
	Cache    results.CacheState
	Attempt  int // 0 for cold, 1.. for warm
	// Concurrency is the round's level: each warm run is that many builds
	// started together (0 or 1: one build). Member numbers one of them,
	// from 1; 0 stands for the whole warm run, or for a run of one build.
	Concurrency int
	Member      int
}

// made is the change pattern the planned run's commit makes.
func (s PlannedRun) made() scenarios.Change {
	if s.Change == scenarios.ChangeMix {
		return s.MixChange
	}
	return s.Change
}

// level is the planned run's concurrency level: 1 for one build at a time.
func (s PlannedRun) level() int { return max(s.Concurrency, 1) }

// Builds is how many builds the planned run makes: a warm run at a level
// above 1 is that many; a cold run is always one (it fills the cache, as a
// team's first build does).
func (s PlannedRun) Builds() int {
	if s.Cache == results.Warm && s.Member == 0 {
		return s.level()
	}
	return 1
}

// Name is the planned run's test name:
// <strategy>/<builder>/<workload>[+<change>]/<network>/r<round>-<cold|warmN>,
// so that "go test -run Cache/registry" selects one strategy and
// "-run Cache//buildkit" one builder; the change is named unless it is the
// workload's default, and a custom network profile's slash becomes a dash
// ("30ms-100mbit"). At a concurrency level above 1 the run ends in
// "-x<level>", and a build of its warm run in "-m<member>".
func (s PlannedRun) Name() string {
	run := fmt.Sprintf("r%d-cold", s.Round)
	if s.Cache == results.Warm {
		run = fmt.Sprintf("r%d-warm%d", s.Round, s.Attempt)
	}
	if l := s.level(); l > 1 {
		run += fmt.Sprintf("-x%d", l)
		if s.Member > 0 {
			run += fmt.Sprintf("-m%d", s.Member)
		}
	}
	return fmt.Sprintf("%s/%s/%s/%s/%s", s.Strategy.Name, s.Builder.Name(), s.workload(), s.Network.Slug(), run)
}

// workload is the workload's name, with the change unless it is the default.
func (s PlannedRun) workload() string {
	if s.Change == "" || s.Change == s.Workload.DefaultChange() {
		return s.Workload.Name
	}
	return s.Workload.Name + "+" + string(s.Change)
}

// Matrix is what a benchmark crosses: every workload under each of its
// change patterns, every network profile, builder and strategy.
type Matrix struct {
	Workloads []scenarios.Workload
	// Changes are the change patterns named; each workload is measured
	// under those it can take (ChangesOf), or its default when none are.
	Changes []scenarios.Change
	// Networks are the upstream registry's network profiles.
	Networks []network.Profile
	Builders []builders.Builder
	// Strategies are the strategy names measured under every builder.
	Strategies []string
	// CacheNetwork is the cache registry's network profile, the same for
	// every run.
	CacheNetwork network.Profile
	// Concurrency are the levels measured, ascending: how many builds each
	// warm run starts together. None means one build at a time.
	Concurrency []int
	// VolumeNodes is how many build nodes have a cache volume of a round
	// each; 0 when a round has one, on its node.
	VolumeNodes int
	// VolumeShared: a round's one volume is mounted by every build node.
	VolumeShared bool
	// Mix, when set, is what a soak's warm runs' commits make, in order
	// (--soak with --mix): every workload is measured under ChangeMix
	// instead of Changes.
	Mix []scenarios.Change
}

// Rows is the number of rows a benchmark reports: one per workload and
// change, network, builder, strategy and concurrency level, cold and warm.
func (m Matrix) Rows() int { return m.rowsWhere(func(PlannedRun) bool { return true }) }

// rowsWhere counts the rows whose cold run keep accepts.
func (m Matrix) rowsWhere(keep func(PlannedRun) bool) int {
	n := 0
	for _, s := range roundRuns(m, 1, 1) {
		if s.Cache == results.Cold && keep(s) {
			n += 2
		}
	}
	return n
}

// levels are the concurrency levels measured.
func (m Matrix) levels() []int {
	if len(m.Concurrency) == 0 {
		return []int{1}
	}
	return m.Concurrency
}

// notAtLevel says why a strategy is not measured at a level ("" when it
// is): the layers of BuildKit's, Buildah's and Docker's pv-warm are a
// store on a volume that takes one build at a time (buildkitd and dockerd
// lock their databases while they run), so they go as many at once as there are volumes of a
// round, and the mirror's verdict reads each run's registry traffic, which
// builds started together share.
func (m Matrix) notAtLevel(st builders.Strategy, level int) string {
	switch {
	case level == 1:
	case st.VolumeLayers && level > max(m.VolumeNodes, 1):
		switch {
		case m.VolumeNodes > 0:
			return fmt.Sprintf("its layers are a store on a volume that takes one build at a time, and a round has %d, one per node", m.VolumeNodes)
		case m.VolumeShared:
			return "its layers are a store on the round's volume that takes one build at a time, shared by the nodes or not (--cache-volume per-node gives each node one)"
		}
		return "its layers are a store on the round's volume that takes one build at a time (--cache-volume per-node gives each node one)"
	case st.Mirror:
		return "its verdict reads each run's registry traffic, which builds started together share"
	}
	return ""
}

// SkippedLevels says which builders' strategies are not measured at some
// of the levels, and why.
func (m Matrix) SkippedLevels() []string {
	var out []string
	for _, b := range m.Builders {
		for _, name := range m.Strategies {
			var skipped []int
			why := ""
			for _, level := range m.levels() {
				if w := m.notAtLevel(strategyOf(b, name), level); w != "" {
					skipped, why = append(skipped, level), w
				}
			}
			switch {
			case len(skipped) == 0:
			case len(skipped) == len(m.levels())-1 && m.levels()[0] == 1:
				out = append(out, fmt.Sprintf("--concurrency: %s under %s is measured one build at a time only: %s.", b.Name(), name, why))
			default:
				out = append(out, fmt.Sprintf("--concurrency: %s under %s is not measured at %s at once: %s.", b.Name(), name, joinInts(skipped), why))
			}
		}
	}
	return out
}

// Shape describes one round: "2 workloads x 1 networks x ... x (1 cold
// + 1 warm) = 24 runs", the workloads with their changes when some are
// named.
func (m Matrix) Shape(warm int) string {
	what := fmt.Sprintf("%d workloads", len(m.Workloads))
	if len(m.Changes) > 0 || len(m.Mix) > 0 {
		var pairs []string
		for _, w := range m.Workloads {
			for _, c := range m.ChangesOf(w) {
				pairs = append(pairs, w.Name+"+"+string(c))
			}
		}
		what = fmt.Sprintf("%d workload changes (%s)", len(pairs), strings.Join(pairs, ", "))
	}
	builds, runs := 0, 0
	for _, s := range roundRuns(m, 1, warm) {
		builds += s.Builds()
		runs++
	}
	shape := fmt.Sprintf("%s x %d networks x %d builders x %d strategies", what, len(m.Networks), len(m.Builders), len(m.Strategies))
	if levels := m.levels(); len(levels) > 1 || levels[0] > 1 {
		return fmt.Sprintf("%s x concurrency %s x (1 cold + %d warm) = %d runs, %d builds", shape, joinInts(levels), warm, runs, builds)
	}
	return fmt.Sprintf("%s x (1 cold + %d warm) = %d runs", shape, warm, runs)
}

// joinInts writes numbers as a list: "1,2,4".
func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// ChangesOf are the change patterns w is measured under: those named that
// it can take, or its default when none are named; a soak that follows a
// mix is measured under ChangeMix alone.
func (m Matrix) ChangesOf(w scenarios.Workload) []scenarios.Change {
	if len(m.Mix) > 0 {
		return []scenarios.Change{scenarios.ChangeMix}
	}
	if len(m.Changes) == 0 {
		return []scenarios.Change{w.DefaultChange()}
	}
	var out []scenarios.Change
	for _, c := range m.Changes {
		if w.CheckChange(c) == nil {
			out = append(out, c)
		}
	}
	return out
}

// Skipped says which named change patterns a workload cannot take, and
// why: they are left out of the benchmark, not refused.
func (m Matrix) Skipped() []string {
	var out []string
	for _, w := range m.Workloads {
		for _, c := range m.Changes {
			if err := w.CheckChange(c); err != nil {
				out = append(out, fmt.Sprintf("--change %s is not measured for %s: %v", c, w.Name, err))
			}
		}
	}
	return out
}

// Plan lists the runs of a fixed number of rounds, in the order the
// Planner hands them out.
func Plan(m Matrix, rounds, warm int) []PlannedRun {
	var planned []PlannedRun
	for r := 1; r <= rounds; r++ {
		planned = append(planned, roundRuns(m, r, warm)...)
	}
	return planned
}

// RunRound runs a round's planned runs through do, until do returns false. In
// order, one at a time; or, sideBySide, in one lane per builder, the lanes
// side by side and each in the round's order (a round's cold run of a
// strategy comes before its warm runs). Side by side, every round has
// bases of its own (ownBases), so each run's registry and package traffic
// is still its own.
func RunRound(planned []PlannedRun, sideBySide bool, do func(PlannedRun) bool) {
	if !sideBySide {
		for _, s := range planned {
			if !do(s) {
				return
			}
		}
		return
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for _, lane := range Lanes(planned) {
		wg.Go(func() {
			for _, plannedRun := range lane {
				if stop.Load() || !do(plannedRun) {
					stop.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
}

// Lanes splits a round's planned runs into one lane per builder, each in the
// round's order.
func Lanes(planned []PlannedRun) [][]PlannedRun {
	index := map[string]int{}
	var lanes [][]PlannedRun
	for _, s := range planned {
		i, ok := index[s.Builder.Name()]
		if !ok {
			i = len(lanes)
			index[s.Builder.Name()] = i
			lanes = append(lanes, nil)
		}
		lanes[i] = append(lanes[i], s)
	}
	return lanes
}

// Estimate is about how long the planned runs take (each workload's
// RunTime), builds started together counted one after another: on two
// cores they are no faster.
func Estimate(planned []PlannedRun) time.Duration {
	var d time.Duration
	for _, s := range planned {
		d += s.Workload.RunTime * time.Duration(s.Builds())
	}
	return d
}

// selection returns the matrix the configuration names: workloads,
// network profiles, builders (with img's images) and strategy names; every
// builder must have every strategy. No strategies named means the first
// builder's default ones.
//
// Users' workloads take their base images from set (nil when only the
// plan's size matters).
func (c PlanConfig) selection(s builders.Settings, set *images.Set) (Matrix, error) {
	ws := slices.Clone(c.Builtin)
	for _, d := range c.Dirs {
		bases := map[string]scenarios.BaseSource{}
		for _, image := range d.Images {
			var logical string
			var b images.Base
			var err error
			if set != nil {
				logical, b, err = set.AddBase(image)
			} else {
				logical, b, err = images.RemoteBase(image)
			}
			if err != nil {
				return Matrix{}, fmt.Errorf("workload %s: %w", d.Name, err)
			}
			bases[image] = scenarios.BaseSource{Logical: logical, Repo: b.Repo}
		}
		w, err := d.Workload(bases)
		if err != nil {
			return Matrix{}, err
		}
		ws = append(ws, w)
	}
	bs := newBuilders(c.Definitions, s)
	if len(bs) == 0 {
		return Matrix{}, fmt.Errorf("no builder: choose from %s", strings.Join(Builders, ", "))
	}
	names := c.Strategies
	if len(names) == 0 {
		names = builders.DefaultStrategyNames(bs[0])
	}
	for _, b := range bs {
		if _, err := builders.SelectStrategies(b, names); err != nil {
			return Matrix{}, err
		}
	}
	return Matrix{Workloads: ws, Changes: c.Changes, Networks: c.Networks, Builders: bs, Strategies: names, CacheNetwork: c.CacheNetwork, Concurrency: c.Concurrency, VolumeNodes: c.VolumeNodes, VolumeShared: c.VolumeShared, Mix: c.Mix}, nil
}

// strategyOf is a builder's own strategy of that name (selection checked
// that it has it).
func strategyOf(b builders.Builder, name string) builders.Strategy {
	ss, _ := builders.SelectStrategies(b, []string{name})
	return ss[0]
}
