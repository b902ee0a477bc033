package scenarios

import (
	"context"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"
)

var testKaniko = Kaniko{Executor: "cachebench.local/kaniko/executor:v1.24.0", Warmer: "cachebench.local/kaniko/warmer:v1.24.0", AuthSecret: "registry-auth"}

const reg = "registry.cachebench.svc.cluster.local:5000"

var bases = map[string]string{"debian": reg + "/base/debian:bookworm", "golang": reg + "/base/golang:1.26.8-bookworm"}

func TestWorkloadsHaveTheirFiles(t *testing.T) {
	ws, err := Workloads()
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) < 2 {
		t.Fatalf("want at least two workloads, got %d", len(ws))
	}
	for _, w := range ws {
		t.Run(w.Name, func(t *testing.T) {
			df, err := fs.ReadFile(w.Files, w.Dockerfile)
			if err != nil {
				t.Fatalf("Dockerfile: %v", err)
			}
			if !strings.Contains(string(df), "ARG BASE_REGISTRY") {
				t.Error("Dockerfile must take its base images from BASE_REGISTRY")
			}
			for _, b := range w.Bases {
				if _, ok := bases[b]; !ok {
					t.Errorf("unknown base image %q", b)
				}
			}
			if w.StampArg != "" && !strings.Contains(string(df), "ARG "+w.StampArg) {
				t.Errorf("Dockerfile does not declare its stamp argument %s", w.StampArg)
			}
		})
	}
}

func TestSelectWorkloads(t *testing.T) {
	if _, err := SelectWorkloads([]string{"small", "gobuild"}); err != nil {
		t.Fatal(err)
	}
	_, err := SelectWorkloads([]string{"smal"})
	if err == nil || !strings.Contains(err.Error(), `"smal"`) || !strings.Contains(err.Error(), "small") {
		t.Fatalf("want an error naming the bad workload and the choices, got %v", err)
	}
}

func TestTasksAndPipelineValidate(t *testing.T) {
	ctx := context.Background()
	if err := CloneTask("cachebench.local/git:bookworm").Validate(ctx); err != nil {
		t.Errorf("clone task: %v", err)
	}
	if err := testKaniko.Task(BuildTaskName(testKaniko)).Validate(ctx); err != nil {
		t.Errorf("kaniko task: %v", err)
	}
	if err := Pipeline(testKaniko).Validate(ctx); err != nil {
		t.Errorf("pipeline: %v", err)
	}
}

func TestEveryStepHasACommandOrScript(t *testing.T) {
	// Offline, Tekton cannot ask a registry for an image's entrypoint.
	for _, task := range []struct {
		name  string
		steps int
	}{{"clone", len(CloneTask("x").Spec.Steps)}, {"kaniko", len(testKaniko.Task("k").Spec.Steps)}} {
		if task.steps == 0 {
			t.Fatalf("%s task has no steps", task.name)
		}
	}
	for _, s := range append(CloneTask("x").Spec.Steps, testKaniko.Task("k").Spec.Steps...) {
		if len(s.Command) == 0 && s.Script == "" {
			t.Errorf("step %s has neither command nor script", s.Name)
		}
	}
}

func TestKanikoArgsPerStrategy(t *testing.T) {
	ws, _ := SelectWorkloads([]string{"small"})
	small := ws[0]
	strategies := map[string]Strategy{}
	for _, s := range testKaniko.Strategies() {
		strategies[s.Name] = s
	}
	tests := []struct {
		strategy string
		want     []string
		absent   []string
	}{
		{"none", []string{"--cache=false"}, []string{"--cache=true", "--cache-repo", "--cache-dir"}},
		{"registry", []string{"--cache=true", "--cache-repo=" + reg + "/cache/small/r1"}, []string{"--cache-dir", "--cache=false"}},
		// kaniko reads --cache-dir only with --cache=true.
		{"pv-warm", []string{"--cache=true", "--cache-dir=/cache", "--cache-repo=" + reg + "/cache-pv/small/r1"}, []string{"--cache=false"}},
	}
	for _, tt := range tests {
		t.Run(tt.strategy, func(t *testing.T) {
			s, ok := strategies[tt.strategy]
			if !ok {
				t.Fatalf("kaniko has no strategy %s", tt.strategy)
			}
			req := BuildRequest{Workload: small, Strategy: s, Registry: reg, Bases: bases, CacheRepo: CacheRepo(reg, s, "small", 1)}
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
	ws, _ := SelectWorkloads([]string{"gobuild"})
	none := testKaniko.Strategies()[0]
	if _, err := testKaniko.Args(BuildRequest{Workload: ws[0], Strategy: none, Registry: reg}); err == nil {
		t.Fatal("want an error without a stamp")
	}
	args, err := testKaniko.Args(BuildRequest{Workload: ws[0], Strategy: none, Registry: reg, Stamp: "run-7"})
	if err != nil || !slices.Contains(args, "--build-arg=BUILD_ID=run-7") {
		t.Fatalf("args = %v, %v", args, err)
	}
}

func TestWarmerPod(t *testing.T) {
	ws, _ := SelectWorkloads([]string{"gobuild"})
	for _, s := range testKaniko.Strategies() {
		pod, err := testKaniko.WarmerPod(BuildRequest{Workload: ws[0], Strategy: s, Registry: reg, Bases: bases}, "claim")
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
	if _, err := testKaniko.WarmerPod(BuildRequest{Workload: ws[0], Strategy: testKaniko.Strategies()[2], Registry: reg}, "c"); err == nil {
		t.Error("want an error when a base image has no in-cluster reference")
	}
}

func TestPipelineRunValidates(t *testing.T) {
	ws, _ := SelectWorkloads([]string{"small"})
	for _, claim := range []string{"", "cache-claim"} {
		pr, err := PipelineRun(PipelineRunParams{
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
	if _, err := PipelineRun(PipelineRunParams{Name: "x"}); err == nil {
		t.Error("want an error for a run without repository and image")
	}
}

func TestSelectStrategies(t *testing.T) {
	all, err := SelectStrategies(testKaniko, nil)
	if err != nil || len(all) != 3 || all[0].Name != "none" {
		t.Fatalf("all strategies = %v, %v", all, err)
	}
	if _, err := SelectStrategies(testKaniko, []string{"pv"}); err == nil || !strings.Contains(err.Error(), "pv-warm") {
		t.Fatalf("want an error listing the choices, got %v", err)
	}
}

func TestCacheRepoIsPerRound(t *testing.T) {
	s := testKaniko.Strategies()[1]
	if CacheRepo(reg, s, "w", 1) == CacheRepo(reg, s, "w", 2) {
		t.Error("rounds must not share a cache repository")
	}
	if CacheRepo(reg, testKaniko.Strategies()[0], "w", 1) != "" {
		t.Error("none has no cache repository")
	}
	if CacheRepo(reg, testKaniko.Strategies()[1], "w", 1) == CacheRepo(reg, testKaniko.Strategies()[2], "w", 1) {
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
		if m.MountPath == "/etc/ssl/certs/ca-certificates.crt" && m.SubPath == CABundleKey && m.ReadOnly {
			mounted = true
		}
	}
	if !mounted {
		t.Fatalf("the bundle is not mounted over the system bundle: %+v", task.Spec.Steps[0].VolumeMounts)
	}
}
