package images

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/modfile"

	"github.com/cachebench/cachebench/internal/gomod"
)

// GoBuild is a set of static binaries built from one upstream Go module at a
// pinned version. Each upstream is built against its own requirements, as the
// only dependency of a tiny main module: mixing upstreams in one build list
// raised shared dependencies (OpenTelemetry) to versions Tekton then refused
// at start. ("go install pkg@version" would do the same, but it asks the proxy
// for the module's version list, which the proxy here refuses for some.)
type GoBuild struct {
	Module   string
	Version  string
	Packages []string // main packages (import paths); binaries are named after the last element
	LDFlags  []string
	Tags     []string // build tags
	Wrap     Wrapper
	// InModule builds inside a writable copy of the module's own directory,
	// the module itself being the main module, instead of as a dependency of
	// a wrapper: its go.mod's exclude and replace directives then apply (Go
	// ignores them in dependencies), so the build list is upstream's own.
	// BuildKit's go.mod excludes versions a wrapper would select.
	InModule bool
}

// Wrapper describes what the tiny main module adds, when anything.
type Wrapper struct {
	// StagingFrom, when set, turns the module's "replace X => ./staging/..."
	// lines into "replace X => X <StagingFrom>" (Kubernetes' staging modules
	// are published as their own modules at v0.<minor>.<patch>).
	StagingFrom string
	// MainName and MainSource give the wrapper its own main package, for
	// upstreams whose binary lives in a module we cannot build as is (etcd's
	// server module replaces its siblings with ../ paths).
	MainName   string
	MainSource string
	// Files are more files of the wrapper module (its path -> content): a
	// package of cachebench's own that MainSource imports under the
	// wrapper's module path (GoBuild.wrapperModule).
	Files map[string]string
}

func (b GoBuild) key(goVersion string) string {
	inputs := []string{"go", goVersion, b.Module, b.Version, strings.Join(b.Packages, ","), strings.Join(b.LDFlags, " ")}
	inputs = append(inputs, "wrap", b.Wrap.StagingFrom, b.Wrap.MainName, b.Wrap.MainSource)
	// Appended only when set, so that the keys of the builds that existed
	// before these fields (and their cached binaries) stay as they were.
	if len(b.Tags) > 0 {
		inputs = append(inputs, "tags", strings.Join(b.Tags, ","))
	}
	if b.InModule {
		inputs = append(inputs, "in-module")
	}
	for _, p := range slices.Sorted(maps.Keys(b.Wrap.Files)) {
		inputs = append(inputs, "file", p, b.Wrap.Files[p])
	}
	return Key(inputs...)
}

// Binaries builds (or finds in the cache) the binaries of b and returns the
// folder that holds them: once, however many images ask at the same time.
// The module download holds a network slot, the compile a CPU slot.
func (f *Factory) Binaries(ctx context.Context, b GoBuild) (string, error) {
	if err := b.check(); err != nil {
		return "", err
	}
	goVersion, err := gomod.GoVersion(ctx)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(f.cacheDir, "bin", strings.ReplaceAll(b.Module, "/", "_")+"@"+b.Version+"-"+b.key(goVersion))
	step := "go " + b.Module + "@" + b.Version
	return f.sched.once(ctx, dir, func() (string, error) {
		if exists(filepath.Join(dir, ".done")) {
			f.sched.record(Timing{Step: step, Kind: "go", Cached: true, Bytes: treeSize(dir)})
			return dir, nil
		}
		if err := f.checkDisk(); err != nil {
			return "", err
		}
		tmp, err := f.tempDir("gobuild")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(tmp)
		out := filepath.Join(tmp, "out")
		if err := os.MkdirAll(out, 0o755); err != nil {
			return "", err
		}
		t := Timing{Step: step, Kind: "go"}
		wdir := filepath.Join(tmp, "wrapper")
		if b.InModule {
			wdir = filepath.Join(tmp, "module")
		}
		var took time.Duration
		waited, err := f.sched.with(ctx, Network, step+" (download)", func() error {
			start := time.Now()
			f.log.Infof("downloading the modules of %s@%s", b.Module, b.Version)
			err := f.goDownload(ctx, b, wdir)
			took = time.Since(start)
			return err
		})
		t.WaitSeconds, t.DownloadSeconds = waited.Seconds(), took.Seconds()
		if err != nil {
			return "", fmt.Errorf("build %s@%s: %w", b.Module, b.Version, err)
		}
		waited, err = f.sched.with(ctx, CPU, step+" (compile)", func() error {
			start := time.Now()
			f.log.Infof("compiling %s@%s (%s) with %s", b.Module, b.Version, strings.Join(b.names(), ", "), goVersion)
			err := f.goCompile(ctx, b, wdir, out)
			took = time.Since(start)
			return err
		})
		t.WaitSeconds += waited.Seconds()
		t.BuildSeconds = took.Seconds()
		if err != nil {
			return "", fmt.Errorf("build %s@%s: %w", b.Module, b.Version, err)
		}
		for _, n := range b.names() {
			if !exists(filepath.Join(out, n)) {
				return "", fmt.Errorf("build %s@%s: binary %s was not produced", b.Module, b.Version, n)
			}
		}
		if err := os.WriteFile(filepath.Join(out, ".done"), nil, 0o644); err != nil {
			return "", err
		}
		os.RemoveAll(dir)
		if err := os.Rename(out, dir); err != nil {
			return "", err
		}
		t.Bytes = treeSize(dir)
		f.sched.record(t)
		f.log.Infof("built %s@%s: modules in %s, compile in %s", b.Module, b.Version, dur(t.DownloadSeconds), dur(t.BuildSeconds))
		return dir, nil
	})
}

func (b GoBuild) names() []string {
	var n []string
	for _, p := range b.Packages {
		n = append(n, path.Base(p))
	}
	if b.Wrap.MainName != "" {
		n = append(n, b.Wrap.MainName)
	}
	return n
}

func (b GoBuild) flags() []string {
	fl := []string{"-trimpath", "-ldflags=-s -w " + strings.Join(b.LDFlags, " ")}
	if len(b.Tags) > 0 {
		fl = append(fl, "-tags="+strings.Join(b.Tags, ","))
	}
	return fl
}

// check refuses combinations that mean nothing.
func (b GoBuild) check() error {
	if b.InModule && (b.Wrap.StagingFrom != "" || b.Wrap.MainName != "" || b.Wrap.MainSource != "" || len(b.Wrap.Files) > 0) {
		return fmt.Errorf("build %s@%s: a build inside the module has no wrapper module", b.Module, b.Version)
	}
	if b.InModule && len(b.Packages) == 0 {
		return fmt.Errorf("build %s@%s: a build inside the module needs packages", b.Module, b.Version)
	}
	return nil
}

// staticEnv gives static binaries that run on scratch images. GOWORK=off:
// a go.work above the cache folder must not pull in other modules.
var staticEnv = []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=-buildvcs=false", "GOWORK=off"}

// goDownload writes the wrapper module and fetches every module its build
// needs (recording their checksums), so that the compile needs no network.
func (f *Factory) goDownload(ctx context.Context, b GoBuild, wdir string) error {
	if b.InModule {
		return f.goDownloadInModule(ctx, b, wdir)
	}
	if err := os.MkdirAll(wdir, 0o755); err != nil {
		return err
	}
	gomodText, err := wrapperGoMod(ctx, b)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(wdir, "go.mod"), []byte(gomodText), 0o644); err != nil {
		return err
	}
	if b.Wrap.MainSource != "" {
		files := maps.Clone(b.Wrap.Files)
		if files == nil {
			files = map[string]string{}
		}
		files["main.go"] = b.Wrap.MainSource
		for p, data := range files {
			dst := filepath.Join(wdir, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(dst, []byte(data), 0o644); err != nil {
				return err
			}
		}
		// The wrapper's own main imports the upstream: tidy resolves its graph.
		if err := f.run(ctx, wdir, staticEnv, "go", "mod", "tidy"); err != nil {
			return err
		}
	}
	if len(b.Packages) > 0 {
		// Loading the packages' imports downloads exactly the modules the
		// build needs; -mod=mod records their go.sum lines.
		args := append(append([]string{"list", "-mod=mod", "-deps", "-f", "{{.ImportPath}}"}, b.tagArgs()...), b.Packages...)
		if err := f.run(ctx, wdir, staticEnv, "go", args...); err != nil {
			return err
		}
	}
	return nil
}

// goDownloadInModule copies the module's directory out of the (read-only)
// module cache into wdir, writable, and fetches what its packages need.
func (f *Factory) goDownloadInModule(ctx context.Context, b GoBuild, wdir string) error {
	src, err := gomod.Download(ctx, b.Module, b.Version)
	if err != nil {
		return err
	}
	if err := copyTreeWritable(src, wdir); err != nil {
		return fmt.Errorf("copy %s@%s out of the module cache: %w", b.Module, b.Version, err)
	}
	args := append([]string{"list", "-mod=mod", "-deps", "-f", "{{.ImportPath}}"}, b.tagArgs()...)
	return f.run(ctx, wdir, staticEnv, "go", append(args, b.Packages...)...)
}

// tagArgs are the build tags for go list, which must see the files the
// build compiles.
func (b GoBuild) tagArgs() []string {
	if len(b.Tags) == 0 {
		return nil
	}
	return []string{"-tags=" + strings.Join(b.Tags, ",")}
}

// copyTreeWritable copies the files and folders under src to dst: the copies
// are writable (os.CopyFS makes files 0o666 plus the source's executable
// bits, before the umask), where the module cache's are read-only. It
// overwrites no file.
func copyTreeWritable(src, dst string) error {
	return os.CopyFS(dst, os.DirFS(src))
}

// goCompile builds the binaries of the wrapper module (or the module copy)
// goDownload prepared.
func (f *Factory) goCompile(ctx context.Context, b GoBuild, wdir, out string) error {
	if b.Wrap.MainSource != "" {
		args := append(append([]string{"build"}, b.flags()...), "-o", filepath.Join(out, b.Wrap.MainName), ".")
		if err := f.run(ctx, wdir, staticEnv, "go", args...); err != nil {
			return err
		}
	}
	if len(b.Packages) > 0 {
		args := append(append([]string{"build", "-mod=mod"}, b.flags()...), "-o", out+"/")
		args = append(args, b.Packages...)
		if err := f.run(ctx, wdir, staticEnv, "go", args...); err != nil {
			return err
		}
	}
	return nil
}

// wrapperModule is the module path of the wrapper module.
func (b GoBuild) wrapperModule() string { return "cachebench.local/build/" + path.Base(b.Module) }

// wrapperGoMod writes the go.mod of a wrapper module: the upstream's go
// directive, the upstream as its one requirement, and staging replaces.
func wrapperGoMod(ctx context.Context, b GoBuild) (string, error) {
	dir, err := gomod.Download(ctx, b.Module, b.Version)
	if err != nil {
		return "", err
	}
	raw, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "", err
	}
	mf, err := modfile.Parse("go.mod", raw, nil)
	if err != nil {
		return "", fmt.Errorf("read %s@%s go.mod: %w", b.Module, b.Version, err)
	}
	return wrapperGoModFor(mf, b)
}

// wrapperGoModFor writes the wrapper's go.mod from the upstream's.
func wrapperGoModFor(mf *modfile.File, b GoBuild) (string, error) {
	goLine := "1.24"
	if mf.Go != nil {
		goLine = mf.Go.Version
	}
	out := &modfile.File{Syntax: &modfile.FileSyntax{}}
	if err := out.AddModuleStmt(b.wrapperModule()); err != nil {
		return "", err
	}
	if err := out.AddGoStmt(goLine); err != nil {
		return "", err
	}
	out.AddNewRequire(b.Module, b.Version, false)
	if b.Wrap.StagingFrom != "" {
		staged := stagingModules(mf)
		if len(staged) == 0 {
			return "", fmt.Errorf("%s@%s go.mod replaces no ./staging modules", b.Module, b.Version)
		}
		for _, m := range staged {
			if err := out.AddReplace(m, "", m, b.Wrap.StagingFrom); err != nil {
				return "", err
			}
		}
	}
	data, err := out.Format()
	if err != nil {
		return "", fmt.Errorf("write go.mod for %s@%s: %w", b.Module, b.Version, err)
	}
	return string(data), nil
}

// stagingModules lists the modules a go.mod replaces with ./staging folders.
func stagingModules(mf *modfile.File) []string {
	var mods []string
	for _, r := range mf.Replace {
		if strings.HasPrefix(r.New.Path, "./staging/") {
			mods = append(mods, r.Old.Path)
		}
	}
	sort.Strings(mods)
	return mods
}
