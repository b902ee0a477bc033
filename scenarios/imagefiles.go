package scenarios

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// ImageFile is a file of the commit that the built image must hold with the
// commit's bytes: the last stage (or a stage it builds on) copies it from
// the build context.
type ImageFile struct {
	// Path is where the image holds it (absolute). When the instruction's
	// destination names no directory by its form (a single file copied to
	// a path without a trailing slash), the image decides: InDir is then
	// the file's path should Path be a directory in the image.
	Path  string
	InDir string
	// Source is its path in the repository.
	Source string
	// Line is the COPY or ADD instruction that copies it, Instruction its text.
	Line        int
	Instruction string
	// RewrittenBy names the first later instruction of the stage that may
	// change the file (a RUN, a COPY from another stage), "" when none.
	RewrittenBy string
}

// ImageFiles maps the files of a commit (repository paths) to where the
// workload's Dockerfile copies them into the image it builds, as every
// builder here reads COPY and ADD: a directory source copies its contents,
// a pattern each match, the destination is relative to WORKDIR, and the
// context's .dockerignore leaves files out. A later copy to the same path
// wins. Skipped says which instructions it cannot follow (variables in a
// path, archives ADD unpacks, --parents, --exclude), each as "line N: TEXT".
func (w Workload) ImageFiles(commit []string) (files []ImageFile, skipped []string, err error) {
	chain, err := w.lastStages()
	if err != nil {
		return nil, nil, err
	}
	ignore, err := w.ignorePatterns()
	if err != nil {
		return nil, nil, err
	}
	ctx := path.Clean(strings.TrimPrefix(w.Context, "/"))
	var inContext []string
	for _, f := range commit {
		rel := f
		if ctx != "." {
			var ok bool
			if rel, ok = strings.CutPrefix(f, ctx+"/"); !ok {
				continue
			}
		}
		if len(ignore) > 0 {
			ignored, err := patternmatcher.MatchesOrParentMatches(rel, ignore)
			if err != nil {
				return nil, nil, fmt.Errorf("workload %s: .dockerignore: %w", w.Name, err)
			}
			if ignored {
				continue
			}
		}
		inContext = append(inContext, rel)
	}
	slices.Sort(inContext)
	byPath := map[string]int{}
	workdir := "/"
	for _, st := range chain {
		for _, cmd := range st.Commands {
			line, text := lineOf(cmd), fmt.Sprint(cmd)
			switch c := cmd.(type) {
			case *instructions.WorkdirCommand:
				switch {
				case strings.Contains(c.Path, "$"):
					workdir = ""
				case path.IsAbs(c.Path):
					workdir = path.Clean(c.Path)
				case workdir != "":
					workdir = path.Join(workdir, c.Path)
				}
				continue
			case *instructions.RunCommand:
				markRewritten(files, fmt.Sprintf("line %d: %s", line, text))
				continue
			case *instructions.CopyCommand:
				if c.From != "" {
					markRewritten(files, fmt.Sprintf("line %d: %s", line, text))
					continue
				}
				if c.Parents || len(c.ExcludePatterns) > 0 {
					skipped = append(skipped, fmt.Sprintf("line %d: %s", line, text))
					continue
				}
			case *instructions.AddCommand:
				if len(c.ExcludePatterns) > 0 {
					skipped = append(skipped, fmt.Sprintf("line %d: %s", line, text))
					continue
				}
			default:
				continue
			}
			sources := contextSources(cmd)
			dest := copyDest(cmd)
			if len(sources) == 0 {
				continue
			}
			if strings.Contains(dest, "$") || slices.ContainsFunc(sources, func(s string) bool { return strings.Contains(s, "$") }) ||
				(!path.IsAbs(dest) && workdir == "") {
				skipped = append(skipped, fmt.Sprintf("line %d: %s", line, text))
				continue
			}
			_, isAdd := cmd.(*instructions.AddCommand)
			copies, skip := copyFiles(sources, dest, workdir, inContext, isAdd)
			if skip {
				skipped = append(skipped, fmt.Sprintf("line %d: %s", line, text))
			}
			for _, f := range copies {
				f.Line, f.Instruction = line, text
				if ctx != "." {
					f.Source = ctx + "/" + f.Source
				}
				if i, ok := byPath[f.Path]; ok {
					files[i] = f
					continue
				}
				byPath[f.Path] = len(files)
				files = append(files, f)
			}
		}
	}
	return files, skipped, nil
}

// markRewritten notes instr on every file not yet marked.
func markRewritten(files []ImageFile, instr string) {
	for i := range files {
		if files[i].RewrittenBy == "" {
			files[i].RewrittenBy = instr
		}
	}
}

func copyDest(cmd instructions.Command) string {
	switch c := cmd.(type) {
	case *instructions.CopyCommand:
		return c.DestPath
	case *instructions.AddCommand:
		return c.DestPath
	}
	return ""
}

// copyFiles is where one COPY or ADD puts the context's files. skip is
// set when a source is an archive ADD unpacks (its files are not checked).
func copyFiles(sources []string, dest, workdir string, context []string, isAdd bool) (out []ImageFile, skip bool) {
	destDir := strings.HasSuffix(dest, "/") || strings.HasSuffix(dest, "/.") || dest == "."
	if !path.IsAbs(dest) {
		dest = path.Join(workdir, dest)
	}
	dest = path.Clean(dest)
	type match struct{ file, rel string }
	var matches []match
	for _, src := range sources {
		src = strings.TrimPrefix(path.Clean("/"+src), "/")
		for _, f := range context {
			if src == "" {
				matches = append(matches, match{f, f})
				continue
			}
			// The source (or a pattern) names the file, or a directory
			// above it, whose contents are copied.
			for p := f; ; {
				if ok, _ := path.Match(src, p); ok {
					rel := path.Base(f)
					if p != f {
						rel = strings.TrimPrefix(f, p+"/")
					}
					matches = append(matches, match{f, rel})
					break
				}
				i := strings.LastIndex(p, "/")
				if i < 0 {
					break
				}
				p = p[:i]
			}
		}
	}
	single := len(matches) == 1 && !destDir && len(sources) == 1 && !strings.ContainsAny(sources[0], "*?[") &&
		strings.TrimPrefix(path.Clean("/"+sources[0]), "/") == matches[0].file
	for _, m := range matches {
		if isAdd && isArchive(m.file) {
			skip = true
			continue
		}
		if single {
			out = append(out, ImageFile{Path: dest, InDir: path.Join(dest, path.Base(m.file)), Source: m.file})
			continue
		}
		out = append(out, ImageFile{Path: path.Join(dest, m.rel), Source: m.file})
	}
	return out, skip
}

// isArchive reports whether ADD would unpack the file (by its name: the
// builders look at its bytes, which this does not).
func isArchive(name string) bool {
	for _, ext := range []string{".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// finalChain is the stages whose instructions the image holds: the last
// stage and, when it builds FROM an earlier stage, that one, first.
func (a *dockerfileAST) finalChain(buildArgs []string) ([]instructions.Stage, error) {
	env, err := a.metaEnv(buildArgs)
	if err != nil {
		return nil, err
	}
	var chain []instructions.Stage
	for i := len(a.stages) - 1; ; {
		chain = append([]instructions.Stage{a.stages[i]}, chain...)
		base, _, err := a.lex.ProcessWord(a.stages[i].BaseName, env)
		if err != nil {
			return nil, fmt.Errorf("FROM %s: %w", a.stages[i].BaseName, err)
		}
		j, ok := a.earlierStage(i, base, false)
		if !ok {
			return chain, nil
		}
		i = j
	}
}

// ignorePatterns are the patterns of the .dockerignore at the build
// context's root, none without one.
func (w Workload) ignorePatterns() ([]string, error) {
	name := path.Join(w.Context, ".dockerignore")
	f, err := w.Files.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("workload %s: %w", w.Name, err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("workload %s: read %s: %w", w.Name, name, err)
	}
	return patterns, nil
}

// FinalFromScratch reports whether the image's last stage (through the
// stages it builds on) starts FROM scratch, so inherits no configuration.
func (w Workload) FinalFromScratch() (bool, error) {
	chain, err := w.lastStages()
	if err != nil {
		return false, err
	}
	return strings.EqualFold(chain[0].BaseName, "scratch"), nil
}

// lastStages is the workload's Dockerfile's finalChain.
func (w Workload) lastStages() ([]instructions.Stage, error) {
	df, err := fs.ReadFile(w.Files, w.Dockerfile)
	if err != nil {
		return nil, fmt.Errorf("workload %s: %w", w.Name, err)
	}
	ast, err := parseDockerfile(df)
	if err != nil {
		return nil, fmt.Errorf("workload %s: parse %s: %w", w.Name, w.Dockerfile, err)
	}
	chain, err := ast.finalChain(w.BuildArgs)
	if err != nil {
		return nil, fmt.Errorf("workload %s: %w", w.Name, err)
	}
	return chain, nil
}
