package scenarios

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// Change is what a commit changes between the runs of a round: each warm
// run builds a new commit made on top of the previous run's.
type Change string

const (
	// ChangeNone rebuilds the same commit.
	ChangeNone Change = "none"
	// ChangeStamp gives the workload's stamp build argument a new value,
	// on the same commit.
	ChangeStamp Change = "stamp"
	// ChangeSource edits an application source file.
	ChangeSource Change = "source"
	// ChangeDeps edits the dependency manifest.
	ChangeDeps Change = "deps"
	// ChangeBase gives the base images a new digest: the same content
	// with a new label.
	ChangeBase Change = "base"
	// ChangeMix is the change of a soak whose warm runs follow a commit
	// mix (--soak with --mix): each makes a pattern of the mix in turn. It
	// names the soak's row; it is not a pattern of its own.
	ChangeMix Change = "mix"
)

// EditsFile reports whether the change is a commit editing a file of the
// workload (source or deps), which its round makes on a branch of its own.
func (c Change) EditsFile() bool { return c == ChangeSource || c == ChangeDeps }

// Changes lists every change pattern.
var Changes = []Change{ChangeNone, ChangeStamp, ChangeSource, ChangeDeps, ChangeBase}

// ParseChanges reads a list of change patterns (--change).
func ParseChanges(names []string) ([]Change, error) {
	var out []Change
	for _, n := range names {
		c := Change(strings.TrimSpace(n))
		if !slices.Contains(Changes, c) {
			return nil, fmt.Errorf("unknown change pattern %q: choose from %s", n, changeList())
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

func changeList() string {
	var s []string
	for _, c := range Changes {
		s = append(s, string(c))
	}
	return strings.Join(s, ", ")
}

// DefaultChange is the workload's change when none is named: a new stamp
// when it has a stamp argument, else none (the same commit again).
func (w Workload) DefaultChange() Change {
	if w.StampArg != "" {
		return ChangeStamp
	}
	return ChangeNone
}

// CheckChange says why the workload cannot take a change (nil when it can):
// a stamp needs a stamp argument, a source or deps change a file to edit.
func (w Workload) CheckChange(c Change) error {
	switch {
	case c == ChangeStamp && w.StampArg == "":
		return fmt.Errorf("workload %s has no stamp build argument", w.Name)
	case c == ChangeSource && w.SourceFile == "":
		return fmt.Errorf("workload %s names no source file (--source-file)", w.Name)
	case c == ChangeDeps && w.DepsFile == "":
		return fmt.Errorf("workload %s has no dependency manifest (--deps-file)", w.Name)
	}
	return nil
}

// ChangedFile is the repository file a change edits, "" when it edits none.
func (w Workload) ChangedFile(c Change) string {
	switch c {
	case ChangeSource:
		return w.SourceFile
	case ChangeDeps:
		return w.DepsFile
	}
	return ""
}

// lineComments maps a file's extension (or whole name) to its line comment.
var lineComments = map[string]string{
	".go": "//", ".mod": "//", ".js": "//", ".mjs": "//", ".cjs": "//", ".ts": "//", ".tsx": "//", ".jsx": "//",
	".java": "//", ".kt": "//", ".kts": "//", ".gradle": "//", ".scala": "//", ".swift": "//", ".rs": "//",
	".c": "//", ".h": "//", ".cc": "//", ".cpp": "//", ".hpp": "//", ".cs": "//", ".php": "//",
	".py": "#", ".rb": "#", ".sh": "#", ".pl": "#", ".r": "#", ".txt": "#", ".toml": "#", ".yaml": "#", ".yml": "#",
	".cfg": "#", ".ini": "#", ".conf": "#",
	"Gemfile": "#", "Pipfile": "#", "Makefile": "#", "Dockerfile": "#", "requirements.txt": "#",
	".xml": "<!--", ".html": "<!--", ".csproj": "<!--",
}

// ChangeLine is the line a change appends to file: a comment naming token
// in the file's language, so that the commit is a real edit that builds;
// in a format without comments (JSON) an empty line, which every text
// format allows and which still changes the file's bytes.
func ChangeLine(file, token string) string {
	base := path.Base(file)
	c, ok := lineComments[base]
	if !ok {
		c = lineComments[strings.ToLower(path.Ext(base))]
	}
	switch c {
	case "":
		return ""
	case "<!--":
		return "<!-- cachebench change " + token + " -->"
	}
	return c + " cachebench change " + token
}
