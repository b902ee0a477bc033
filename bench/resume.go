package bench

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/cachebench/cachebench/results"
)

// planFlags are the options that shape a benchmark's plan and what its
// runs measure: a resumed benchmark takes them from its environment file,
// never from the command line. The others (where the cluster is, where
// images are cached, how much is logged) may differ between sessions.
var planFlags = []string{
	"workloads", "workload-dir", "dockerfile", "context", "build-arg", "source-file", "deps-file",
	"change", "network", "cache-network", "packages", "start", "strategies", "builders",
	"warm-runs", "rounds", "precision", "budget", "run-timeout", "stop-after-failures", "side-by-side",
	"images", "node-image", "kubernetes-version", "kaniko-executor", "kaniko-warmer", "build-ca", "nodes",
	"concurrency", "arrival", "cache-volume", "soak", "gc-limit", "daemons", "placement",
}

// soakPlanFlags are plan flags of a soak only: its commits follow --mix,
// which otherwise only weighs the recommendation (and may change on a
// resume, as with cachebench report).
var soakPlanFlags = []string{"mix"}

// planFlagsOf are the plan's flags, given the soak's recorded value.
func planFlagsOf(soak []string) []string {
	if len(soak) == 1 && soak[0] != "0" {
		return append(slices.Clone(planFlags), soakPlanFlags...)
	}
	return planFlags
}

// Plan returns the values of the plan's flags, as the flags print them.
func (o Options) Plan() map[string][]string {
	fs := pflag.NewFlagSet("plan", pflag.ContinueOnError)
	o.AddFlags(fs)
	plan := map[string][]string{}
	for _, name := range planFlagsOf(flagValue(fs.Lookup("soak"))) {
		plan[name] = flagValue(fs.Lookup(name))
	}
	return plan
}

func flagValue(f *pflag.Flag) []string {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		return sv.GetSlice()
	}
	return []string{f.Value.String()}
}

// ResumeFlags sets fs's plan flags to those recorded by the benchmark in
// dir, which --resume continues. A plan flag given otherwise, on the
// command line or in its CACHEBENCH_* variable, is refused: its runs would
// not measure what the others did.
func ResumeFlags(fs *pflag.FlagSet, dir string) error {
	res, err := loadResumable(dir)
	if err != nil {
		return err
	}
	var errs []string
	for _, name := range planFlagsOf(res.Environment.Plan["soak"]) {
		want, ok := res.Environment.Plan[name]
		f := fs.Lookup(name)
		if !ok || f == nil {
			continue // a flag newer or older than the benchmark: its default
		}
		_, inEnv := os.LookupEnv(EnvName(name))
		if (f.Changed || inEnv) && !slices.Equal(flagValue(f), want) {
			errs = append(errs, fmt.Sprintf("--%s %s: the benchmark was planned with %q; drop --%s (and %s) to continue it as planned", name, strings.Join(flagValue(f), ","), strings.Join(want, ","), name, EnvName(name)))
			continue
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			err = sv.Replace(want)
		} else if len(want) == 1 {
			err = f.Value.Set(want[0])
		}
		if err != nil {
			errs = append(errs, fmt.Sprintf("--%s: the recorded %q: %v", name, want, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("--resume %s:\n  %s", filepath.Base(dir), strings.Join(errs, "\n  "))
	}
	return nil
}

// loadResumable reads the results of the benchmark that --resume names,
// saying what is wrong when it cannot be continued.
func loadResumable(dir string) (*results.Results, error) {
	id := filepath.Base(dir)
	res, err := results.Load(dir)
	if err != nil {
		if _, serr := os.Stat(filepath.Join(dir, results.EnvironmentFile)); errors.Is(serr, fs.ErrNotExist) {
			return nil, fmt.Errorf("--resume %s: %s holds no benchmark (no %s): name a results folder under %s", id, dir, results.EnvironmentFile, filepath.Dir(dir))
		}
		return nil, fmt.Errorf("--resume %s: %w", id, err)
	}
	if len(res.Environment.Plan) == 0 {
		return nil, fmt.Errorf("--resume %s: its environment file records no plan (written before --resume existed): run a new benchmark", id)
	}
	return res, nil
}

// group is a round of one builder's strategy on one workload, change,
// network profile and concurrency level: its cold run and its warm runs,
// which only mean something together (each warm run reads the cache its
// cold run filled).
type group struct {
	workload, change, network, builder, strategy string
	round, level                                 int
}

func groupOfStep(s PlannedRun) group {
	change := s.Change
	if change == "" {
		change = s.Workload.DefaultChange()
	}
	return group{s.Workload.Name, string(change), s.Network.Name, s.Builder.Name(), s.Strategy.Name, s.Round, s.level()}
}

func groupOfRun(r results.Run) group {
	return group{r.Workload, r.Change, r.Network, r.Builder, r.Strategy, r.Round, r.Level()}
}

// Resumption is what a resumed benchmark keeps of the runs recorded so
// far.
type Resumption struct {
	// Kept are the runs of the groups recorded whole, which are not run
	// again; Superseded the runs of groups cut off, which are.
	Kept, Superseded []results.Run
	done             map[group]bool
	// LastSeq is the highest sequence number recorded: new runs follow it.
	LastSeq int
	// Session counts the benchmark's sessions, this one included (2 for
	// the first resume).
	Session int
	// Spent is the time the earlier sessions took, from each one's start
	// to its last run's end: it comes out of the budget.
	Spent time.Duration
}

// Resume sorts the recorded runs into the groups recorded whole (every
// run of the group, none of them interrupted) and the others. Superseded
// are the runs earlier resumes set aside: they count for the time spent
// and the sequence numbers taken.
func Resume(env results.Environment, runs, superseded []results.Run, warmRuns int) Resumption {
	byGroup := map[group][]results.Run{}
	for _, r := range runs {
		byGroup[groupOfRun(r)] = append(byGroup[groupOfRun(r)], r)
	}
	res := Resumption{done: map[group]bool{}, Session: len(env.Resumed) + 2, Spent: spent(env, append(slices.Clone(runs), superseded...))}
	for _, r := range superseded {
		res.LastSeq = max(res.LastSeq, r.Seq)
	}
	for _, r := range runs {
		res.LastSeq = max(res.LastSeq, r.Seq)
		g := groupOfRun(r)
		if _, judged := res.done[g]; !judged {
			res.done[g] = whole(byGroup[g], warmRuns)
		}
		if res.done[g] {
			res.Kept = append(res.Kept, r)
		} else {
			res.Superseded = append(res.Superseded, r)
		}
	}
	return res
}

// whole says whether a group's runs are its cold run and each warm run
// (at a concurrency level, each of its builds), none cut off by an
// interruption.
func whole(runs []results.Run, warmRuns int) bool {
	seen := map[int]int{}
	level := 1
	for _, r := range runs {
		if r.Reason == "interrupted" {
			return false
		}
		seen[r.Attempt]++
		level = r.Level()
	}
	for a := 0; a <= warmRuns; a++ {
		if want := map[bool]int{true: 1, false: level}[a == 0]; seen[a] < want {
			return false
		}
	}
	return true
}

// spent adds up the earlier sessions: each from its start to the end of
// the last run it recorded.
func spent(env results.Environment, runs []results.Run) time.Duration {
	starts := append([]time.Time{env.Started}, env.Resumed...)
	var total time.Duration
	for i, start := range starts {
		var last time.Time
		for _, r := range runs {
			end := r.Pipeline.End
			if end.Before(start) || (i+1 < len(starts) && !end.Before(starts[i+1])) {
				continue
			}
			if end.After(last) {
				last = end
			}
		}
		if !last.IsZero() {
			total += last.Sub(start)
		}
	}
	return total
}

// Done says whether the planned run's group was recorded whole.
func (r *Resumption) Done(s PlannedRun) bool { return r != nil && r.done[groupOfStep(s)] }

// Note says, for the environment file, what the resume kept and ran again.
func (r *Resumption) Note(at time.Time) string {
	again := map[group]bool{}
	for _, run := range r.Superseded {
		again[groupOfRun(run)] = true
	}
	return fmt.Sprintf("Resumed (--resume) at %s, session %d: %d run(s) recorded before were kept, their rounds not run again; %d run(s) of %d round(s) cut off before their last run were moved to %s and those rounds run again from their cold run; the earlier sessions took %s of the budget.",
		at.UTC().Format(time.RFC3339), r.Session, len(r.Kept), len(r.Superseded), len(again), results.SupersededFile, r.Spent.Round(time.Second))
}
