package scenarios

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/cachebench/cachebench/results"
)

// ExpectedInstruction is an instruction of the Dockerfile with what a warm run
// with a layer cache should find after a change.
type ExpectedInstruction struct {
	// Stage is the stage's name, or its index ("0", "1") when unnamed.
	Stage string
	// Instruction is results.NormalizeInstruction of the instruction's
	// original text, e.g. "RUN go mod download && go build ...".
	Instruction string
	Cached      bool
	// Why says, for a miss, what invalidated it, in a few words.
	Why string
	// Cause is what makes the instruction miss even on a parent layer the
	// cache has (a copied file the change edited, the stamp, its stage's
	// new base for the first instruction), "" if nothing does: then it
	// misses only when it follows a miss. It lets a run be judged against
	// what the builder did before an instruction, not only what was
	// predicted (see bench.CacheFindings).
	Cause string
}

// WhyFollows is why an instruction that follows a miss misses: its parent
// layer is new, and every later key has it.
const WhyFollows = "follows a missed instruction"

// whyBase is why a stage's first instruction misses after a base change.
const whyBase = "the base image has a new digest"

// ExpectCache predicts, from the Dockerfile alone, which of its instructions
// a warm run with a layer cache finds cached after change: every instruction
// after a FROM, in order. buildArgs (KEY=VALUE) set the ARGs before the first
// FROM; context is the build context's path in the repository; changed are
// the repository paths a source or deps change edited (other changes edit no
// file, so they are ignored then); stampArg is the workload's stamp build
// argument, "" if none.
//
// The model is the one every layer cache shares: an instruction's key is its
// parent layer, its text, and for COPY/ADD the content it copies, for RUN the
// build arguments in its environment. Files left out by .dockerignore, and
// RUN --mount sources, are not modelled.
func ExpectCache(dockerfile []byte, buildArgs []string, context string, change Change, changed []string, stampArg string) ([]ExpectedInstruction, error) {
	if !slices.Contains(Changes, change) {
		return nil, fmt.Errorf("unknown change pattern %q: choose from %s", change, changeList())
	}
	ast, err := parseDockerfile(dockerfile)
	if err != nil {
		return nil, fmt.Errorf("parse Dockerfile: %w", err)
	}
	env, err := ast.metaEnv(buildArgs)
	if err != nil {
		return nil, err
	}
	p := predictor{ast: ast, env: env, change: change, stampArg: stampArg}
	if change.EditsFile() {
		if p.edited, err = inContext(context, changed); err != nil {
			return nil, err
		}
	}
	var out []ExpectedInstruction
	for i, st := range ast.stages {
		got, err := p.stage(i, st)
		if err != nil {
			return nil, fmt.Errorf("stage %s: %w", p.label(i), err)
		}
		out = append(out, got...)
	}
	return out, nil
}

// editedFile is a file the change edited: its repository path (for
// messages) and its path in the build context (for matching sources).
type editedFile struct {
	repo, rel string
}

// predictor walks the stages in order, keeping what each one ended with.
type predictor struct {
	ast      *dockerfileAST
	env      shell.EnvGetter
	change   Change
	stampArg string
	edited   []editedFile
	ends     []stageEnd
}

// stageEnd is what a stage leaves to the stages that build on it or copy
// from it.
type stageEnd struct {
	// changed: its base changed or an instruction missed, so its result is
	// new.
	changed bool
	// stamped: the stamp argument is declared; a stage FROM it inherits the
	// ARG (BuildKit passes a stage's ARGs on to stages built on it).
	stamped bool
}

func (p *predictor) label(i int) string {
	if n := p.ast.stages[i].Name; n != "" {
		return n
	}
	return strconv.Itoa(i)
}

func (p *predictor) stage(i int, st instructions.Stage) ([]ExpectedInstruction, error) {
	base, _, err := p.ast.lex.ProcessWord(st.BaseName, p.env)
	if err != nil {
		return nil, fmt.Errorf("FROM %s: %w", st.BaseName, err)
	}
	// start is why the stage's first instruction misses whatever it is.
	var start string
	var end stageEnd
	if j, ok := p.ast.earlierStage(i, base, false); ok {
		end.stamped = p.ends[j].stamped
		if p.ends[j].changed {
			start = fmt.Sprintf("builds on stage %s, which changed", p.label(j))
		}
	} else if p.change == ChangeBase && !strings.EqualFold(base, "scratch") {
		start = whyBase
	}
	end.changed = start != ""

	var out []ExpectedInstruction
	missed := false
	for k, cmd := range st.Commands {
		text, ok := cmd.(fmt.Stringer)
		if !ok {
			return nil, fmt.Errorf("%s: no source text", cmd.Name())
		}
		var cause string
		if k == 0 {
			cause = start
		}
		if cause == "" {
			if cause, err = p.invalidates(i, cmd, end.stamped); err != nil {
				return nil, fmt.Errorf("%s: %w", text, err)
			}
		}
		why := cause
		if missed {
			why = WhyFollows
		}
		if arg, ok := cmd.(*instructions.ArgCommand); ok && p.stampArg != "" &&
			slices.ContainsFunc(arg.Args, func(kv instructions.KeyValuePairOptional) bool { return kv.Key == p.stampArg }) {
			end.stamped = true
		}
		out = append(out, ExpectedInstruction{
			Stage:       p.label(i),
			Instruction: results.NormalizeInstruction(text.String()),
			Cached:      why == "",
			Why:         why,
			Cause:       cause,
		})
		if why != "" {
			// A miss makes a new parent layer, and every later key has it.
			end.changed = true
			missed = true
		}
	}
	p.ends = append(p.ends, end)
	return out, nil
}

// invalidates says why cmd, in stage i on a parent layer the cache has,
// misses ("" if it does not).
func (p *predictor) invalidates(i int, cmd instructions.Command, stamped bool) (string, error) {
	switch c := cmd.(type) {
	case *instructions.RunCommand:
		// A build argument declared in the stage is in the RUN's environment,
		// so in its cache key: a new stamp value changes that key.
		if p.change == ChangeStamp && stamped {
			return fmt.Sprintf("the stamp argument %s is declared before it", p.stampArg), nil
		}
	case *instructions.CopyCommand:
		if c.From != "" {
			from, _, err := p.ast.lex.ProcessWord(c.From, p.env)
			if err != nil {
				return "", fmt.Errorf("--from=%s: %w", c.From, err)
			}
			// An image named by --from is not a base the change touches.
			if j, ok := p.ast.earlierStage(i, from, true); ok && p.ends[j].changed {
				return fmt.Sprintf("copies from stage %s, which changed", p.label(j)), nil
			}
			return "", nil
		}
	}
	return p.copiesEdited(contextSources(cmd))
}

// copiesEdited says which edited file sources (paths in the build context)
// take in, if any.
func (p *predictor) copiesEdited(sources []string) (string, error) {
	for _, src := range sources {
		for _, f := range p.edited {
			ok, err := covers(src, f.rel)
			if err != nil {
				return "", fmt.Errorf("source %s: %w", src, err)
			}
			if ok {
				return fmt.Sprintf("copies %s, which the change edited", f.repo), nil
			}
		}
	}
	return "", nil
}

// contextSources returns the sources an instruction copies from the build
// context: those of a COPY without --from and of an ADD, less an ADD's URLs
// and git addresses; nil for any other instruction.
func contextSources(cmd instructions.Command) []string {
	var sources []string
	switch c := cmd.(type) {
	case *instructions.CopyCommand:
		if c.From == "" {
			sources = c.SourcePaths
		}
	case *instructions.AddCommand:
		sources = c.SourcePaths
	}
	var out []string
	for _, src := range sources {
		if !isRemote(src) {
			out = append(out, src)
		}
	}
	return out
}

// isRemote reports whether an ADD source is a URL or a git address rather
// than a path in the build context.
func isRemote(src string) bool {
	return strings.Contains(src, "://") || strings.HasPrefix(src, "git@")
}

// covers reports whether the source src (a path or pattern in the build
// context) takes in the file rel: src names the file itself or a directory
// above it, and a pattern may match either.
func covers(src, rel string) (bool, error) {
	// Builders read sources from the context's root, whatever the slashes.
	src = strings.TrimPrefix(path.Clean("/"+src), "/")
	if src == "" {
		return true, nil
	}
	for p := rel; ; {
		ok, err := path.Match(src, p)
		if err != nil {
			return false, err
		}
		if ok {
			return true, nil
		}
		i := strings.LastIndex(p, "/")
		if i < 0 {
			return false, nil
		}
		p = p[:i]
	}
}

// inContext returns the changed files that lie in the build context, with
// their paths in it; a file outside the context is no build's input.
func inContext(context string, changed []string) ([]editedFile, error) {
	ctx := path.Clean(strings.TrimPrefix(context, "/"))
	if ctx == ".." || strings.HasPrefix(ctx, "../") {
		return nil, fmt.Errorf("build context %q is outside the repository", context)
	}
	var out []editedFile
	for _, f := range changed {
		rel := path.Clean(strings.TrimPrefix(f, "/"))
		if ctx != "." {
			r, ok := strings.CutPrefix(rel, ctx+"/")
			if !ok {
				continue
			}
			rel = r
		}
		out = append(out, editedFile{repo: f, rel: rel})
	}
	return out, nil
}
