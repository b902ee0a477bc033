package builders_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/builders/all"
	"github.com/cachebench/cachebench/builders/buildah"
	"github.com/cachebench/cachebench/builders/buildkit"
	"github.com/cachebench/cachebench/builders/kaniko"
	"github.com/cachebench/cachebench/scenarios"
)

var testKaniko = kaniko.Kaniko{Executor: "cachebench.local/kaniko/executor:v1.24.0", Warmer: "cachebench.local/kaniko/warmer:v1.24.0", AuthSecret: "registry-auth"}

var (
	testBuildKit = buildkit.BuildKit{Image: "cachebench.local/buildkit:v0.34.2", AuthSecret: "registry-auth"}
	testBuildah  = buildah.Buildah{Image: "cachebench.local/buildah:bookworm", AuthSecret: "registry-auth"}
	// testBuilders are every registered builder, so that a new one is
	// checked as the others are.
	testBuilders = func() []builders.Builder {
		refs := map[string]string{}
		for _, img := range all.Images(all.Builders) {
			refs[img.Role] = img.Ref()
		}
		var bs []builders.Builder
		for _, d := range all.Builders {
			bs = append(bs, d.New(builders.Settings{Images: refs, AuthSecret: "registry-auth"}))
		}
		return bs
	}()
)

const reg = "registry.cachebench.svc.cluster.local:5000"

var bases = map[string]string{"debian": reg + "/base/debian:bookworm", "golang": reg + "/base/golang:1.26.8-bookworm", "node": reg + "/base/node:18-bookworm"}

func TestTasksAndPipelineValidate(t *testing.T) {
	ctx := context.Background()
	if err := builders.CloneTask("cachebench.local/git:bookworm").Validate(ctx); err != nil {
		t.Errorf("clone task: %v", err)
	}
	names := map[string]bool{}
	for _, b := range testBuilders {
		if names[b.Name()] {
			t.Errorf("two builders named %s", b.Name())
		}
		names[b.Name()] = true
		if err := b.Task(builders.BuildTaskName(b)).Validate(ctx); err != nil {
			t.Errorf("%s task: %v", b.Name(), err)
		}
		if err := builders.Pipeline(b).Validate(ctx); err != nil {
			t.Errorf("%s pipeline: %v", b.Name(), err)
		}
	}
}

func TestEveryStepHasACommandOrScript(t *testing.T) {
	// Offline, Tekton cannot ask a registry for an image's entrypoint.
	steps := builders.CloneTask("x").Spec.Steps
	for _, b := range testBuilders {
		task := b.Task("t")
		if len(task.Spec.Steps) == 0 {
			t.Fatalf("%s task has no steps", b.Name())
		}
		if task.Spec.Steps[0].Name != b.StepName() {
			t.Errorf("%s: the log is read from step %s, the task's first step is %s", b.Name(), b.StepName(), task.Spec.Steps[0].Name)
		}
		steps = append(steps, task.Spec.Steps...)
		ws, _ := scenarios.SelectWorkloads([]string{"gobuild"})
		for _, s := range b.Strategies() {
			pod, err := b.WarmerPod(builders.BuildRequest{Workload: ws[0], Strategy: s, BaseRegistry: reg, Bases: bases}, "claim")
			if err != nil {
				t.Fatal(err)
			}
			if pod != nil && len(pod.Containers[0].Command) == 0 {
				t.Errorf("%s: warm-up pod without a command", b.Name())
			}
		}
	}
	for _, s := range steps {
		if len(s.Command) == 0 && s.Script == "" {
			t.Errorf("step %s has neither command nor script", s.Name)
		}
	}
}

// Every builder has the same strategy names, "none" first, and keeps
// nothing between runs with none; the builders that have a daemon have
// the daemon strategy too, and only they.
func TestBuildersShareStrategyNames(t *testing.T) {
	common := strings.Join(builders.StrategyNames(testKaniko), ",")
	for _, b := range testBuilders {
		want := common
		if _, ok := b.(builders.Daemon); ok {
			want += "," + builders.DaemonName
		}
		if got := strings.Join(builders.StrategyNames(b), ","); got != want {
			t.Errorf("%s strategies %s, want %s", b.Name(), got, want)
		}
		if b.Strategies()[0].UsesCache() {
			t.Errorf("%s: none keeps a cache", b.Name())
		}
	}
}

func TestBuildKitAndBuildahArgsPerStrategy(t *testing.T) {
	ws, _ := scenarios.SelectWorkloads([]string{"gobuild"})
	gobuild := ws[0]
	repo := func(b builders.Builder) string {
		return builders.CacheRepo(reg, b.Strategies()[1], b.Name()+"-gobuild-r1")
	}
	tests := []struct {
		builder  builders.Builder
		strategy int
		want     []string
		absent   []string
	}{
		{testBuildKit, 0, []string{"build-arg:BASE_REGISTRY=" + reg, "build-arg:BUILD_ID=run-1"}, []string{"--export-cache", "--import-cache"}},
		{testBuildKit, 1, []string{"--export-cache", "type=registry,ref=" + repo(testBuildKit) + ":buildcache,mode=max,registry.insecure=true", "--import-cache", "type=registry,ref=" + repo(testBuildKit) + ":buildcache,registry.insecure=true"}, nil},
		{testBuildKit, 2, []string{"build-arg:BASE_REGISTRY=" + reg}, []string{"--export-cache", "--import-cache"}},
		{testBuildah, 0, []string{"--build-arg=BASE_REGISTRY=" + reg, "--build-arg=BUILD_ID=run-1", "--layers=false"}, []string{"--cache-from", "--cache-to", "--layers "}},
		{testBuildah, 1, []string{"--layers", "--cache-from=" + repo(testBuildah), "--cache-to=" + repo(testBuildah)}, []string{"--layers=false"}},
		{testBuildah, 2, []string{"--layers"}, []string{"--cache-from", "--cache-to", "--layers=false"}},
	}
	for _, tt := range tests {
		s := tt.builder.Strategies()[tt.strategy]
		t.Run(tt.builder.Name()+"/"+s.Name, func(t *testing.T) {
			req := builders.BuildRequest{Workload: gobuild, Strategy: s, BaseRegistry: reg, Bases: bases, Stamp: "run-1"}
			if s.LayerRepo != "" {
				req.CacheRepo = repo(tt.builder)
			}
			args, err := tt.builder.Args(req)
			if err != nil {
				t.Fatal(err)
			}
			joined := strings.Join(args, " ") + " "
			for _, w := range tt.want {
				if !slices.Contains(args, w) {
					t.Errorf("args %q lack %q", joined, w)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(joined, a) {
					t.Errorf("args %q should not contain %q", joined, a)
				}
			}
			if s.LayerRepo != "" {
				req.CacheRepo = ""
				if _, err := tt.builder.Args(req); err == nil {
					t.Error("want an error without a cache repository")
				}
			}
		})
	}
}

// BuildKit's and Buildah's warm-up pods fill the volume with every base
// image of the workload, privileged like their builds.
func TestVolumeWarmUpOfDaemonlessBuilders(t *testing.T) {
	ws, _ := scenarios.SelectWorkloads([]string{"gobuild"})
	for _, b := range []builders.Builder{testBuildKit, testBuildah} {
		pv := b.Strategies()[2]
		if !pv.CacheVolume || !pv.VolumeLayers || pv.LayerRepo != "" {
			t.Errorf("%s pv-warm: %+v", b.Name(), pv)
		}
		pod, err := b.WarmerPod(builders.BuildRequest{Workload: ws[0], Strategy: pv, BaseRegistry: reg, Bases: bases}, "claim")
		if err != nil || pod == nil {
			t.Fatalf("%s: %v %v", b.Name(), pod, err)
		}
		c := pod.Containers[0]
		cmd := strings.Join(c.Command, " ")
		for _, ref := range []string{bases["golang"], bases["debian"]} {
			if !slices.Contains(c.Command, ref) {
				t.Errorf("%s warm-up does not pull %s: %s", b.Name(), ref, cmd)
			}
		}
		if c.SecurityContext == nil || c.SecurityContext.Privileged == nil || !*c.SecurityContext.Privileged {
			t.Errorf("%s warm-up pod is not privileged", b.Name())
		}
		if !strings.Contains(cmd, builders.CacheMountPath+"/") {
			t.Errorf("%s warm-up does not write to the volume: %s", b.Name(), cmd)
		}
		if _, err := b.WarmerPod(builders.BuildRequest{Workload: ws[0], Strategy: pv, BaseRegistry: reg}, "c"); err == nil {
			t.Errorf("%s: want an error when a base image has no in-cluster reference", b.Name())
		}
	}
}

func TestKanikoArgsPerStrategy(t *testing.T) {
	ws, _ := scenarios.SelectWorkloads([]string{"small"})
	small := ws[0]
	strategies := map[string]builders.Strategy{}
	for _, s := range testKaniko.Strategies() {
		strategies[s.Name] = s
	}
	tests := []struct {
		strategy string
		want     []string
		absent   []string
	}{
		{"none", []string{"--cache=false"}, []string{"--cache=true", "--cache-repo", "--cache-dir"}},
		{"registry", []string{"--cache=true", "--cache-repo=" + reg + "/cache/small-r1"}, []string{"--cache-dir", "--cache=false"}},
		// kaniko reads --cache-dir only with --cache=true.
		{"pv-warm", []string{"--cache=true", "--cache-dir=/cache", "--cache-repo=" + reg + "/cache-pv/small-r1"}, []string{"--cache=false"}},
	}
	for _, tt := range tests {
		t.Run(tt.strategy, func(t *testing.T) {
			s, ok := strategies[tt.strategy]
			if !ok {
				t.Fatalf("kaniko has no strategy %s", tt.strategy)
			}
			req := builders.BuildRequest{Workload: small, Strategy: s, BaseRegistry: reg, Bases: bases, CacheRepo: builders.CacheRepo(reg, s, "small-r1")}
			args, err := testKaniko.Args(req)
			if err != nil {
				t.Fatal(err)
			}
			joined := strings.Join(args, " ")
			for _, w := range append(tt.want, "--build-arg=BASE_REGISTRY="+reg, "--insecure") {
				if !slices.Contains(args, w) {
					t.Errorf("args %q lack %q", joined, w)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(joined, a) {
					t.Errorf("args %q should not contain %q", joined, a)
				}
			}
		})
	}
}

func TestStampedWorkloadNeedsAStamp(t *testing.T) {
	ws, _ := scenarios.SelectWorkloads([]string{"gobuild"})
	for _, b := range testBuilders {
		if _, err := b.Args(builders.BuildRequest{Workload: ws[0], Strategy: b.Strategies()[0], BaseRegistry: reg}); err == nil || !strings.Contains(err.Error(), "BUILD_ID") {
			t.Errorf("%s: want an error naming the stamp argument, got %v", b.Name(), err)
		}
	}
	none := testKaniko.Strategies()[0]
	args, err := testKaniko.Args(builders.BuildRequest{Workload: ws[0], Strategy: none, BaseRegistry: reg, Stamp: "run-7"})
	if err != nil || !slices.Contains(args, "--build-arg=BUILD_ID=run-7") {
		t.Fatalf("args = %v, %v", args, err)
	}
}

func TestWarmerPod(t *testing.T) {
	ws, _ := scenarios.SelectWorkloads([]string{"gobuild"})
	for _, s := range testKaniko.Strategies() {
		pod, err := testKaniko.WarmerPod(builders.BuildRequest{Workload: ws[0], Strategy: s, BaseRegistry: reg, Bases: bases}, "claim")
		if err != nil {
			t.Fatal(err)
		}
		if (pod != nil) != s.CacheVolume {
			t.Fatalf("%s: warmer pod %v, cache volume %v", s.Name, pod != nil, s.CacheVolume)
		}
		if pod == nil {
			continue
		}
		args := strings.Join(pod.Containers[0].Args, " ")
		for _, ref := range []string{bases["golang"], bases["debian"]} {
			if !strings.Contains(args, "--image="+ref) {
				t.Errorf("warmer does not warm %s: %s", ref, args)
			}
		}
		if strings.Contains(args, "--insecure ") || strings.HasSuffix(args, "--insecure") {
			t.Errorf("the warmer does not know --insecure: %s", args)
		}
		if pod.Volumes[0].PersistentVolumeClaim == nil || pod.Volumes[0].PersistentVolumeClaim.ClaimName != "claim" {
			t.Errorf("cache volume not bound to the claim: %+v", pod.Volumes[0])
		}
	}
	if _, err := testKaniko.WarmerPod(builders.BuildRequest{Workload: ws[0], Strategy: testKaniko.Strategies()[2], BaseRegistry: reg}, "c"); err == nil {
		t.Error("want an error when a base image has no in-cluster reference")
	}
}

func TestPipelineRunValidates(t *testing.T) {
	ws, _ := scenarios.SelectWorkloads([]string{"small"})
	for _, claim := range []string{"", "cache-claim"} {
		pr, err := builders.PipelineRun(builders.PipelineRunParams{
			Name: "small-run", Namespace: "cachebench", Builder: testKaniko, Workload: ws[0],
			RepoURL: "git://git.cachebench.svc.cluster.local/small.git", Image: reg + "/bench/small:x",
			ExtraArgs: []string{"--cache=false"}, CacheClaim: claim, Timeout: 10 * time.Minute,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := pr.Validate(context.Background()); err != nil {
			t.Errorf("claim %q: %v", claim, err)
		}
		if got := len(pr.Spec.Workspaces); got != map[string]int{"": 1, "cache-claim": 2}[claim] {
			t.Errorf("claim %q: %d workspaces", claim, got)
		}
	}
	if _, err := builders.PipelineRun(builders.PipelineRunParams{Name: "x"}); err == nil {
		t.Error("want an error for a run without repository and image")
	}
	// A run placed on a node: every pod of it goes there.
	pr, err := builders.PipelineRun(builders.PipelineRunParams{
		Name: "small-run", Namespace: "cachebench", Builder: testKaniko, Workload: ws[0],
		RepoURL: "git://git.cachebench.svc.cluster.local/small.git", Image: reg + "/bench/small:x", Node: "bench-worker2",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := pr.Validate(context.Background()); err != nil {
		t.Errorf("placed on a node: %v", err)
	}
	if pt := pr.Spec.TaskRunTemplate.PodTemplate; pt == nil || pt.NodeSelector["kubernetes.io/hostname"] != "bench-worker2" {
		t.Errorf("pod template %+v, want the node selector of bench-worker2", pt)
	}
}

func TestSelectStrategies(t *testing.T) {
	all, err := builders.SelectStrategies(testKaniko, nil)
	if err != nil || len(all) != 3 || all[0].Name != "none" {
		t.Fatalf("default strategies = %v, %v", all, err)
	}
	// The mirror is measured when asked for.
	m, err := builders.SelectStrategies(testKaniko, []string{"mirror", "none"})
	if err != nil || len(m) != 2 || !m[0].Mirror || m[0].UsesCache() {
		t.Fatalf("mirror, none = %v, %v", m, err)
	}
	if _, err := builders.SelectStrategies(testKaniko, []string{"pv"}); err == nil || !strings.Contains(err.Error(), "pv-warm") {
		t.Fatalf("want an error listing the choices, got %v", err)
	}
}

func TestCacheRepoIsPerRound(t *testing.T) {
	s := testKaniko.Strategies()[1]
	if builders.CacheRepo(reg, s, "w-r1") == builders.CacheRepo(reg, s, "w-r2") {
		t.Error("rounds must not share a cache repository")
	}
	if builders.CacheRepo(reg, testKaniko.Strategies()[0], "w-r1") != "" {
		t.Error("none has no cache repository")
	}
	if builders.CacheRepo(reg, testKaniko.Strategies()[1], "w-r1") == builders.CacheRepo(reg, testKaniko.Strategies()[2], "w-r1") {
		t.Error("registry and pv-warm must not share a layer cache")
	}
}

func TestKanikoMountsTheBuildCABundle(t *testing.T) {
	k := testKaniko
	if got := len(k.Task("t").Spec.Volumes); got != 1 {
		t.Fatalf("without a bundle: %d volumes, want only the docker config", got)
	}
	k.CABundle = "build-ca"
	task := k.Task("t")
	if err := task.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	var mounted bool
	for _, m := range task.Spec.Steps[0].VolumeMounts {
		if m.MountPath == "/etc/ssl/certs/ca-certificates.crt" && m.SubPath == builders.CABundleKey && m.ReadOnly {
			mounted = true
		}
	}
	if !mounted {
		t.Fatalf("the bundle is not mounted over the system bundle: %+v", task.Spec.Steps[0].VolumeMounts)
	}
}

// The mirror strategy hands each builder the mapping its own way: kaniko
// as flags, BuildKit's and Buildah's scripts as a first argument.
func TestMirrorArgs(t *testing.T) {
	ws, _ := scenarios.Workloads()
	for _, b := range []builders.Builder{testKaniko, buildkit.BuildKit{}, buildah.Buildah{}} {
		m, err := builders.SelectStrategies(b, []string{builders.MirrorName})
		if err != nil {
			t.Fatal(err)
		}
		req := builders.BuildRequest{Workload: ws[0], Strategy: m[0], BaseRegistry: "up:5000", Mirror: "mirror:5000"}
		args, err := b.Args(req)
		if err != nil {
			t.Fatalf("%s: %v", b.Name(), err)
		}
		joined := strings.Join(args, " ")
		switch b.(type) {
		case kaniko.Kaniko:
			for _, want := range []string{"--registry-map=up:5000=mirror:5000", "--skip-default-registry-fallback", "--cache=false"} {
				if !strings.Contains(joined, want) {
					t.Errorf("kaniko args %q lack %s", joined, want)
				}
			}
		default:
			if args[0] != "--registry-map=up:5000=mirror:5000" {
				t.Errorf("%s: the mapping must come first for the script: %q", b.Name(), args)
			}
			if strings.Contains(joined, "cache") && b.Name() == "buildkit" {
				t.Errorf("buildkit mirror runs import and export no cache: %q", joined)
			}
			if b.Name() == "buildah" && !strings.Contains(joined, "--layers=false") {
				t.Errorf("buildah mirror runs keep no layers: %q", joined)
			}
		}
		req.Mirror = ""
		if _, err := b.Args(req); err == nil {
			t.Errorf("%s: a mirror run without a mirror host must be refused", b.Name())
		}
	}
}

// TestScriptsTakeParametersFromTheEnvironment: no build script has a
// parameter substituted into its text, where a crafted value (the image
// reference carries a pushed event's commit) would run as shell; each
// string parameter reaches it as an environment variable instead.
func TestScriptsTakeParametersFromTheEnvironment(t *testing.T) {
	scripts := 0
	for _, b := range testBuilders {
		task := b.Task("t")
		for _, st := range task.Spec.Steps {
			if st.Script == "" {
				continue
			}
			scripts++
			if i := strings.Index(st.Script, "$(params."); i >= 0 {
				t.Errorf("%s: step %s substitutes a parameter into its script: %q", b.Name(), st.Name, st.Script[i:min(len(st.Script), i+30)])
			}
			for _, p := range task.Spec.Params {
				if p.Type != pipelinev1.ParamTypeString {
					continue
				}
				if !slices.ContainsFunc(st.Env, func(e corev1.EnvVar) bool {
					return e.Name == builders.ParamEnv(p.Name) && e.Value == "$(params."+p.Name+")"
				}) {
					t.Errorf("%s: step %s lacks %s=$(params.%s)", b.Name(), st.Name, builders.ParamEnv(p.Name), p.Name)
				}
			}
		}
	}
	if scripts == 0 {
		t.Fatal("no builder has a script step: nothing checked")
	}
}

// TestInfoNeeds: what a team may forbid is read off the Tasks themselves
// (a privileged container) and the strategies (a layer cache repository).
func TestInfoNeeds(t *testing.T) {
	want := map[string][]string{"kaniko": {}, "kaniko-chainguard": {}, "buildkit": {"privileged"}, "buildah": {"privileged"}, "docker": {"privileged"}}
	for _, b := range testBuilders {
		info := builders.Info(b)
		if w, ok := want[b.Name()]; !ok {
			t.Errorf("%s: no expectation: add it to this test", b.Name())
		} else if !slices.Equal(info.Needs, w) {
			t.Errorf("%s needs %q, want %q", b.Name(), info.Needs, w)
		}
		for _, s := range info.Strategies {
			writes := s.Name == "registry" || (strings.HasPrefix(b.Name(), "kaniko") && s.Name == "pv-warm")
			if got := slices.Contains(s.Needs, "registry-writes"); got != writes || s.Needs == nil {
				t.Errorf("%s/%s needs %q: registry-writes want %v (and never nil)", b.Name(), s.Name, s.Needs, writes)
			}
		}
	}
}

// TestDaemonPodIsProbedUntilItStarts: a daemon is probed until it answers,
// then left alone, so that neither the probes' load nor one that times out
// under the builds' load takes it out of its Service.
func TestDaemonPodIsProbedUntilItStarts(t *testing.T) {
	spec := builders.DaemonPod(builders.DaemonContainer{Name: "d", Image: "i", Script: "#!/bin/sh\nd", Port: 1, Probe: []string{"ping"}, StateDir: "/s"}, nil, 0, "")
	c := spec.Containers[0]
	if c.ReadinessProbe != nil || c.LivenessProbe != nil {
		t.Errorf("a probe after start: readiness %+v, liveness %+v", c.ReadinessProbe, c.LivenessProbe)
	}
	if p := c.StartupProbe; p == nil || p.Exec == nil || !slices.Equal(p.Exec.Command, []string{"ping"}) || p.PeriodSeconds*p.FailureThreshold < 60 {
		t.Errorf("startup probe %+v, want the daemon's probe, given a minute or more", p)
	}
}
