package images

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/cachebench/cachebench/log"
)

// TestRelocate: the images a kind cluster would load are pushed to the
// registry given, and the set references them there by digest, with
// nothing left to load.
func TestRelocate(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	f, err := NewFactory(WithCacheDir(t.TempDir()), WithMinFreeGiB(0))
	if err != nil {
		t.Fatal(err)
	}
	git, err := f.Build(context.Background(), Spec{Name: "git", Refs: []string{Ref("git", "v1")}, Files: []File{{Path: "/git-server", Data: []byte("binary")}}})
	if err != nil {
		t.Fatal(err)
	}
	set := &Set{Git: Ref("git", "v1"), Builders: map[string]string{"buildkit": "docker.io/moby/buildkit:v0.34.2"}, Load: []Archive{git}}
	if err := set.Relocate(context.Background(), host+"/team/cachebench", log.NoOp()); err != nil {
		t.Fatal(err)
	}
	if len(set.Load) != 0 {
		t.Errorf("%d archives left to load", len(set.Load))
	}
	if !strings.HasPrefix(set.Git, host+"/team/cachebench/git:v1@sha256:") {
		t.Errorf("git server image %s, want it in the registry by digest", set.Git)
	}
	if set.Builders["buildkit"] != "docker.io/moby/buildkit:v0.34.2" {
		t.Errorf("an official image moved: %s", set.Builders["buildkit"])
	}
	ref, err := name.ParseReference(set.Git, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Image(ref); err != nil {
		t.Errorf("the registry does not have %s: %v", set.Git, err)
	}
}
