package tekton

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/cachebench/cachebench/cluster/kube"
)

func TestRenderFromModule(t *testing.T) {
	img := Images{Commands: map[string]string{}, Shell: "cachebench.local/git:bookworm"}
	for _, c := range []string{"controller", "webhook", "events", "resolvers", "entrypoint", "nop", "sidecarlogresults", "workingdirinit"} {
		img.Commands[c] = "cachebench.local/tekton/" + c + ":v1.15.0"
	}
	out, err := RenderFromModule(context.Background(), "v1.15.0", img)
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	if strings.Contains(text, "ko://") {
		t.Error("ko:// placeholders left in the release")
	}
	if strings.Contains(text, "busybox@sha256") {
		t.Error("the default shell image is still referenced")
	}
	for _, want := range []string{"cachebench.local/tekton/controller:v1.15.0", "-entrypoint-image", "cachebench.local/tekton/entrypoint:v1.15.0", "cachebench.local/git:bookworm"} {
		if !strings.Contains(text, want) {
			t.Errorf("release lacks %s", want)
		}
	}
	objs, err := kube.Decode(out)
	if err != nil {
		t.Fatal(err)
	}
	objs = kube.Ordered(objs)
	if objs[0].GetKind() != "Namespace" {
		t.Errorf("first object is a %s, want a Namespace", objs[0].GetKind())
	}
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.GetKind()]++
	}
	if kinds["CustomResourceDefinition"] < 5 || kinds["Deployment"] < 4 {
		t.Errorf("release looks incomplete: %v", kinds)
	}
	if err := setFeatureFlags(objs, map[string]string{"coschedule": "disabled"}); err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.GetName() == "feature-flags" && o.GetNamespace() == Namespace {
			if got := o.Object["data"].(map[string]any)["coschedule"]; got != "disabled" {
				t.Errorf("coschedule = %v", got)
			}
		}
	}
}

func TestRenderNamesMissingImages(t *testing.T) {
	_, err := RenderFromModule(context.Background(), "v1.15.0", Images{Commands: map[string]string{"controller": "x"}})
	if err == nil || !strings.Contains(err.Error(), "webhook") {
		t.Fatalf("want an error naming the commands without images, got %v", err)
	}
}

// TestReleaseImages: the images of a release manifest, from its image
// fields and the controller's image flags, once each.
func TestReleaseImages(t *testing.T) {
	manifest := []byte(`
        args: [
          "-entrypoint-image", "ghcr.io/tektoncd/pipeline/entrypoint-bff0a22da108bc2f16c818c97641a296:v1.15.0@sha256:` + strings.Repeat("a", 64) + `",
          "-shell-image", "cgr.dev/chainguard/busybox@sha256:` + strings.Repeat("b", 64) + `",
        ]
        image: ghcr.io/tektoncd/pipeline/controller-10a3e32792f33651396d02b6855a6e36:v1.15.0@sha256:` + strings.Repeat("c", 64) + `
---
        - name: webhook
          image: "cachebench.local/tekton/webhook:v1.15.0"
        image: ghcr.io/tektoncd/pipeline/controller-10a3e32792f33651396d02b6855a6e36:v1.15.0@sha256:` + strings.Repeat("c", 64) + `
`)
	got := ReleaseImages(manifest)
	want := []string{
		"cachebench.local/tekton/webhook:v1.15.0",
		"cgr.dev/chainguard/busybox@sha256:" + strings.Repeat("b", 64),
		"ghcr.io/tektoncd/pipeline/controller-10a3e32792f33651396d02b6855a6e36:v1.15.0@sha256:" + strings.Repeat("c", 64),
		"ghcr.io/tektoncd/pipeline/entrypoint-bff0a22da108bc2f16c818c97641a296:v1.15.0@sha256:" + strings.Repeat("a", 64),
	}
	if !slices.Equal(got, want) {
		t.Errorf("images\n%q\nwant\n%q", got, want)
	}
}
