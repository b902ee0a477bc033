package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	stdlog "log"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"sigs.k8s.io/yaml"
)

func TestDockerConfigJSON(t *testing.T) {
	r := &Registry{Host: "registry.cachebench.svc.cluster.local:5000", User: "cachebench", Password: "s3cret"}
	raw, err := r.DockerConfigJSON()
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Auths map[string]struct{ Username, Password, Auth string } `json:"auths"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	a, ok := cfg.Auths[r.Host]
	if !ok {
		t.Fatalf("no entry for %s: %s", r.Host, raw)
	}
	dec, _ := base64.StdEncoding.DecodeString(a.Auth)
	if string(dec) != "cachebench:s3cret" || a.Username != "cachebench" {
		t.Fatalf("auth = %q", dec)
	}
	if r.Ref("base/debian:bookworm") != r.Host+"/base/debian:bookworm" {
		t.Fatal(r.Ref("base/debian:bookworm"))
	}
}

func TestConfigPerRole(t *testing.T) {
	for _, tt := range []struct {
		role      Role
		want, not []string
	}{
		{Upstream, []string{"accesslog:\n    disabled: false"}, []string{"auth:", "proxy:"}},
		{Cache, []string{"htpasswd:", "path: /auth/htpasswd"}, []string{"proxy:"}},
		{Mirror, []string{"proxy:\n  remoteurl: http://upstream.ns.svc.cluster.local:5000\n"}, []string{"auth:"}},
	} {
		c := config(tt.role, "http://upstream.ns.svc.cluster.local:5000")
		for _, w := range tt.want {
			if !strings.Contains(c, w) {
				t.Errorf("%s: config lacks %q:\n%s", tt.role, w, c)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(c, n) {
				t.Errorf("%s: config has %q:\n%s", tt.role, n, c)
			}
		}
	}
	ro := readOnlyConfig()
	for _, w := range []string{"readonly:\n      enabled: true", fmt.Sprintf("addr: :%d\n", ReadOnlyPort)} {
		if !strings.Contains(ro, w) {
			t.Errorf("read-only front: config lacks %q:\n%s", w, ro)
		}
	}
	if strings.Contains(ro, "delete:") {
		t.Errorf("read-only front: config enables deletes:\n%s", ro)
	}
	// Each is a configuration distribution can read: YAML with its version.
	for name, c := range map[string]string{"upstream": config(Upstream, ""), "cache": config(Cache, ""), "mirror": config(Mirror, "http://u:5000"), "read-only": ro} {
		var v struct {
			Version string         `json:"version"`
			Storage map[string]any `json:"storage"`
			HTTP    struct {
				Addr string `json:"addr"`
			} `json:"http"`
		}
		if err := yaml.Unmarshal([]byte(c), &v); err != nil || v.Version != "0.1" || v.HTTP.Addr == "" || v.Storage["filesystem"] == nil {
			t.Errorf("%s: config does not read as distribution's (%v):\n%s", name, err, c)
		}
	}
	if Cache.Name() != "registry" || Upstream.Name() != "upstream" || Mirror.Name() != "mirror" {
		t.Error("role names are the Services pods reach the registries by")
	}
}

// TestCopyAndRelabel: a copy keeps the digest; a relabelled image gets a
// new digest under the same tag, with the same layers and the label.
func TestCopyAndRelabel(t *testing.T) {
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(stdlog.New(io.Discard, "", 0))))
	defer srv.Close()
	s := &Session{host: strings.TrimPrefix(srv.URL, "http://"), auth: authn.Anonymous, stop: func() {}}
	ctx := context.Background()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Push(ctx, "base/debian:bookworm", img); err != nil {
		t.Fatal(err)
	}
	if err := s.Copy(ctx, "base/debian:bookworm", "rounds/r1/base/debian:bookworm"); err != nil {
		t.Fatal(err)
	}
	orig, _ := img.Digest()
	copied, err := s.Image(ctx, "rounds/r1/base/debian:bookworm")
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := copied.Digest(); d != orig {
		t.Errorf("copy has digest %s, want %s", d, orig)
	}
	digest, err := s.Relabel(ctx, "rounds/r1/base/debian:bookworm", "cachebench.change", "run-7")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Image(ctx, "rounds/r1/base/debian:bookworm")
	if err != nil {
		t.Fatal(err)
	}
	d, _ := got.Digest()
	if d.String() != digest || d == orig {
		t.Errorf("relabelled digest %s (returned %s), original %s", d, digest, orig)
	}
	cf, _ := got.ConfigFile()
	if cf.Config.Labels["cachebench.change"] != "run-7" {
		t.Errorf("labels %v", cf.Config.Labels)
	}
	a, _ := img.Layers()
	b, _ := got.Layers()
	for i := range a {
		da, _ := a[i].Digest()
		db, _ := b[i].Digest()
		if da != db {
			t.Errorf("layer %d changed: %s to %s", i, da, db)
		}
	}
	// The source is untouched.
	if src, err := s.Image(ctx, "base/debian:bookworm"); err != nil {
		t.Fatal(err)
	} else if d, _ := src.Digest(); d != orig {
		t.Errorf("the source moved to %s", d)
	}

	// A copy with environment variables: a new digest, the same layers,
	// the variables in its configuration, the source untouched.
	digest, err = s.CopyWithEnv(ctx, "base/debian:bookworm", "proxied/base/debian:bookworm", []string{"GOPROXY=http://packages/_go", "no_proxy=packages"})
	if err != nil {
		t.Fatal(err)
	}
	withEnv, err := s.Image(ctx, "proxied/base/debian:bookworm")
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := withEnv.Digest(); d.String() != digest || d == orig {
		t.Errorf("copy with env: digest %s (returned %s), original %s", d, digest, orig)
	}
	cf, _ = withEnv.ConfigFile()
	if env := strings.Join(cf.Config.Env, " "); !strings.Contains(env, "GOPROXY=http://packages/_go") || !strings.Contains(env, "no_proxy=packages") {
		t.Errorf("copy with env: env %q", cf.Config.Env)
	}
	c, _ := withEnv.Layers()
	if len(c) != len(a) {
		t.Fatalf("copy with env: %d layers, want %d", len(c), len(a))
	}
	for i := range a {
		da, _ := a[i].Digest()
		dc, _ := c[i].Digest()
		if da != dc {
			t.Errorf("copy with env: layer %d changed: %s to %s", i, da, dc)
		}
	}
	if src, _ := s.Image(ctx, "base/debian:bookworm"); src != nil {
		if d, _ := src.Digest(); d != orig {
			t.Errorf("copy with env moved the source to %s", d)
		}
	}
}

func TestMergeEnv(t *testing.T) {
	tests := []struct {
		env, add, want []string
	}{
		{nil, []string{"A=1"}, []string{"A=1"}},
		{[]string{"PATH=/bin", "A=0"}, []string{"A=1", "B=2"}, []string{"PATH=/bin", "A=1", "B=2"}},
		{[]string{"AB=0"}, []string{"A=1"}, []string{"AB=0", "A=1"}},
	}
	for _, tt := range tests {
		if got := MergeEnv(tt.env, tt.add); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("MergeEnv(%q, %q) = %q, want %q", tt.env, tt.add, got, tt.want)
		}
	}
}

// TestRepoSize: a repository's size counts each blob once, however many
// tags reach it, and follows an index to its manifests and to the layers
// a BuildKit cache index lists.
func TestRepoSize(t *testing.T) {
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(stdlog.New(io.Discard, "", 0))))
	defer srv.Close()
	s := &Session{host: strings.TrimPrefix(srv.URL, "http://"), auth: authn.Anonymous, stop: func() {}}
	ctx := context.Background()
	if n, err := s.RepoSize(ctx, "cache/none"); err != nil || n != 0 {
		t.Errorf("a repository that does not exist: %d, %v", n, err)
	}
	img, err := random.Image(1000, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"a", "b"} {
		if err := s.Push(ctx, "cache/r1:"+tag, img); err != nil {
			t.Fatal(err)
		}
	}
	size := func(img v1.Image) int64 {
		raw, _ := img.RawManifest()
		cfg, _ := img.RawConfigFile()
		n := int64(len(raw) + len(cfg))
		layers, _ := img.Layers()
		for _, l := range layers {
			ln, _ := l.Size()
			n += ln
		}
		return n
	}
	if n, err := s.RepoSize(ctx, "cache/r1"); err != nil || n != size(img) {
		t.Errorf("two tags of one image: %d, %v; want %d", n, err, size(img))
	}
	// An image on top of img shares its two layers: they count once.
	top, err := random.Layer(500, types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	img2, err := mutate.AppendLayers(img, top)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Push(ctx, "cache/r1:c", img2); err != nil {
		t.Fatal(err)
	}
	raw2, _ := img2.RawManifest()
	cfg2, _ := img2.RawConfigFile()
	topSize, _ := top.Size()
	shared := size(img) + int64(len(raw2)+len(cfg2)) + topSize
	if n, err := s.RepoSize(ctx, "cache/r1"); err != nil || n != shared {
		t.Errorf("with an image on top of it: %d, %v; want %d", n, err, shared)
	}
	other, err := random.Image(3000, 1)
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img}, mutate.IndexAddendum{Add: other})
	ref, _ := s.tag("cache/r1:index")
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	rawIdx, _ := idx.RawManifest()
	want := shared + size(other) + int64(len(rawIdx))
	if n, err := s.RepoSize(ctx, "cache/r1"); err != nil || n != want {
		t.Errorf("with an index of it and another image: %d, %v; want %d", n, err, want)
	}
}
