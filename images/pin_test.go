package images

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestPin: an image given by tag comes back by digest; one given by a
// digest its registry serves is kept; a digest it does not serve, or a
// registry that does not answer, is refused at once, naming the image or
// the registry and the way out.
func TestPin(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	tag := host + "/moby/buildkit:v0.34.2"
	ref, err := name.ParseReference(tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	ctx := context.Background()
	if got, err := Pin(ctx, tag); err != nil || got != tag+"@"+d.String() {
		t.Errorf("Pin(%s) = %s, %v; want it by digest %s", tag, got, err, d)
	}
	byDigest := tag + "@" + d.String()
	if got, err := Pin(ctx, byDigest); err != nil || got != byDigest {
		t.Errorf("Pin(%s) = %s, %v; want it kept", byDigest, got, err)
	}
	wrong := tag + "@sha256:" + strings.Repeat("0", 64)
	if _, err := Pin(ctx, wrong); err == nil || !strings.Contains(err.Error(), wrong) || !strings.Contains(err.Error(), "digest") {
		t.Errorf("Pin of a digest the registry does not serve: %v", err)
	}
	// A set: every official reference, wherever it stands, by digest; the
	// images made here as they are.
	local := LocalPrefix + "/git:v1"
	set := &Set{Registry: tag, NodeImage: byDigest, Git: local,
		Builders: map[string]string{"buildkit": tag, "kaniko-chainguard-executor": local},
		Bases:    map[string]Base{"debian": {Repo: "base/debian", Remote: tag}}}
	if err := set.pinOfficial(ctx); err != nil {
		t.Fatal(err)
	}
	for what, got := range map[string]string{"registry": set.Registry, "node": set.NodeImage, "builder": set.Builders["buildkit"], "base": set.Bases["debian"].Remote} {
		if got != byDigest {
			t.Errorf("pinOfficial: the %s is %s, want %s", what, got, byDigest)
		}
	}
	if set.Git != local || set.Builders["kaniko-chainguard-executor"] != local {
		t.Errorf("pinOfficial changed images made here: %s, %s", set.Git, set.Builders["kaniko-chainguard-executor"])
	}
	start := time.Now()
	_, err = Pin(ctx, "127.0.0.1:1/moby/buildkit:v0.34.2")
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") || !strings.Contains(err.Error(), "--images offline") {
		t.Errorf("Pin against a registry that does not answer: %v", err)
	}
	if took := time.Since(start); took > pinTimeout {
		t.Errorf("an unreachable registry took %s to refuse", took)
	}
}
