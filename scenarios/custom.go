package scenarios

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing/fstest"
	"time"
)

// WorkloadDir is a user's own build, read from a directory holding a
// Dockerfile, before its base images are placed: Workload turns it into a
// workload once the harness knows where each base image comes from.
type WorkloadDir struct {
	Name string
	Dir  string
	// Dockerfile and Context are paths inside Dir, as the builders get them.
	Dockerfile string
	Context    string
	BuildArgs  []string
	// SourceFile and DepsFile are the files a source and a deps change
	// edit, inside Dir ("" when not given).
	SourceFile string
	DepsFile   string
	// Images are the base images its FROM lines name, each once, in order.
	Images []string

	files      fstest.MapFS
	dockerfile []byte
}

// DirOptions are the settings every --workload-dir shares.
type DirOptions struct {
	Dockerfile string   // inside the directory; "" means Dockerfile
	Context    string   // inside the directory; "" means the directory itself
	BuildArgs  []string // KEY=VALUE
	SourceFile string   // inside the directory; "" means none
	DepsFile   string   // inside the directory; "" means none
}

// workloadNameRe: a workload's name goes into PipelineRun, pod and
// repository names.
var workloadNameRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,19}$`)

// maxWorkloadBytes bounds what a workload directory may hold: its files
// travel to the git server inside the cluster in one object.
const maxWorkloadBytes = 64 << 20

// LoadWorkloadDir reads a workload directory given as DIR or NAME=DIR (the
// name defaults to the directory's own). Its Dockerfile is parsed with
// BuildKit's parser, so a FROM that needs a build argument, or a file that
// does not parse, is refused here, before any cluster work.
func LoadWorkloadDir(spec string, o DirOptions) (*WorkloadDir, error) {
	name, dir, hasName := strings.Cut(spec, "=")
	if !hasName {
		dir = spec
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("workload directory %s: %w", dir, err)
	}
	if !hasName {
		name = strings.ToLower(filepath.Base(abs))
	}
	if !workloadNameRe.MatchString(name) {
		return nil, fmt.Errorf("workload directory %s: name %q: use 1 to 20 lower-case letters, digits and '-', starting with a letter; name it with NAME=%s", dir, name, dir)
	}
	if slices.Contains(WorkloadNames(), name) {
		return nil, fmt.Errorf("workload directory %s: %q is a built-in workload's name; name it with NAME=%s", dir, name, dir)
	}
	w := &WorkloadDir{Name: name, Dir: abs, Dockerfile: o.Dockerfile, Context: o.Context, BuildArgs: o.BuildArgs, SourceFile: o.SourceFile, DepsFile: o.DepsFile}
	if w.Dockerfile == "" {
		w.Dockerfile = "Dockerfile"
	}
	if w.Context == "" {
		w.Context = "."
	}
	for _, p := range []*string{&w.Dockerfile, &w.Context, &w.SourceFile, &w.DepsFile} {
		if *p == "" {
			continue
		}
		clean := path.Clean(filepath.ToSlash(*p))
		if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
			return nil, fmt.Errorf("workload %s: %s must be a path inside %s", name, *p, abs)
		}
		*p = clean
	}
	if w.files, err = readTree(abs); err != nil {
		return nil, fmt.Errorf("workload %s: %w", name, err)
	}
	if w.Context != "." && !hasDir(w.files, w.Context) {
		return nil, fmt.Errorf("workload %s: context %s is not a directory with files in %s", name, w.Context, abs)
	}
	for _, f := range []struct{ flag, file string }{{"--source-file", w.SourceFile}, {"--deps-file", w.DepsFile}} {
		if _, ok := w.files[f.file]; f.file != "" && !ok {
			return nil, fmt.Errorf("workload %s: %s %s: no such file in %s", name, f.flag, f.file, abs)
		}
	}
	df, ok := w.files[w.Dockerfile]
	if !ok {
		return nil, fmt.Errorf("workload %s: no %s in %s: give the Dockerfile's path inside the directory with --dockerfile", name, w.Dockerfile, abs)
	}
	w.dockerfile = df.Data
	froms, err := BaseImages(w.dockerfile, w.BuildArgs)
	if err != nil {
		return nil, fmt.Errorf("workload %s: %s: %w", name, filepath.Join(abs, w.Dockerfile), err)
	}
	if len(froms) == 0 {
		return nil, fmt.Errorf("workload %s: %s builds FROM no image (only scratch or its own stages): there is no base image for a cache to keep", name, filepath.Join(abs, w.Dockerfile))
	}
	for _, f := range froms {
		if !slices.Contains(w.Images, f.Image) {
			w.Images = append(w.Images, f.Image)
		}
	}
	return w, nil
}

// BaseSource says where a base image comes from in the cluster: its
// logical name (the key of the upstream registry's base images) and its
// repository there, e.g. "debian" and "base/debian:bookworm".
type BaseSource struct {
	Logical string
	Repo    string
}

// Workload returns the workload that builds the directory's Dockerfile
// with every FROM image taken from the upstream registry: bases gives,
// for each of w.Images, where it is.
func (w *WorkloadDir) Workload(bases map[string]BaseSource) (Workload, error) {
	repos := map[string]string{}
	var logical []string
	for _, img := range w.Images {
		b, ok := bases[img]
		if !ok {
			return Workload{}, fmt.Errorf("workload %s: no source for base image %s", w.Name, img)
		}
		repos[img] = b.Repo
		if !slices.Contains(logical, b.Logical) {
			logical = append(logical, b.Logical)
		}
	}
	df, err := RewriteBases(w.dockerfile, w.BuildArgs, repos)
	if err != nil {
		return Workload{}, fmt.Errorf("workload %s: %w", w.Name, err)
	}
	files := fstest.MapFS{}
	for p, f := range w.files {
		files[p] = f
	}
	files[w.Dockerfile] = &fstest.MapFile{Data: df, Mode: w.files[w.Dockerfile].Mode}
	return Workload{
		Name:        w.Name,
		Description: fmt.Sprintf("the build of %s in %s (FROM %s)", w.Dockerfile, w.Dir, strings.Join(w.Images, ", ")),
		Files:       files,
		Dockerfile:  w.Dockerfile, Context: w.Context,
		Bases:      logical,
		BuildArgs:  slices.Clone(w.BuildArgs),
		SourceFile: w.SourceFile, DepsFile: w.DepsFile,
		Custom: true,
		// Unknown until measured; planning takes the first round's times.
		RunTime: time.Minute,
	}, nil
}

// readTree reads the regular files under dir (not .git), keeping each
// file's executable bit, which git keeps too.
func readTree(dir string) (fstest.MapFS, error) {
	if info, err := os.Stat(dir); err != nil {
		return nil, err
	} else if !info.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	files := fstest.MapFS{}
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if total += info.Size(); total > maxWorkloadBytes {
			return fmt.Errorf("more than %d MiB of files under %s: point --workload-dir at a directory with just the build's sources", maxWorkloadBytes>>20, dir)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if info.Mode()&0o111 != 0 {
			mode = 0o755
		}
		files[filepath.ToSlash(rel)] = &fstest.MapFile{Data: data, Mode: mode}
		return nil
	})
	return files, err
}

func hasDir(files fstest.MapFS, dir string) bool {
	for p := range files {
		if strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return false
}
