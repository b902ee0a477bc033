// Package scenarios holds what a benchmark builds and how: the workloads
// (a Dockerfile and its sources), the builders (kaniko first) with their
// cache strategies, and the Tekton objects that run one build.
package scenarios

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing/fstest"
	"time"

	"golang.org/x/tools/txtar"
)

// Workload is one image build: a repository holding a Dockerfile and its
// sources, committed to the in-cluster git server.
type Workload struct {
	Name        string
	Description string
	// Files is the repository content.
	Files fs.FS
	// Dockerfile is its path in the repository; Context the build context.
	Dockerfile string
	Context    string
	// Bases are the base images it builds FROM, by logical name (see
	// images.BaseRepo); a cache-volume strategy warms exactly these.
	Bases []string
	// StampArg, when set, is a build argument given a new value on every
	// run, standing for a code change (see the workload's Dockerfile).
	StampArg string
	// RunTime is about how long one run takes on a 2-core machine (measured
	// there, rounded up), for planning: go test's -timeout must cover the plan.
	RunTime time.Duration
}

//go:embed workloads/*.txtar
var workloadFiles embed.FS

// builtin describes the workloads shipped with cachebench; their files are
// in workloads/<name>.txtar (one archive each: a real go.mod inside this
// module's tree would make it a module of its own, out of go:embed's reach).
var builtin = []Workload{
	{
		Name:        "small",
		Description: "Debian base, one apt-get layer (python3), application files: the seed's shape",
		Dockerfile:  "Dockerfile", Context: ".",
		Bases:   []string{"debian"},
		RunTime: 20 * time.Second,
	},
	{
		Name:        "gobuild",
		Description: "multi-stage Go build: module download layer, compile (stamped each run), runtime image",
		Dockerfile:  "Dockerfile", Context: ".",
		Bases:    []string{"golang", "debian"},
		StampArg: "BUILD_ID",
		RunTime:  time.Minute,
	},
}

// Workloads returns the built-in workloads.
func Workloads() ([]Workload, error) {
	var out []Workload
	for _, w := range builtin {
		data, err := workloadFiles.ReadFile("workloads/" + w.Name + ".txtar")
		if err != nil {
			return nil, fmt.Errorf("workload %s: %w", w.Name, err)
		}
		w.Files = txtarFS(txtar.Parse(data))
		out = append(out, w)
	}
	return out, nil
}

func txtarFS(a *txtar.Archive) fs.FS {
	m := fstest.MapFS{}
	for _, f := range a.Files {
		m[f.Name] = &fstest.MapFile{Data: f.Data, Mode: 0o644}
	}
	return m
}

// WorkloadNames lists the built-in workload names.
func WorkloadNames() []string {
	var n []string
	for _, w := range builtin {
		n = append(n, w.Name)
	}
	return n
}

// SelectWorkloads returns the named workloads, in the order given.
func SelectWorkloads(names []string) ([]Workload, error) {
	all, err := Workloads()
	if err != nil {
		return nil, err
	}
	var out []Workload
	for _, n := range names {
		i := slices.IndexFunc(all, func(w Workload) bool { return w.Name == n })
		if i < 0 {
			return nil, fmt.Errorf("unknown workload %q: choose from %s", n, strings.Join(WorkloadNames(), ", "))
		}
		out = append(out, all[i])
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no workload selected: choose from %s", strings.Join(WorkloadNames(), ", "))
	}
	return out, nil
}
