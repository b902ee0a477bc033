// Package scenarios holds what a benchmark builds: the workloads (a
// Dockerfile and its sources), the change patterns a commit applies to
// them, and the cache use each change predicts.
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
	// SourceFile is the application source file a source change edits,
	// DepsFile the dependency manifest a deps change edits (repository
	// paths; "" when the workload has none).
	SourceFile string
	DepsFile   string
	// BuildArgs are more build arguments (KEY=VALUE) of every run.
	BuildArgs []string
	// Custom is set for a user's build (--workload-dir).
	Custom bool
	// RunTime is about how long one run takes on a 2-core machine (measured
	// there, rounded up), for planning: go test's -timeout must cover the plan.
	RunTime time.Duration

	// generate adds generated files to the archive's (built-in workloads).
	generate func(fstest.MapFS)
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
		Bases:      []string{"debian"},
		SourceFile: "app/main.py",
		RunTime:    20 * time.Second,
	},
	{
		Name:        "smoke",
		Description: "CI's smoke: small's shape with one small package (hello) instead of python3, half the cost of a build",
		Dockerfile:  "Dockerfile", Context: ".",
		Bases:      []string{"debian"},
		SourceFile: "app/greet.sh",
		RunTime:    15 * time.Second,
	},
	{
		Name:        "gobuild",
		Description: "multi-stage Go build: module download layer, compile (stamped each run), runtime image",
		Dockerfile:  "Dockerfile", Context: ".",
		Bases:      []string{"golang", "debian"},
		StampArg:   "BUILD_ID",
		SourceFile: "cmd/server/main.go", DepsFile: "go.mod",
		RunTime: time.Minute,
	},
	{
		Name:        "node",
		Description: "Node.js service: npm ci from a lock file (express, TypeScript), then a TypeScript build (stamped each run)",
		Dockerfile:  "Dockerfile", Context: ".",
		Bases:      []string{"node"},
		StampArg:   "BUILD_ID",
		SourceFile: "src/server.ts", DepsFile: "package.json",
		RunTime: time.Minute,
	},
	{
		Name:        "manyfiles",
		Description: "Debian base, a COPY of 20,000 small files and a RUN that reads them all: snapshot-dominated",
		Dockerfile:  "Dockerfile", Context: ".",
		Bases:      []string{"debian"},
		SourceFile: "src/m000/f00000.js",
		RunTime:    80 * time.Second,
		generate:   manyFiles,
	},
}

// manyFileCount is how many files manyfiles copies.
const manyFileCount = 20000

// manyFiles writes manyfiles' sources: 200 folders of 100 small text files
// each, of 64 to 575 bytes, the same every time (so the same commit).
func manyFiles(m fstest.MapFS) {
	for i := range manyFileCount {
		var b strings.Builder
		fmt.Fprintf(&b, "// file %05d of the manyfiles workload\n", i)
		for line := range i % 9 {
			fmt.Fprintf(&b, "export const v%d_%d = %d;\n", i, line, (i*31+line*7)%1000)
		}
		for b.Len() < 64+(i*37)%512 {
			b.WriteString("//\n")
		}
		m[fmt.Sprintf("src/m%03d/f%05d.js", i/100, i)] = &fstest.MapFile{Data: []byte(b.String()), Mode: 0o644}
	}
}

// Workloads returns the built-in workloads.
func Workloads() ([]Workload, error) {
	var out []Workload
	for _, w := range builtin {
		w, err := load(w)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

// load reads a built-in workload's files from its archive and adds the
// generated ones.
func load(w Workload) (Workload, error) {
	data, err := workloadFiles.ReadFile("workloads/" + w.Name + ".txtar")
	if err != nil {
		return Workload{}, fmt.Errorf("workload %s: %w", w.Name, err)
	}
	files := txtarFS(txtar.Parse(data))
	if w.generate != nil {
		w.generate(files)
	}
	w.Files = files
	return w, nil
}

func txtarFS(a *txtar.Archive) fstest.MapFS {
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

// SelectWorkloads returns the named built-in workloads, in the order given.
func SelectWorkloads(names []string) ([]Workload, error) {
	var out []Workload
	for _, n := range names {
		i := slices.IndexFunc(builtin, func(w Workload) bool { return w.Name == n })
		if i < 0 {
			return nil, fmt.Errorf("unknown workload %q: choose from %s", n, strings.Join(WorkloadNames(), ", "))
		}
		w, err := load(builtin[i])
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}
