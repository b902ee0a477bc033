package bench

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/builders/all"
	"github.com/cachebench/cachebench/cluster/registry"
	"github.com/cachebench/cachebench/images"
	"github.com/cachebench/cachebench/scenarios"
	"github.com/cachebench/cachebench/versions"
)

// TestOnlineAndOfflineRenderAlike: the Tekton objects and warm-up pods of
// an online run and an offline run differ in image references only, the
// online ones by digest (the settings that differ between the official
// images and the offline ones are in the steps themselves, for both: the
// runtime wrapper's lookup, Buildah's isolation and storage).
func TestOnlineAndOfflineRenderAlike(t *testing.T) {
	cat := images.NewCatalog(versions.Kubernetes)
	offline := builders.Settings{Images: map[string]string{}, AuthSecret: registry.AuthSecret, CABundle: BuildCAConfigMap}
	online := builders.Settings{Images: map[string]string{}, AuthSecret: registry.AuthSecret, CABundle: BuildCAConfigMap}
	digest := "@sha256:" + strings.Repeat("d", 64)
	for _, img := range all.Images(all.Builders) {
		offline.Images[img.Role] = img.Ref()
		online.Images[img.Role] = img.Ref()
		if img.Official != "" {
			online.Images[img.Role] = img.Official + digest
		}
	}
	w, err := scenarios.SelectWorkloads([]string{"gobuild"})
	if err != nil {
		t.Fatal(err)
	}
	imageRefs := map[string]bool{}
	for _, m := range []map[string]string{offline.Images, online.Images} {
		for _, ref := range m {
			imageRefs[ref] = true
		}
	}
	// render writes a builder's objects with every image reference blanked.
	render := func(b builders.Builder) string {
		var objs []any
		objs = append(objs, b.Task(builders.BuildTaskName(b)), builders.Pipeline(b))
		for _, s := range b.Strategies() {
			req := builders.BuildRequest{Workload: w[0], Strategy: s, BaseRegistry: "upstream:5000", Mirror: "mirror:5000",
				Bases: map[string]string{"golang": "upstream:5000/base/golang:1", "debian": "upstream:5000/base/debian:1"}, CacheRepo: "registry:5000/cache/r1", Stamp: "s", Daemon: "tcp://daemon:1234"}
			args, err := b.Args(req)
			if err != nil {
				t.Fatal(err)
			}
			pod, err := b.WarmerPod(req, "claim")
			if err != nil {
				t.Fatal(err)
			}
			objs = append(objs, args, pod)
		}
		if d, ok := b.(builders.Daemon); ok {
			objs = append(objs, d.DaemonPod([]string{"registry:5000", "upstream:5000"}, 0))
		}
		data, err := json.Marshal(objs)
		if err != nil {
			t.Fatal(err)
		}
		out := string(data)
		for ref := range imageRefs {
			out = strings.ReplaceAll(out, `"`+ref+`"`, `"IMAGE"`)
		}
		return out
	}
	for _, d := range all.Builders {
		name := d.Name
		off, on := d.New(offline), d.New(online)
		if a, b := render(off), render(on); a != b {
			t.Errorf("%s renders differently online and offline, images aside:\noffline %s\nonline  %s", name, a, b)
		}
		for _, ref := range on.Images() {
			if !strings.HasPrefix(ref, images.LocalPrefix+"/") && !strings.Contains(ref, "@sha256:") {
				t.Errorf("%s runs %s online, not by digest", name, ref)
			}
		}
	}
	if a, b := builders.CloneTask(cat.Git), builders.CloneTask("registry.example/cb/git:v1"+digest); a.Spec.Steps[0].Image == b.Spec.Steps[0].Image {
		t.Error("the clone task does not take its image from the set")
	}
}
