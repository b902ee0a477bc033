package results

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Files of a results folder.
const (
	ResultsFile     = "results.jsonl"
	EnvironmentFile = "environment.json"
)

// Names under the results root that are not results folders: the trend
// drawn over them, and the examples README quotes.
var Reserved = []string{"trend", "examples"}

var runIDRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,40}$`)

// CheckRunID says what is wrong with a run id, nil when it can name a
// results folder.
func CheckRunID(id string) error {
	if !runIDRe.MatchString(id) {
		return fmt.Errorf("%q: use lower-case letters, digits, '.', '_' and '-' (at most 41, starting with a letter or digit)", id)
	}
	if slices.Contains(Reserved, id) {
		return fmt.Errorf("%q is reserved for the folder of that name beside the results folders (reserved: %s)", id, strings.Join(Reserved, ", "))
	}
	return nil
}

// Writer appends runs to results.jsonl as they finish: each line is
// written and synced at once, so a crash or Ctrl-C loses nothing finished.
type Writer struct {
	mu  sync.Mutex
	f   *os.File
	dir string
}

// CheckFree says why dir cannot receive a new benchmark's results: it
// already holds one (nil when it does not exist or holds none), whose runs
// a new one would be appended to.
func CheckFree(dir string) error {
	for _, f := range []string{EnvironmentFile, ResultsFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return fmt.Errorf("the results folder %s already holds a benchmark (its %s)", dir, f)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// Create makes a results folder and writes its environment file; it
// refuses a folder that holds a benchmark already (CheckFree).
func Create(dir string, env Environment) (*Writer, error) {
	if err := CheckFree(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create results folder: %w", err)
	}
	data, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return nil, err
	}
	ef, err := os.OpenFile(filepath.Join(dir, EnvironmentFile), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("write environment: %w", err)
	}
	if _, err := ef.Write(append(data, '\n')); err != nil {
		ef.Close()
		return nil, fmt.Errorf("write environment: %w", err)
	}
	if err := ef.Close(); err != nil {
		return nil, fmt.Errorf("write environment: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, ResultsFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open results: %w", err)
	}
	return &Writer{f: f, dir: dir}, nil
}

// LogsDir holds the builder's log of every run, named by its sequence
// number, so that each cache verdict can be checked by hand.
const LogsDir = "logs"

// WriteLog keeps the builder's log of run seq and returns its path
// relative to the results folder.
func (w *Writer) WriteLog(seq int, text string) (string, error) {
	rel := filepath.Join(LogsDir, fmt.Sprintf("%04d-build.log", seq))
	if err := os.MkdirAll(filepath.Join(w.dir, LogsDir), 0o755); err != nil {
		return "", fmt.Errorf("keep build log: %w", err)
	}
	if err := os.WriteFile(filepath.Join(w.dir, rel), []byte(text), 0o644); err != nil {
		return "", fmt.Errorf("keep build log: %w", err)
	}
	return rel, nil
}

// Dir returns the results folder.
func (w *Writer) Dir() string { return w.dir }

// Append writes one run.
func (w *Writer) Append(r Run) error {
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("append result: %w", err)
	}
	return w.f.Sync()
}

// AddNote appends a note to the environment file (what the benchmark found
// before it started, say).
func (w *Writer) AddNote(note string) error {
	return w.UpdateEnvironment(func(e *Environment) { e.Notes = append(e.Notes, note) })
}

// UpdateEnvironment changes the environment file, rewriting it whole
// (a temporary file renamed over it, so a crash leaves the old one).
func (w *Writer) UpdateEnvironment(change func(*Environment)) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	path := filepath.Join(w.dir, EnvironmentFile)
	var env Environment
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return fmt.Errorf("read %s: %w", EnvironmentFile, err)
	}
	change(&env)
	if data, err = json.MarshalIndent(env, "", "  "); err != nil {
		return err
	}
	return writeFileAtomic(path, append(data, '\n'))
}

// writeFileAtomic writes path through a temporary file renamed over it.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// SupersededFile receives, when a benchmark is resumed, the runs of the
// rounds it runs again (cut off before their last run): kept, but out of
// results.jsonl and so of every table.
const SupersededFile = "superseded.jsonl"

// LoadSuperseded reads the runs earlier resumes set aside in dir (none
// when there were none).
func LoadSuperseded(dir string) ([]Run, error) {
	data, err := os.ReadFile(filepath.Join(dir, SupersededFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	runs, _, err := parseRuns(data)
	return runs, err
}

// Reopen continues a benchmark in dir (--resume): the runs in superseded
// move from results.jsonl to SupersededFile, results.jsonl is rewritten
// with the others (atomically), and the Writer appends after them.
func Reopen(dir string, superseded []Run) (*Writer, error) {
	res, err := Load(dir)
	if err != nil {
		return nil, err
	}
	gone := map[int]bool{}
	for _, r := range superseded {
		gone[r.Seq] = true
	}
	var kept, moved bytes.Buffer
	for _, r := range res.Runs {
		line, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		if gone[r.Seq] {
			moved.Write(append(line, '\n'))
		} else {
			kept.Write(append(line, '\n'))
		}
	}
	if moved.Len() > 0 {
		sf, err := os.OpenFile(filepath.Join(dir, SupersededFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		_, err = sf.Write(moved.Bytes())
		if cerr := sf.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("keep superseded runs: %w", err)
		}
	}
	if err := writeFileAtomic(filepath.Join(dir, ResultsFile), kept.Bytes()); err != nil {
		return nil, fmt.Errorf("rewrite %s: %w", ResultsFile, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, ResultsFile), os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open results: %w", err)
	}
	return &Writer{f: f, dir: dir}, nil
}

// Close closes the file.
func (w *Writer) Close() error { return w.f.Close() }

// Results is a loaded results folder.
type Results struct {
	Dir         string
	Environment Environment
	Runs        []Run
	// Skipped counts lines that could not be read (a crash mid-write).
	Skipped int
}

// Load reads a results folder. A truncated last line (the process died
// while writing it) is skipped and counted, not fatal.
func Load(dir string) (*Results, error) {
	res := &Results{Dir: dir}
	data, err := os.ReadFile(filepath.Join(dir, ResultsFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s has no %s: is it a cachebench results folder?", dir, ResultsFile)
		}
		return nil, err
	}
	if env, err := os.ReadFile(filepath.Join(dir, EnvironmentFile)); err == nil {
		if err := json.Unmarshal(env, &res.Environment); err != nil {
			return nil, fmt.Errorf("read %s: %w", EnvironmentFile, err)
		}
	}
	if res.Runs, res.Skipped, err = parseRuns(data); err != nil {
		return nil, fmt.Errorf("read %s: %w", ResultsFile, err)
	}
	return res, nil
}

// parseRuns reads JSON lines of runs, ordered by sequence number; lines
// that cannot be read are counted, not fatal.
func parseRuns(data []byte) (runs []Run, skipped int, err error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var r Run
		if err := json.Unmarshal(line, &r); err != nil {
			skipped++
			continue
		}
		runs = append(runs, r)
	}
	if err := sc.Err(); err != nil {
		return nil, 0, err
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].Seq < runs[j].Seq })
	return runs, skipped, nil
}

// folder is a results folder and when its benchmark started.
type folder struct {
	path    string
	started time.Time
}

// All returns every results folder under root, oldest first by the start
// time in its environment file (the results file's time when it has none),
// whatever the folders are called.
func All(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("list results under %s: %w", root, err)
	}
	var folders []folder
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		st, err := os.Stat(filepath.Join(dir, ResultsFile))
		if !e.IsDir() || err != nil {
			continue
		}
		f := folder{path: dir, started: st.ModTime()}
		if data, err := os.ReadFile(filepath.Join(dir, EnvironmentFile)); err == nil {
			var env Environment
			if json.Unmarshal(data, &env) == nil && !env.Started.IsZero() {
				f.started = env.Started
			}
		}
		folders = append(folders, f)
	}
	sort.SliceStable(folders, func(i, j int) bool {
		if !folders[i].started.Equal(folders[j].started) {
			return folders[i].started.Before(folders[j].started)
		}
		return folders[i].path < folders[j].path
	})
	dirs := make([]string, len(folders))
	for i, f := range folders {
		dirs[i] = f.path
	}
	return dirs, nil
}

// Newest returns the results folder under root whose benchmark started last.
func Newest(root string) (string, error) {
	dirs, err := All(root)
	if err != nil {
		return "", err
	}
	if len(dirs) == 0 {
		return "", fmt.Errorf("no results under %s: run a benchmark first (make bench)", root)
	}
	return dirs[len(dirs)-1], nil
}

// NewRunID makes a run ID: a UTC timestamp, sortable, plus a short suffix.
func NewRunID(now time.Time, suffix string) string {
	id := now.UTC().Format("20060102-150405")
	if suffix = strings.TrimSpace(suffix); suffix != "" {
		id += "-" + suffix
	}
	return id
}

// RootName is the folder that receives results folders: in the cachebench
// checkout the process runs in, else in the working directory. It is
// git-ignored but for the committed examples.
const RootName = "benchmarks"

// DefaultRoot is RootName in the cachebench checkout the process runs in
// (found by walking up to its go.mod), else ./benchmarks.
func DefaultRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return RootName
	}
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module github.com/cachebench/cachebench\n")) {
			return filepath.Join(d, RootName)
		}
		if filepath.Dir(d) == d {
			return RootName
		}
	}
}
