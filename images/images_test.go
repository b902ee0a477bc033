package images

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/mod/modfile"

	"github.com/cachebench/cachebench/internal/gitd"
	"github.com/cachebench/cachebench/versions"
)

func TestKey(t *testing.T) {
	a := Key("kaniko", "v1.24.0")
	if a != Key("kaniko", "v1.24.0") {
		t.Fatal("Key is not deterministic")
	}
	for _, other := range [][]string{{"kaniko", "v1.24.1"}, {"kanikov1.24.0"}, {"kaniko\nv1.24.0"}} {
		if Key(other...) == a {
			t.Errorf("Key(%q) collides with Key(kaniko, v1.24.0)", other)
		}
	}
	if len(a) != 16 {
		t.Errorf("key %q: want 16 hex digits", a)
	}
}

func TestStagingModules(t *testing.T) {
	mf, err := modfile.Parse("go.mod", []byte(`module k8s.io/kubernetes
go 1.24.0
require k8s.io/api v0.0.0
replace (
	k8s.io/client-go => ./staging/src/k8s.io/client-go
	k8s.io/api => ./staging/src/k8s.io/api
	example.com/other => example.com/other v1.2.3
)
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := stagingModules(mf); !reflect.DeepEqual(got, []string{"k8s.io/api", "k8s.io/client-go"}) {
		t.Fatalf("staging modules = %v", got)
	}
}

func TestKubernetesBuildStampsVersions(t *testing.T) {
	b := kubernetesBuild("v1.34.1")
	ld := strings.Join(b.LDFlags, " ")
	for _, want := range []string{
		"k8s.io/component-base/version.gitVersion=v1.34.1", "k8s.io/client-go/pkg/version.gitVersion=v1.34.1",
		"version.gitMajor=1", "version.gitMinor=34",
	} {
		if !strings.Contains(ld, want) {
			t.Errorf("ldflags lack %s", want)
		}
	}
	if b.Wrap.StagingFrom != "v0.34.1" {
		t.Errorf("staging modules from %q, want v0.34.1", b.Wrap.StagingFrom)
	}
}

func layerDigest(t *testing.T, f *Factory, files []File) string {
	t.Helper()
	l, err := f.writeLayer(filepath.Join(t.TempDir(), "l.tar.gz"), files)
	if err != nil {
		t.Fatal(err)
	}
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func TestWriteLayerIsReproducible(t *testing.T) {
	f, err := NewFactory(WithCacheDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "bin"), 0o755)
	os.WriteFile(filepath.Join(src, "bin", "go"), []byte("binary"), 0o444)
	os.WriteFile(filepath.Join(src, "README"), []byte("text"), 0o444)
	files := []File{
		{Path: "/usr/local/go", Src: src, Exec: []string{"bin/*"}},
		{Path: "/etc/passwd", Data: []byte("root:x:0:0::/root:/bin/sh\n")},
		{Path: "/sbin/tini", Link: "/usr/bin/tini"},
		{Path: "/tmp", Dir: true, Mode: 0o1777},
	}
	a := layerDigest(t, f, files)
	reversed := []File{files[3], files[2], files[1], files[0]}
	if b := layerDigest(t, f, reversed); a != b {
		t.Fatalf("same files, different digests: %s %s", a, b)
	}
	// Inspect the entries.
	path := filepath.Join(t.TempDir(), "l.tar.gz")
	if _, err := f.writeLayer(path, files); err != nil {
		t.Fatal(err)
	}
	modes := map[string]int64{}
	fh, _ := os.Open(path)
	defer fh.Close()
	gz, _ := gzip.NewReader(fh)
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		modes[h.Name] = h.Mode
	}
	want := map[string]int64{
		"usr/local/go/bin/go": 0o755, // made executable by Exec
		"usr/local/go/README": 0o644, // read-only in the module cache, plain file in the image
		"etc/passwd":          0o644,
		"tmp/":                0o1777,
		"usr/":                0o755, // parents are added
	}
	for name, mode := range want {
		if got, ok := modes[name]; !ok || got != mode {
			t.Errorf("%s: mode %o (present %v), want %o", name, got, ok, mode)
		}
	}
}

func TestWriteLayerRejectsRelativePaths(t *testing.T) {
	f, _ := NewFactory(WithCacheDir(t.TempDir()))
	if _, err := f.writeLayer(filepath.Join(t.TempDir(), "l"), []File{{Path: "etc/x"}}); err == nil {
		t.Fatal("want an error for a relative path")
	}
}

func TestCatalogIsComplete(t *testing.T) {
	c := NewCatalog(versions.Kubernetes)
	for _, cmd := range tektonCommands {
		if c.TektonImages[cmd] == "" {
			t.Errorf("no image for Tekton's %s", cmd)
		}
	}
	want := []string{
		"registry.k8s.io/kube-apiserver:v1.34.1", "registry.k8s.io/kube-controller-manager:v1.34.1",
		"registry.k8s.io/kube-scheduler:v1.34.1", "registry.k8s.io/kube-proxy:v1.34.1",
		"registry.k8s.io/etcd:3.6.4-0", "registry.k8s.io/coredns/coredns:v1.12.1",
		"registry.k8s.io/pause:3.10.1", "registry.k8s.io/pause:3.10",
	}
	have := map[string]bool{}
	for _, s := range c.ControlPlane {
		for _, r := range s.Refs {
			have[r] = true
		}
	}
	for _, r := range want {
		if !have[r] {
			t.Errorf("control plane lacks %s (kubeadm v1.34.1 expects it)", r)
		}
	}
	names := map[string]bool{}
	for _, group := range c.groups() {
		for _, s := range group {
			if names[s.Name] {
				t.Errorf("two specs named %s: their archives would collide", s.Name)
			}
			names[s.Name] = true
			if len(s.Config.Entrypoint) == 0 && len(s.Config.Cmd) == 0 && s.Rootfs == nil {
				t.Errorf("%s: an image from scratch needs an entrypoint", s.Name)
			}
		}
	}
	for _, logical := range []string{"debian", "golang"} {
		if _, ok := BaseRepo(logical); !ok {
			t.Errorf("no in-cluster repository for base %s", logical)
		}
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{"auto": Auto, "Online": Online, " offline ": Offline} {
		if got, err := ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseMode("cloud"); err == nil {
		t.Error("want an error for an unknown mode")
	}
}

func TestHashTree(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a"), []byte("1"), 0o644)
	h1, err := hashTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "a"), []byte("2"), 0o644)
	h2, _ := hashTree(dir)
	if h1 == h2 || len(h1) != 2*sha256.Size {
		t.Fatalf("hashTree did not see the change: %s %s", h1, h2)
	}
}

func TestWrapperGoMod(t *testing.T) {
	upstream, err := modfile.Parse("go.mod", []byte("module k8s.io/kubernetes\n\ngo 1.24.0\n\nrequire k8s.io/api v0.0.0\n\nreplace (\n\tk8s.io/api => ./staging/src/k8s.io/api\n\tk8s.io/apimachinery => ./staging/src/k8s.io/apimachinery\n\tgithub.com/x/y => github.com/x/y v1.0.0\n)\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := wrapperGoModFor(upstream, GoBuild{Module: "k8s.io/kubernetes", Version: "v1.34.1", Wrap: Wrapper{StagingFrom: "v0.34.1"}})
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.Parse("go.mod", []byte(got), nil)
	if err != nil {
		t.Fatalf("the wrapper's go.mod does not parse: %v\n%s", err, got)
	}
	if mf.Module.Mod.Path != "cachebench.local/build/kubernetes" || mf.Go.Version != "1.24.0" ||
		len(mf.Require) != 1 || mf.Require[0].Mod.String() != "k8s.io/kubernetes@v1.34.1" {
		t.Errorf("wrapper go.mod:\n%s", got)
	}
	var replaced []string
	for _, r := range mf.Replace {
		replaced = append(replaced, r.Old.Path+"=>"+r.New.String())
	}
	if strings.Join(replaced, " ") != "k8s.io/api=>k8s.io/api@v0.34.1 k8s.io/apimachinery=>k8s.io/apimachinery@v0.34.1" {
		t.Errorf("replaces: %v", replaced)
	}
	plain, err := wrapperGoModFor(upstream, GoBuild{Module: "github.com/tektoncd/pipeline", Version: "v1.15.0"})
	if err != nil || strings.Contains(plain, "replace") {
		t.Errorf("a wrapper without staging has no replaces: %v\n%s", err, plain)
	}
}

func TestGoBuildKey(t *testing.T) {
	base := GoBuild{Module: "example.com/m", Version: "v1.0.0", Packages: []string{"example.com/m/cmd/a"}}
	withTags := base
	withTags.Tags = []string{"netgo"}
	inModule := base
	inModule.InModule = true
	both := inModule
	both.Tags = []string{"netgo"}
	keys := map[string]string{}
	for name, b := range map[string]GoBuild{"base": base, "tags": withTags, "in-module": inModule, "both": both} {
		k := b.key("go1.26.8")
		if other, ok := keys[k]; ok {
			t.Errorf("%s and %s share key %s", name, other, k)
		}
		keys[k] = name
	}
	// Builds without the newer fields keep the key they had before them, so
	// that their cached binaries are still found.
	old := Key("go", "go1.26.8", base.Module, base.Version, "example.com/m/cmd/a", "", "wrap", "", "", "")
	if got := base.key("go1.26.8"); got != old {
		t.Errorf("key of a plain build changed: %s, was %s", got, old)
	}
}

func TestGoBuildCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    GoBuild
		ok   bool
	}{
		{"wrapper", GoBuild{Module: "m", Packages: []string{"m/cmd/a"}}, true},
		{"in module", GoBuild{Module: "m", Packages: []string{"m/cmd/a"}, InModule: true}, true},
		{"in module with a wrapper main", GoBuild{Module: "m", InModule: true, Wrap: Wrapper{MainName: "a", MainSource: "package main"}}, false},
		{"in module with staging", GoBuild{Module: "m", Packages: []string{"m/cmd/a"}, InModule: true, Wrap: Wrapper{StagingFrom: "v0.1.0"}}, false},
		{"in module without packages", GoBuild{Module: "m", InModule: true}, false},
	} {
		if err := tc.b.check(); (err == nil) != tc.ok {
			t.Errorf("%s: check() = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

func TestCopyTreeWritable(t *testing.T) {
	src := filepath.Join(t.TempDir(), "mod")
	os.MkdirAll(filepath.Join(src, "cmd", "a"), 0o755)
	os.WriteFile(filepath.Join(src, "go.mod"), []byte("module m\n"), 0o444)
	os.WriteFile(filepath.Join(src, "cmd", "a", "run.sh"), []byte("#!/bin/sh\n"), 0o555)
	os.Chmod(filepath.Join(src, "cmd", "a"), 0o555)
	os.Chmod(filepath.Join(src, "cmd"), 0o555)
	t.Cleanup(func() { filepath.Walk(src, func(p string, _ os.FileInfo, _ error) error { return os.Chmod(p, 0o755) }) })
	dst := filepath.Join(t.TempDir(), "copy")
	if err := copyTreeWritable(src, dst); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{"go.mod": 0o644, "cmd/a/run.sh": 0o755, "cmd/a": 0o755 | os.ModeDir} {
		fi, err := os.Stat(filepath.Join(dst, p))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
	}
	// The go command rewrites go.mod and go.sum in the copy.
	if err := os.WriteFile(filepath.Join(dst, "go.sum"), []byte("x"), 0o644); err != nil {
		t.Errorf("copy is not writable: %v", err)
	}
	// Into a folder that holds a file of the tree: refused, nothing overwritten.
	if err := copyTreeWritable(src, dst); !errors.Is(err, fs.ErrExist) {
		t.Errorf("copy over a copy: %v, want an error that the file exists", err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// testBuilderImages stand in for the builders' images (builders/<name>
// has the real ones): one with an official image, one without.
func testBuilderImages() []BuilderImage {
	return []BuilderImage{
		{Role: "official", Official: "docker.io/example/builder:v1", Spec: Spec{Name: "official", Refs: []string{Ref("official", "v1")}, Rootfs: &debianRootfs}},
		{Role: "local", Spec: Spec{Name: "local", Refs: []string{Ref("local", "v1")}, Static: true}},
	}
}

// Online, a builder image with an official image runs it; one without is
// built here, like git and the package cache.
func TestOnlinePlan(t *testing.T) {
	c := NewCatalog(versions.Kubernetes, testBuilderImages()...)
	specs, refs := c.onlinePlan()
	var names []string
	for _, s := range specs {
		names = append(names, s.Name)
	}
	wantRefs := map[string]string{"official": "docker.io/example/builder:v1", "local": "cachebench.local/local:v1"}
	if want := []string{"git", "package-cache", "local"}; !reflect.DeepEqual(names, want) || !reflect.DeepEqual(refs, wantRefs) {
		t.Errorf("builds %v, refs %v; want %v, %v", names, refs, want, wantRefs)
	}
	for _, s := range specs {
		// Online means no root and no Debian mirror: no root filesystem.
		if s.Rootfs != nil {
			t.Errorf("online image %s needs the Debian root filesystem %s (mmdebstrap, root)", s.Name, s.Rootfs.Name)
		}
	}
	if _, refs := offlineBuilders(c.BuilderImages); !reflect.DeepEqual(refs, map[string]string{"official": "cachebench.local/official:v1", "local": "cachebench.local/local:v1"}) {
		t.Errorf("offline refs %v", refs)
	}
	// The builder images are not part of what every run loads.
	for _, s := range c.Cluster {
		if s.Name == "official" || s.Name == "local" {
			t.Errorf("%s is in Cluster: it would be built for every builder", s.Name)
		}
	}
}

func TestCheckBuilderImages(t *testing.T) {
	imgs := testBuilderImages()
	if err := checkBuilderImages(imgs); err != nil {
		t.Fatal(err)
	}
	twice := append(imgs, imgs[0])
	if err := checkBuilderImages(twice); err == nil || !strings.Contains(err.Error(), `"official"`) {
		t.Errorf("two images with one role: %v", err)
	}
	if err := checkBuilderImages([]BuilderImage{{Role: "x"}}); err == nil || !strings.Contains(err.Error(), "no reference") {
		t.Errorf("an image without a reference: %v", err)
	}
}

// The package cache is compiled from cachebench's embedded copy of its
// source, as a module of its own: it must build there, with nothing else.
func TestPackageCacheCompiles(t *testing.T) {
	f, err := NewFactory(WithCacheDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	bin, err := f.packageCacheBinary(context.Background(), tmp)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(bin)
	if err != nil || st.Size() == 0 {
		t.Fatalf("no binary at %s: %v", bin, err)
	}
	out, err := exec.Command(bin, "-help").CombinedOutput()
	if !strings.Contains(string(out), "-go-upstream") {
		t.Errorf("%s -help: %v\n%s", bin, err, out)
	}
}

// The git server is compiled from cachebench's embedded copy of its source
// (internal/gitd) in a wrapper module that requires go-git at the
// pinned version: it must build there, and run.
func TestGitServerCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("resolves go-git's own module graph through the module proxy (make images compiles it too)")
	}
	f, err := NewFactory(WithCacheDir(t.TempDir()), WithMinFreeGiB(0))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := f.Binaries(context.Background(), gitServerBuild())
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, path.Base(gitd.Binary))
	out, err := exec.Command(bin).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "clone URL BRANCH DIR COMMIT-FILE") {
		t.Errorf("%s with no command should print its usage and fail: %v\n%s", bin, err, out)
	}
}

// TestGoGitVersionAgrees: the git server's image is built with the go-git
// this module's tests run gitd with.
func TestGoGitVersionAgrees(t *testing.T) {
	data, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range mf.Require {
		if r.Mod.Path == "github.com/go-git/go-git/v5" {
			if r.Mod.Version != versions.GoGit {
				t.Errorf("go.mod requires go-git %s, versions.GoGit is %s: make them agree", r.Mod.Version, versions.GoGit)
			}
			return
		}
	}
	t.Error("go.mod does not require go-git")
}

// TestStaticImagesNeedNoDebian: an image of static binaries is assembled
// with no Debian mirror and no mmdebstrap (its CA bundle comes from a Go
// module), as an online user without root builds the harness's own images.
func TestStaticImagesNeedNoDebian(t *testing.T) {
	f, err := NewFactory(WithCacheDir(t.TempDir()), WithMinFreeGiB(0), WithDebianMirror("http://127.0.0.1:9/debian"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.Build(context.Background(), Spec{Name: "static", Refs: []string{Ref("static", "v1")}, Static: true, Files: []File{{Path: "/hello", Data: []byte("hi\n")}}})
	if err != nil {
		t.Fatalf("a static image needed more than Go: %v", err)
	}
	img, err := tarball.ImageFromPath(a.Path, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	layers, _ := img.Layers()
	for _, l := range layers {
		rc, _ := l.Uncompressed()
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			if h.Name == "etc/ssl/certs/ca-certificates.crt" && h.Size > 100000 {
				found = true
			}
		}
		rc.Close()
	}
	if !found {
		t.Error("the static image has no CA bundle")
	}
}
