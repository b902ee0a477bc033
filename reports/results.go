// Package reports turns results into numbers and pictures: the results
// model (one JSON line per run), statistics, charts and report files. It
// needs no cluster: it only reads what a benchmark wrote.
package reports

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Phase tells a run that starts from a freshly reset cache (cold) from one
// that follows it in the same round (warm).
type Phase string

const (
	Cold Phase = "cold"
	Warm Phase = "warm"
)

// Span is a measured interval.
type Span struct {
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Seconds float64   `json:"seconds"`
}

// NewSpan makes a Span; an unset end leaves Seconds at zero.
func NewSpan(start, end time.Time) Span {
	s := Span{Start: start, End: end}
	if !start.IsZero() && !end.IsZero() {
		s.Seconds = end.Sub(start).Seconds()
	}
	return s
}

// Step is one step container of a task.
type Step struct {
	Name string `json:"name"`
	Span
	ExitCode int32 `json:"exitCode"`
}

// Task is one TaskRun of the PipelineRun.
type Task struct {
	Name    string `json:"name"` // pipeline task name (fetch-source, build-push)
	TaskRun string `json:"taskRun"`
	Span
	// PodScheduled..first step start: scheduling, volume and init containers.
	PodStartSeconds float64 `json:"podStartSeconds"`
	Steps           []Step  `json:"steps"`
}

// Pull is one image pull reported by the kubelet.
type Pull struct {
	Image   string  `json:"image"`
	Pod     string  `json:"pod"`
	Seconds float64 `json:"seconds"`
	Bytes   int64   `json:"bytes,omitempty"`
}

// KanikoPhase is time spent in one kind of kaniko work, from its log.
type KanikoPhase struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// KanikoPhases are the kinds of work the phase breakdown reports, in the
// order kaniko usually does them (see measure.Kaniko for the markers).
var KanikoPhases = []string{"base-image", "cache-lookup", "unpack", "cache-extract", "commands", "snapshot", "cache-push", "stage-switch", "push"}

// Builder holds what the builder's own log says.
type Builder struct {
	// CacheHits: layers taken from the layer cache ("Using caching version of cmd").
	CacheHits int `json:"cacheHits"`
	// CacheMisses: commands the layer cache could not serve ("No cached layer found").
	CacheMisses int `json:"cacheMisses"`
	// LocalCacheHits: base images served from --cache-dir ("Found sha256:... in local cache").
	LocalCacheHits int `json:"localCacheHits"`
	// CachePushes: layers written to the layer cache.
	CachePushes int           `json:"cachePushes"`
	Phases      []KanikoPhase `json:"phases,omitempty"`
}

// Run is one PipelineRun of the benchmark: one JSON line of results.jsonl.
type Run struct {
	RunID    string `json:"runId"`
	Seq      int    `json:"seq"`
	Workload string `json:"workload"`
	Builder  string `json:"builder"`
	Strategy string `json:"strategy"`
	Round    int    `json:"round"`
	Phase    Phase  `json:"phase"`
	Attempt  int    `json:"attempt"` // 0 for the cold run, 1.. for warm runs

	PipelineRun string `json:"pipelineRun"`
	Success     bool   `json:"success"`
	// Reason and LogTail explain a failure; a failed run has no durations
	// worth reading and is never counted in statistics.
	Reason  string `json:"reason,omitempty"`
	LogTail string `json:"logTail,omitempty"`

	// WallMillis is the harness's monotonic clock from create to completion.
	WallMillis int64  `json:"wallMillis"`
	Pipeline   Span   `json:"pipeline"`
	Tasks      []Task `json:"tasks,omitempty"`
	Pulls      []Pull `json:"pulls,omitempty"`
	// Kaniko is what the builder's log says (cache hits, phases).
	Kaniko Builder `json:"kaniko"`
	// Prepare is the time spent resetting and warming the cache before a
	// cold run (the warmer, for pv-warm): not part of the build's time.
	PrepareSeconds float64 `json:"prepareSeconds,omitempty"`
	Commit         string  `json:"commit,omitempty"`
	ImageDigest    string  `json:"imageDigest,omitempty"`
	CacheRepo      string  `json:"cacheRepo,omitempty"`

	Versions map[string]string `json:"versions"`
}

// WallSeconds is the headline duration of a run.
func (r Run) WallSeconds() float64 { return float64(r.WallMillis) / 1000 }

// TaskSeconds returns the duration of a pipeline task, 0 if absent.
func (r Run) TaskSeconds(name string) float64 {
	for _, t := range r.Tasks {
		if t.Name == name {
			return t.Seconds
		}
	}
	return 0
}

// ResultsFile is the name of the results file in a results folder.
const ResultsFile = "results.jsonl"

// EnvironmentFile describes where a benchmark ran.
const EnvironmentFile = "environment.json"

// Environment is written once at the start of a benchmark.
type Environment struct {
	RunID     string            `json:"runId"`
	Started   time.Time         `json:"started"`
	Host      string            `json:"host"`
	CPUs      int               `json:"cpus"`
	MemoryGiB float64           `json:"memoryGiB"`
	Kernel    string            `json:"kernel"`
	Cgroup    string            `json:"cgroup"`
	Docker    string            `json:"docker,omitempty"`
	GoVersion string            `json:"goVersion"`
	Versions  map[string]string `json:"versions"`
	// Settings are the options the benchmark ran with.
	Settings map[string]string `json:"settings"`
	Notes    []string          `json:"notes,omitempty"`
}

// Writer appends runs to results.jsonl as they finish: each line is
// written and synced at once, so a crash or Ctrl-C loses nothing finished.
type Writer struct {
	mu  sync.Mutex
	f   *os.File
	dir string
}

// Create makes a results folder and writes its environment file.
func Create(dir string, env Environment) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create results folder: %w", err)
	}
	data, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, EnvironmentFile), append(data, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("write environment: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, ResultsFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open results: %w", err)
	}
	return &Writer{f: f, dir: dir}, nil
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
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var r Run
		if err := json.Unmarshal(line, &r); err != nil {
			res.Skipped++
			continue
		}
		res.Runs = append(res.Runs, r)
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	sort.SliceStable(res.Runs, func(i, j int) bool { return res.Runs[i].Seq < res.Runs[j].Seq })
	return res, nil
}

// Newest returns the newest results folder under root (by name: run IDs
// start with a UTC timestamp).
func Newest(root string) (string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return "", fmt.Errorf("list results under %s: %w", root, err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() && fileExists(filepath.Join(root, e.Name(), ResultsFile)) {
			dirs = append(dirs, e.Name())
		}
	}
	if len(dirs) == 0 {
		return "", fmt.Errorf("no results under %s: run a benchmark first (make bench)", root)
	}
	sort.Strings(dirs)
	return filepath.Join(root, dirs[len(dirs)-1]), nil
}

// All returns every results folder under root, oldest first.
func All(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() && fileExists(filepath.Join(root, e.Name(), ResultsFile)) {
			dirs = append(dirs, filepath.Join(root, e.Name()))
		}
	}
	sort.Strings(dirs)
	return dirs, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// NewRunID makes a run ID: a UTC timestamp, sortable, plus a short suffix.
func NewRunID(now time.Time, suffix string) string {
	id := now.UTC().Format("20060102-150405")
	if suffix = strings.TrimSpace(suffix); suffix != "" {
		id += "-" + suffix
	}
	return id
}

// DefaultRoot is the reports folder of the cachebench checkout the process
// runs in (found by walking up to its go.mod), else ./reports.
func DefaultRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return "reports"
	}
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module github.com/cachebench/cachebench\n")) {
			return filepath.Join(d, "reports")
		}
		if filepath.Dir(d) == d {
			return "reports"
		}
	}
}
