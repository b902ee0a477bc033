package images

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cachebench/cachebench/versions"
)

// recorded are durations of a cold build on one of our 2-core machines
// (a clean clone of 54fae11, 2026-12-05): compiles (and what each downloads)
// in seconds, and the node image's assembly and import.
var recorded = Durations{
	"go k8s.io/kubernetes@v1.34.1":                      {DownloadSeconds: 31, BuildSeconds: 580},
	"go github.com/tektoncd/pipeline@v1.15.0":           {DownloadSeconds: 50, BuildSeconds: 330},
	"go github.com/tektoncd/triggers@v0.37.0":           {DownloadSeconds: 40, BuildSeconds: 90},
	"go github.com/coredns/coredns@v1.12.1":             {DownloadSeconds: 40, BuildSeconds: 150},
	"go go.etcd.io/etcd/server/v3@v3.6.4":               {DownloadSeconds: 30, BuildSeconds: 35},
	"go github.com/moby/buildkit@v0.34.2":               {DownloadSeconds: 45, BuildSeconds: 160},
	"go github.com/GoogleContainerTools/kaniko@v1.24.0": {DownloadSeconds: 40, BuildSeconds: 105},
	"go github.com/chainguard-dev/kaniko@v1.25.5":       {DownloadSeconds: 55, BuildSeconds: 115},
	"go github.com/distribution/distribution/v3@v3.1.2": {DownloadSeconds: 30, BuildSeconds: 110},
	"go github.com/Shopify/toxiproxy/v2@v2.12.0":        {DownloadSeconds: 10, BuildSeconds: 12},
	"rootfs kind-node":                                  {DownloadSeconds: 90},
	nodeAssemblyStep:                                    {BuildSeconds: 120},
	nodeImportStep:                                      {BuildSeconds: 60},
}

// testBuilderCompiles stand in for the builders' images (builders/<name>
// has the real ones) as far as the schedule goes: the compiles recorded
// above, each an image of its own.
func testBuilderCompiles() []Spec {
	var specs []Spec
	for _, m := range []struct{ name, module, version string }{
		{"buildkit", "github.com/moby/buildkit", versions.BuildKit},
		{"kaniko-executor", "github.com/GoogleContainerTools/kaniko", versions.Kaniko},
		{"kaniko-chainguard-executor", "github.com/chainguard-dev/kaniko", versions.KanikoChainguard},
	} {
		b := GoBuild{Module: m.module, Version: m.version, Packages: []string{m.module + "/cmd/x"}}
		specs = append(specs, Spec{Name: m.name, Refs: []string{Ref(m.name, m.version)}, Binaries: []Binary{{Build: b, Name: "x", Dest: "/x"}}})
	}
	return specs
}

// TestCriticalPathFirst: with recorded durations, the plan's first compile
// is Kubernetes' (the node image waits for it), and the build is predicted
// to end sooner than with the slots handed out in the order the recipes
// are listed (the order Go happened to start them in before).
func TestCriticalPathFirst(t *testing.T) {
	cat := NewCatalog(versions.Kubernetes)
	specs := slices.Concat(cat.Cluster, cat.Triggers, cat.Bases, testBuilderCompiles())
	plan := recorded.plan(specs, true, kubernetesBuild(versions.Kubernetes), cat.ControlPlane)
	slots := map[Slot]int{Network: 4, CPU: 1, Unpack: 2}
	paths := criticalPaths(plan)
	order, finish := simulate(plan, slots, paths)
	_, listed := simulate(plan, slots, nil)

	k8s := kubernetesBuild(versions.Kubernetes)
	at := map[string]simulated{}
	var compiles []string
	for _, s := range order {
		at[s.step] = s
		if strings.HasSuffix(s.step, "(compile)") {
			compiles = append(compiles, strings.TrimSuffix(strings.TrimPrefix(s.step, "go "), " (compile)"))
		}
	}
	// Kubernetes compiles as soon as it can: its download is the first to
	// start, and only a compile that could start before that download ended
	// runs before it.
	if first := order[0]; first.step != downloadStep(k8s) {
		t.Errorf("first step %s, want %s", first.step, downloadStep(k8s))
	}
	for _, s := range order {
		if strings.HasSuffix(s.step, "(compile)") && s.start < at[compileStep(k8s)].start && s.start >= at[downloadStep(k8s)].end {
			t.Errorf("%s started at %.0f s, before Kubernetes (at %.0f s, ready at %.0f s)", s.step, s.start, at[compileStep(k8s)].start, at[downloadStep(k8s)].end)
		}
	}
	var nodeEnd float64
	for _, s := range order {
		if s.step == nodeImportStep {
			nodeEnd = s.end
		}
	}
	if nodeEnd >= finish {
		t.Errorf("the node image ends the build (%.0f s of %.0f s): its chain should start first and end before the last compile", nodeEnd, finish)
	}
	if finish >= listed {
		t.Errorf("critical path first: %s, listed order: %s; want sooner", dur(finish), dur(listed))
	}
	t.Logf("compiles in order: %s", strings.Join(compiles, ", "))
	t.Logf("predicted: %s critical path first, %s in listed order (node image ready at %s)",
		time.Duration(finish*float64(time.Second)).Round(time.Second), time.Duration(listed*float64(time.Second)).Round(time.Second), time.Duration(nodeEnd*float64(time.Second)).Round(time.Second))
}

// TestCriticalPathOfABuild: from the timing table and the plan's inputs,
// the chain back from the step that ended last, through the input of each
// that ended last.
func TestCriticalPathOfABuild(t *testing.T) {
	ts := []Timing{
		{Step: "rootfs kind-node", EndSeconds: 90},
		{Step: "go k8s.io/kubernetes@v1.34.1", EndSeconds: 700},
		{Step: "go github.com/coredns/coredns@v1.12.1", EndSeconds: 900},
		{Step: "image coredns", EndSeconds: 905},
		{Step: "image kube-apiserver", EndSeconds: 710},
		{Step: "go github.com/tektoncd/pipeline@v1.15.0", EndSeconds: 1300},
		{Step: "image tekton-controller", EndSeconds: 1310},
		{Step: nodeAssemblyStep, EndSeconds: 1000},
		{Step: nodeImportStep, EndSeconds: 1020},
		{Step: "image registry", Cached: true},
	}
	deps := map[string][]string{
		"image coredns":           {"go github.com/coredns/coredns@v1.12.1"},
		"image kube-apiserver":    {"go k8s.io/kubernetes@v1.34.1"},
		"image tekton-controller": {"go github.com/tektoncd/pipeline@v1.15.0"},
		nodeAssemblyStep:          {"rootfs kind-node", "go k8s.io/kubernetes@v1.34.1", "image coredns", "image kube-apiserver"},
		nodeImportStep:            {nodeAssemblyStep},
	}
	var got []string
	for _, s := range CriticalPath(ts, deps) {
		got = append(got, s.Step)
	}
	if want := []string{"go github.com/tektoncd/pipeline@v1.15.0", "image tekton-controller"}; !slices.Equal(got, want) {
		t.Errorf("critical path %v, want %v", got, want)
	}
	// Without Tekton, the node image's chain decides.
	got = nil
	for _, s := range CriticalPath(ts[:5:5], deps) {
		got = append(got, s.Step)
	}
	if want := []string{"go github.com/coredns/coredns@v1.12.1", "image coredns"}; !slices.Equal(got, want) {
		t.Errorf("critical path %v, want %v", got, want)
	}
	got = nil
	for _, s := range CriticalPath(append(slices.Clone(ts[:5]), ts[7], ts[8]), deps) {
		got = append(got, s.Step)
	}
	if want := []string{"go github.com/coredns/coredns@v1.12.1", "image coredns", nodeAssemblyStep, nodeImportStep}; !slices.Equal(got, want) {
		t.Errorf("critical path %v, want %v", got, want)
	}
	if CriticalPath([]Timing{{Step: "image registry", Cached: true}}, deps) != nil {
		t.Error("a build that found everything cached has no critical path")
	}
}

// TestPlanInputs: the plan's inputs, one row per Go build.
func TestPlanInputs(t *testing.T) {
	cat := NewCatalog(versions.Kubernetes)
	plan := recorded.plan(cat.Cluster, true, kubernetesBuild(versions.Kubernetes), cat.ControlPlane)
	deps := inputs(plan)
	if got := deps["image tekton-controller"]; !slices.Equal(got, []string{"go github.com/tektoncd/pipeline@v1.15.0"}) {
		t.Errorf("tekton-controller's inputs %v", got)
	}
	node := deps[nodeAssemblyStep]
	for _, want := range []string{"rootfs kind-node", "go k8s.io/kubernetes@v1.34.1", "image coredns"} {
		if !slices.Contains(node, want) {
			t.Errorf("the node image's inputs %v lack %s", node, want)
		}
	}
}
