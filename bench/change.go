package bench

import (
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"

	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/scenarios"
)

// ChangeLabel is the label a base change adds to the base images'
// configuration, giving them a new digest with the same layers.
const ChangeLabel = "dev.cachebench.change"

// baseRepos are the upstream repositories (repo:tag) of the workload's
// base images.
func (r *Runner) baseRepos(s PlannedRun) []string {
	var out []string
	for _, b := range s.Workload.Bases {
		out = append(out, r.baseRepo(b))
	}
	return out
}

// baseRepo is the repository (repo:tag) in upstream of a base image, by
// its logical name.
func (r *Runner) baseRepo(logical string) string {
	return strings.TrimPrefix(r.env.Bases[logical], r.env.Upstream.Host+"/")
}

// makeChange makes a warm run's change, marked with token, before the run
// starts, and returns the run's stamp (a new one for a stamp change, the
// same one in every run otherwise).
func (r *Runner) makeChange(ctx context.Context, s PlannedRun, rd *round, token string) (string, error) {
	if s.Change == scenarios.ChangeStamp {
		return token, nil
	}
	if s.Cache != results.Warm {
		return r.runID, nil
	}
	switch made := s.made(); made {
	case scenarios.ChangeSource, scenarios.ChangeDeps:
		file := s.Workload.ChangedFile(made)
		commit, err := r.env.Git.AppendLine(ctx, s.Workload.Name, rd.branch, file, scenarios.ChangeLine(file, token))
		if err != nil {
			return "", fmt.Errorf("%s change: %w", made, err)
		}
		rd.commit = commit
		r.log.Debugf("%s: committed a change of %s: %s", s.Name(), file, commit)
	case scenarios.ChangeBase:
		if s.Member > 1 {
			// The builds of a warm run share the round's bases: the
			// first one's change is theirs too.
			return r.runID, nil
		}
		sess, err := r.env.Upstream.Connect(ctx)
		if err != nil {
			return "", fmt.Errorf("base change: %w", err)
		}
		defer sess.Close()
		for _, repo := range r.baseRepos(s) {
			digest, err := sess.Relabel(ctx, rd.basePath+"/"+repo, ChangeLabel, token)
			if err != nil {
				return "", fmt.Errorf("base change: %w", err)
			}
			r.log.Debugf("%s: base image %s now %s", s.Name(), repo, digest)
		}
	}
	return r.runID, nil
}

// findings compares, for a warm run with a layer cache, each instruction
// the builder looked up with what the run's change predicts. A build on a
// cold volume or a fresh daemon has no layers to find, as a cold run has
// none: its verdict judges it.
func (c verdictCollector) findings(s PlannedRun, run results.Run) []string {
	r := c.r
	if s.Cache != results.Warm || !s.Strategy.LayerCache() || !run.BuildLog.Read || run.ColdVolume || run.ColdDaemon {
		return nil
	}
	expected, err := r.expectation(s)
	if err != nil {
		r.log.Warnf("%s: no expected cache use: %v", s.Name(), err)
		return nil
	}
	return CacheFindings(expected, run.BuildLog.Instructions)
}

// expectation is what a warm run of the planned run's workload and change should
// find cached, computed once per workload and change.
func (r *Runner) expectation(s PlannedRun) ([]scenarios.ExpectedInstruction, error) {
	change := s.made()
	key := s.Workload.Name + "+" + string(change)
	r.mu.Lock()
	e, ok := r.expected[key]
	r.mu.Unlock()
	if ok {
		return e, nil
	}
	df, err := fs.ReadFile(s.Workload.Files, s.Workload.Dockerfile)
	if err != nil {
		return nil, err
	}
	var changed []string
	if f := s.Workload.ChangedFile(change); f != "" {
		changed = append(changed, f)
	}
	args := append([]string{scenarios.BaseRegistryArg + "=" + r.env.Upstream.Host}, s.Workload.BuildArgs...)
	e, err = scenarios.ExpectCache(df, args, s.Workload.Context, change, changed, s.Workload.StampArg)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.expected[key] = e
	r.mu.Unlock()
	return e, nil
}

// argRef matches a variable in an instruction's text: kaniko logs RUN
// lines as written, BuildKit with build arguments' values put in.
var argRef = regexp.MustCompile(`\\\$(\\\{[A-Za-z_][A-Za-z0-9_]*\\\}|[A-Za-z_][A-Za-z0-9_]*)`)

// instructionPattern matches an instruction's logged text, whatever value
// its variables took.
func instructionPattern(text string) *regexp.Regexp {
	return regexp.MustCompile("^" + argRef.ReplaceAllString(regexp.QuoteMeta(text), ".*") + "$")
}

// CacheFindings compares the instructions a builder logged with the
// expected ones (matched by text, in order): each that ran where the cache
// should have served it, or came from the cache where it should have run,
// is a finding. Each is judged on what the builder did before it in its
// stage, not on the prediction alone: after an unexpected miss the rest of
// the stage is expected to miss, and after an unexpected hit it is judged
// as on a cached parent, so one surprise is one finding, not one per
// instruction after it. Instructions the builder does not look up (kaniko:
// COPY; after a miss, the rest of a stage) are not judged, and count as
// predicted. Stages built on or copied from another are judged on its
// predicted result.
func CacheFindings(expected []scenarios.ExpectedInstruction, logged []results.InstructionCache) []string {
	patterns := make([]*regexp.Regexp, len(expected))
	for i, e := range expected {
		patterns[i] = instructionPattern(e.Instruction)
	}
	seen := make([]*results.InstructionCache, len(expected))
	for _, l := range logged {
		for i := range expected {
			if seen[i] == nil && patterns[i].MatchString(l.Instruction) {
				seen[i] = &l
				break
			}
		}
	}
	var out []string
	// newParent: the stage's layer so far is one the cache does not have.
	newParent := map[string]bool{}
	for i, e := range expected {
		why := e.Cause
		if newParent[e.Stage] {
			why = scenarios.WhyFollows
		}
		cached := why == ""
		if l := seen[i]; l != nil {
			switch {
			case cached && !l.Cached:
				out = append(out, fmt.Sprintf("%q ran; expected from the cache", e.Instruction))
			case !cached && l.Cached:
				out = append(out, fmt.Sprintf("%q came from the cache; expected to run (%s)", e.Instruction, why))
			}
			cached = l.Cached
		}
		newParent[e.Stage] = !cached
	}
	return out
}

// changeNotes say, for the results' environment, how each change pattern
// measured was made, and which named ones a workload could not take.
func (s *Session) changeNotes() []string {
	var notes []string
	for _, w := range s.Matrix.Workloads {
		var made []string
		changes := s.Matrix.ChangesOf(w)
		if len(s.Matrix.Mix) > 0 {
			made = append(made, "the soak's warm runs follow the commit mix, each making one of its changes ("+mixCounts(s.Matrix.Mix)+", in an order shuffled once)")
			changes = slices.Compact(slices.Sorted(slices.Values(s.Matrix.Mix)))
		}
		for _, c := range changes {
			switch c {
			case scenarios.ChangeNone:
				made = append(made, "none rebuilds the same commit")
			case scenarios.ChangeStamp:
				made = append(made, fmt.Sprintf("stamp gives the build argument %s a new value", w.StampArg))
			case scenarios.ChangeSource, scenarios.ChangeDeps:
				file := w.ChangedFile(c)
				line := "a comment naming the run"
				if scenarios.ChangeLine(file, "x") == "" {
					line = "an empty line (the format has no comments)"
				}
				made = append(made, fmt.Sprintf("%s appends %s to %s and commits it on the round's own branch", c, line, file))
			case scenarios.ChangeBase:
				made = append(made, fmt.Sprintf("base pushes the round's own copies of the base images again with the label %s set to the run (the same layers, a new digest)", ChangeLabel))
			}
		}
		notes = append(notes, fmt.Sprintf("Workload %s: each warm run builds after its change, made before its clock starts; the round's cold run builds the workload as committed. %s.", w.Name, strings.Join(made, "; ")))
	}
	return append(notes, s.Matrix.Skipped()...)
}

// mixCounts says how many warm runs make each change of a soak's mix:
// "11 source, 6 base, 2 none", the most made first.
func mixCounts(mix []scenarios.Change) string {
	count := map[scenarios.Change]int{}
	var order []scenarios.Change
	for _, c := range mix {
		if count[c] == 0 {
			order = append(order, c)
		}
		count[c]++
	}
	slices.SortStableFunc(order, func(a, b scenarios.Change) int { return count[b] - count[a] })
	var parts []string
	for _, c := range order {
		parts = append(parts, fmt.Sprintf("%d %s", count[c], c))
	}
	return strings.Join(parts, ", ")
}
