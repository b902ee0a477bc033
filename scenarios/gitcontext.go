package scenarios

import (
	"errors"
	"fmt"
	"io/fs"
	"path"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// cloneGitFile stands for the clone's .git: a file every clone writes anew.
const cloneGitFile = ".git/index"

// GitCopies returns the COPY and ADD instructions of the workload's
// Dockerfile that take the clone's .git into the image, as "line N: TEXT":
// they copy from the build context a source that holds .git (".", "*"), and
// no .dockerignore at the context's root leaves it out. The clone task, as
// any git clone, leaves .git in the context, and two clones of one commit
// differ in it (the index records the files' times, the reflog the clone's),
// so such an instruction copies new bytes on every run: no layer cache can
// serve it or anything after it in its stage, whatever the commit changed.
func (w Workload) GitCopies() ([]string, error) {
	if path.Clean(w.Context) != "." {
		// .git is at the repository's root, outside a context below it.
		return nil, nil
	}
	df, err := fs.ReadFile(w.Files, w.Dockerfile)
	if err != nil {
		return nil, fmt.Errorf("workload %s: %w", w.Name, err)
	}
	ignored, err := w.contextIgnores(cloneGitFile)
	if err != nil || ignored {
		return nil, err
	}
	ast, err := parseDockerfile(df)
	if err != nil {
		return nil, fmt.Errorf("workload %s: parse %s: %w", w.Name, w.Dockerfile, err)
	}
	var out []string
	for _, st := range ast.stages {
		for _, cmd := range st.Commands {
			for _, src := range contextSources(cmd) {
				ok, err := covers(src, cloneGitFile)
				if err != nil {
					return nil, fmt.Errorf("workload %s: %s: %w", w.Name, cmd, err)
				}
				if ok {
					out = append(out, fmt.Sprintf("line %d: %s", lineOf(cmd), cmd))
					break
				}
			}
		}
	}
	return out, nil
}

// contextIgnores reports whether the .dockerignore at the root of the
// build context (the repository's root here) leaves out file, a path in
// the context, with the meaning every builder here gives its patterns
// (Docker's).
func (w Workload) contextIgnores(file string) (bool, error) {
	const name = ".dockerignore"
	f, err := w.Files.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("workload %s: %w", w.Name, err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return false, fmt.Errorf("workload %s: read %s: %w", w.Name, name, err)
	}
	ignored, err := patternmatcher.MatchesOrParentMatches(file, patterns)
	if err != nil {
		return false, fmt.Errorf("workload %s: %s: %w", w.Name, name, err)
	}
	return ignored, nil
}

// lineOf is the Dockerfile line an instruction starts on (1-based).
func lineOf(cmd instructions.Command) int {
	if loc := cmd.Location(); len(loc) > 0 {
		return loc[0].Start.Line
	}
	return 0
}
