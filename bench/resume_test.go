package bench

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/cachebench/cachebench/results"
)

// recorded is the run a planned run records, numbered seq and ending at end.
func recorded(s PlannedRun, seq int, end time.Time) results.Run {
	g := groupOfStep(s)
	return results.Run{Coordinates: results.Coordinates{Workload: g.workload, Change: g.change, Network: g.network, Builder: g.builder,
		Strategy: g.strategy, Round: g.round, Cache: s.Cache, Attempt: s.Attempt}, Seq: seq,
		Success:  true,
		Pipeline: results.NewSpan(end.Add(-time.Minute), end),
	}
}

// TestResumeRunsOnlyWhatWasCutOff: a benchmark of two rounds (two
// builders, two strategies, two warm runs) cut off in round 2, with one
// run interrupted. The resume keeps the rounds recorded whole and runs
// the others again, whole, numbering after every recorded run.
func TestResumeRunsOnlyWhatWasCutOff(t *testing.T) {
	m := testMatrix(t, "kaniko", "buildkit")
	m.Strategies = []string{"none", "registry"}
	const warm = 2
	plan := Plan(m, 2, warm)
	start := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	var runs []results.Run
	end := start
	// Round 1 whole; of round 2, the first six planned runs (the four cold runs,
	// then kaniko's and buildkit's none warm1), the seventh interrupted.
	cut := len(plan)/2 + 6
	for i, s := range plan[:cut+1] {
		end = end.Add(time.Minute)
		r := recorded(s, i+1, end)
		if i == cut {
			r.Success, r.Reason = false, "interrupted"
		}
		runs = append(runs, r)
	}
	env := results.Environment{Started: start}
	res := Resume(env, runs, nil, warm)
	if res.Session != 2 || res.LastSeq != cut+1 {
		t.Errorf("session %d, last seq %d; want 2 and %d", res.Session, res.LastSeq, cut+1)
	}
	if want := time.Duration(cut+1) * time.Minute; res.Spent != want {
		t.Errorf("spent %s, want %s (start to the last run's end)", res.Spent, want)
	}
	if len(res.Kept) != len(plan)/2 || len(res.Superseded) != cut+1-len(plan)/2 {
		t.Fatalf("kept %d, superseded %d; want round 1's %d and the rest", len(res.Kept), len(res.Superseded), len(plan)/2)
	}
	for _, r := range res.Kept {
		if r.Round != 1 {
			t.Errorf("kept a run of round %d: its round was cut off", r.Round)
		}
	}
	p := &Planner{matrix: m, warm: warm, fixed: 2, now: time.Now, resumed: &res}
	planned, why := p.Next(res.Kept)
	if planned == nil {
		t.Fatalf("nothing left to run: %s", why)
	}
	if p.round != 2 {
		t.Errorf("resumed at round %d, want 2 (round 1 was recorded whole)", p.round)
	}
	var names []string
	for _, s := range planned {
		names = append(names, s.Name())
	}
	var want []string
	for _, s := range plan[len(plan)/2:] {
		want = append(want, s.Name())
	}
	if !slices.Equal(names, want) {
		t.Errorf("resumed round 2 runs\n  %s\nwant every run of its cut-off groups, cold first:\n  %s", strings.Join(names, "\n  "), strings.Join(want, "\n  "))
	}
	if planned, _ := p.Next(res.Kept); planned != nil {
		t.Errorf("a third round of a 2-round benchmark: %d planned runs", len(planned))
	}

	// A round whose last run was interrupted is cut off too, though every
	// run of it is recorded.
	last := slices.Clone(runs[:len(plan)/2])
	last[len(last)-1].Reason = "interrupted"
	if r := Resume(env, last, nil, warm); len(r.Superseded) != warm+1 {
		t.Errorf("a round ended by an interruption: %d runs set aside, want its %d", len(r.Superseded), warm+1)
	}

	// One more session: the earlier two each count from their start.
	env.Resumed = []time.Time{end.Add(time.Hour)}
	runs = append(res.Kept, recorded(plan[len(plan)-1], cut+2, end.Add(time.Hour+3*time.Minute)))
	if got, want := Resume(env, runs, res.Superseded, warm).Spent, time.Duration(cut+1+3)*time.Minute; got != want {
		t.Errorf("spent over two sessions %s, want %s", got, want)
	}
}

// TestResumeFlagsTakeThePlan: the plan recorded by one benchmark's options
// sets them back on a fresh command line; a plan flag given otherwise is
// refused, naming it; where the cluster is may differ.
func TestResumeFlagsTakeThePlan(t *testing.T) {
	o := Defaults()
	o.Workloads = []string{"smoke", "gobuild"}
	o.Strategies = []string{"registry"}
	o.Precision, o.Budget, o.SideBySide = 0.05, 3*time.Hour, true
	o.BuildArgs = []string{"A=1,2", "B=3"}
	dir := t.TempDir()
	writeEnvironment(t, dir, results.Environment{Plan: o.Plan()})

	parse := func(args ...string) (Options, error) {
		got := Defaults()
		fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
		got.AddFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		if err := ApplyEnv(fs); err != nil {
			t.Fatal(err)
		}
		return got, ResumeFlags(fs, dir)
	}
	got, err := parse("--cluster-name", "elsewhere", "--reuse")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Workloads, o.Workloads) || !slices.Equal(got.Strategies, o.Strategies) || !slices.Equal(got.BuildArgs, o.BuildArgs) ||
		got.Precision != o.Precision || got.Budget != o.Budget || !got.SideBySide || got.ClusterName != "elsewhere" {
		t.Errorf("resumed options %+v, want the plan of %+v on cluster elsewhere", got, o)
	}
	if _, err := parse("--strategies", "registry"); err != nil {
		t.Errorf("the recorded value given again: %v", err)
	}
	_, err = parse("--warm-runs", "5")
	if err == nil || !strings.Contains(err.Error(), "--warm-runs 5") || !strings.Contains(err.Error(), `planned with "1"`) {
		t.Errorf("another --warm-runs: %v", err)
	}
	t.Setenv(EnvName("builders"), "buildah")
	if _, err := parse(); err == nil || !strings.Contains(err.Error(), "CACHEBENCH_BUILDERS") {
		t.Errorf("other builders in the environment: %v", err)
	}
}

// A soak's commits follow --mix: its resume takes the mix recorded, as a
// plan flag; another benchmark's resume may weigh its recommendation anew.
func TestResumeKeepsASoaksMix(t *testing.T) {
	parse := func(dir string, args ...string) (Options, error) {
		got := Defaults()
		fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
		got.AddFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return got, ResumeFlags(fs, dir)
	}
	o := Defaults()
	o.Builders, o.Strategies, o.Soak, o.Decision.Mix = []string{"buildkit"}, []string{"daemon"}, 20, "source=6,base=3,none=1"
	soak := t.TempDir()
	writeEnvironment(t, soak, results.Environment{Plan: o.Plan()})
	got, err := parse(soak)
	if err != nil || got.Decision.Mix != o.Decision.Mix {
		t.Errorf("a soak resumed: mix %q (%v), want %q", got.Decision.Mix, err, o.Decision.Mix)
	}
	if _, err := parse(soak, "--mix", "source=1"); err == nil || !strings.Contains(err.Error(), "--mix source=1") {
		t.Errorf("a soak resumed with another mix: %v", err)
	}
	o = Defaults()
	other := t.TempDir()
	writeEnvironment(t, other, results.Environment{Plan: o.Plan()})
	if got, err := parse(other, "--mix", "none=1"); err != nil || got.Decision.Mix != "none=1" {
		t.Errorf("a benchmark that is no soak, resumed with a mix: %q, %v", got.Decision.Mix, err)
	}
}

func TestResumeRefusesWhatCannotBeContinued(t *testing.T) {
	root := t.TempDir()
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	o := Defaults()
	o.AddFlags(fs)
	if err := ResumeFlags(fs, filepath.Join(root, "nothing")); err == nil || !strings.Contains(err.Error(), "holds no benchmark") {
		t.Errorf("a folder that does not exist: %v", err)
	}
	old := filepath.Join(root, "old")
	writeEnvironment(t, old, results.Environment{RunID: "old"})
	if err := ResumeFlags(fs, old); err == nil || !strings.Contains(err.Error(), "records no plan") {
		t.Errorf("a benchmark recorded before --resume: %v", err)
	}
	o.Resume, o.RunID = "a", "b"
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "--run-id (CACHEBENCH_RUN_ID): \"b\" with --resume a") {
		t.Errorf("--run-id other than --resume's: %v", err)
	}
}

func writeEnvironment(t *testing.T, dir string, env results.Environment) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{results.EnvironmentFile: data, results.ResultsFile: nil} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A round at a concurrency level is whole with its cold run and every
// build of each warm run; a build missing (the benchmark killed while the
// others were recorded) cuts it off, and it is a group apart from the same
// round one build at a time.
func TestResumeLevels(t *testing.T) {
	m := testMatrix(t)
	m.Strategies = []string{"registry"}
	m.Concurrency = []int{1, 3}
	plan := Plan(m, 1, 1)
	start := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	var runs []results.Run
	for i, s := range plan {
		for member := range s.Builds() {
			r := recorded(s, len(runs)+1, start.Add(time.Duration(i)*time.Minute))
			r.Concurrency = s.Concurrency
			if s.Builds() > 1 {
				r.Member = member + 1
			}
			runs = append(runs, r)
		}
	}
	if len(runs) != 2+1+3 {
		t.Fatalf("%d runs recorded, want 6", len(runs))
	}
	if res := Resume(results.Environment{Started: start}, runs, nil, 1); len(res.Kept) != 6 {
		t.Errorf("every build recorded: kept %d of 6", len(res.Kept))
	}
	res := Resume(results.Environment{Started: start}, runs[:5], nil, 1)
	if len(res.Kept) != 2 || len(res.Superseded) != 3 {
		t.Errorf("a build of level 3 missing: kept %d, set aside %d; want level 1's 2 kept and level 3's 3 set aside", len(res.Kept), len(res.Superseded))
	}
	if !res.Done(plan[0]) || res.Done(plan[2]) {
		t.Errorf("done: level 1 %v, level 3 %v; want true, false", res.Done(plan[0]), res.Done(plan[2]))
	}
}
