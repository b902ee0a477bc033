package images

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"

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
	for _, group := range [][]Spec{c.ControlPlane, c.Cluster, c.Bases} {
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
