package images

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
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
	Wrap     Wrapper
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
}

func (b GoBuild) key(goVersion string) string {
	inputs := []string{"go", goVersion, b.Module, b.Version, strings.Join(b.Packages, ","), strings.Join(b.LDFlags, " ")}
	inputs = append(inputs, "wrap", b.Wrap.StagingFrom, b.Wrap.MainName, b.Wrap.MainSource)
	return Key(inputs...)
}

// Binaries builds (or finds in the cache) the binaries of b and returns the
// folder that holds them.
func (f *Factory) Binaries(ctx context.Context, b GoBuild) (string, error) {
	goVersion, err := gomod.GoVersion(ctx)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(f.cacheDir, "bin", strings.ReplaceAll(b.Module, "/", "_")+"@"+b.Version+"-"+b.key(goVersion))
	if exists(filepath.Join(dir, ".done")) {
		return dir, nil
	}
	if err := f.checkDisk(); err != nil {
		return "", err
	}
	start := time.Now()
	f.log.Infof("building %s@%s (%s) with %s", b.Module, b.Version, strings.Join(b.names(), ", "), goVersion)
	tmp, err := f.tempDir("gobuild")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	if err := f.goBuildWrapped(ctx, b, tmp, out); err != nil {
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
	f.log.Infof("built %s@%s in %s", b.Module, b.Version, time.Since(start).Round(time.Second))
	return dir, nil
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
	return []string{"-trimpath", "-ldflags=-s -w " + strings.Join(b.LDFlags, " ")}
}

// staticEnv gives static binaries that run on scratch images.
var staticEnv = []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=-buildvcs=false"}

func (f *Factory) goBuildWrapped(ctx context.Context, b GoBuild, tmp, out string) error {
	wdir := filepath.Join(tmp, "wrapper")
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
		if err := os.WriteFile(filepath.Join(wdir, "main.go"), []byte(b.Wrap.MainSource), 0o644); err != nil {
			return err
		}
		// The wrapper's own main imports the upstream: tidy resolves its graph.
		if err := f.run(ctx, wdir, staticEnv, "go", "mod", "tidy"); err != nil {
			return err
		}
		args := append(append([]string{"build"}, b.flags()...), "-o", filepath.Join(out, b.Wrap.MainName), ".")
		if err := f.run(ctx, wdir, staticEnv, "go", args...); err != nil {
			return err
		}
	}
	if len(b.Packages) > 0 {
		// -mod=mod records the go.sum lines of the upstream's graph as it loads.
		args := append(append([]string{"build", "-mod=mod"}, b.flags()...), "-o", out+"/")
		args = append(args, b.Packages...)
		if err := f.run(ctx, wdir, staticEnv, "go", args...); err != nil {
			return err
		}
	}
	return nil
}

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
	if err := out.AddModuleStmt("cachebench.local/build/" + path.Base(b.Module)); err != nil {
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
