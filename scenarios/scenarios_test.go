package scenarios

import (
	"context"
	"io/fs"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/cachebench/cachebench/results"
)

var testKaniko = Kaniko{Executor: "cachebench.local/kaniko/executor:v1.24.0", Warmer: "cachebench.local/kaniko/warmer:v1.24.0", AuthSecret: "registry-auth"}

var (
	testBuildKit = BuildKit{Image: "cachebench.local/buildkit:v0.34.2", AuthSecret: "registry-auth"}
	testBuildah  = Buildah{Image: "cachebench.local/buildah:bookworm", AuthSecret: "registry-auth"}
	testBuilders = []Builder{testKaniko, Kaniko{Label: "kaniko-chainguard", Executor: "e", Warmer: "w", AuthSecret: "a"}, testBuildKit, testBuildah}
)

const reg = "registry.cachebench.svc.cluster.local:5000"

var bases = map[string]string{"debian": reg + "/base/debian:bookworm", "golang": reg + "/base/golang:1.26.8-bookworm", "node": reg + "/base/node:18-bookworm"}

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
			// BuildKit's parser finds exactly the declared bases in its FROM lines.
			froms, err := BaseImages(df, []string{"BASE_REGISTRY=" + reg})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range froms {
				if !slices.Contains(got, f.Image) {
					got = append(got, f.Image)
				}
			}
			var want []string
			for _, b := range w.Bases {
				want = append(want, bases[b])
			}
			if !slices.Equal(got, want) {
				t.Errorf("FROM lines name %v, want the declared bases %v", got, want)
			}
			if w.StampArg != "" && !strings.Contains(string(df), "ARG "+w.StampArg) {
				t.Errorf("Dockerfile does not declare its stamp argument %s", w.StampArg)
			}
		})
	}
}

func TestManyFiles(t *testing.T) {
	ws, err := SelectWorkloads([]string{"manyfiles", "manyfiles"})
	if err != nil {
		t.Fatal(err)
	}
	count := func(w Workload) (n int, size int) {
		fs.WalkDir(w.Files, "src", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				data, _ := fs.ReadFile(w.Files, p)
				n, size = n+1, size+len(data)
			}
			return err
		})
		return n, size
	}
	n, size := count(ws[0])
	if n != manyFileCount {
		t.Errorf("%d files under src/, want %d", n, manyFileCount)
	}
	if n2, size2 := count(ws[1]); n2 != n || size2 != size {
		t.Errorf("generated twice: %d files, %d bytes, then %d, %d: the commit would change", n, size, n2, size2)
	}
	t.Logf("%d files, %.1f MB", n, float64(size)/1e6)
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
	names := map[string]bool{}
	for _, b := range testBuilders {
		if names[b.Name()] {
			t.Errorf("two builders named %s", b.Name())
		}
		names[b.Name()] = true
		if err := b.Task(BuildTaskName(b)).Validate(ctx); err != nil {
			t.Errorf("%s task: %v", b.Name(), err)
		}
		if err := Pipeline(b).Validate(ctx); err != nil {
			t.Errorf("%s pipeline: %v", b.Name(), err)
		}
	}
}

func TestEveryStepHasACommandOrScript(t *testing.T) {
	// Offline, Tekton cannot ask a registry for an image's entrypoint.
	steps := CloneTask("x").Spec.Steps
	for _, b := range testBuilders {
		task := b.Task("t")
		if len(task.Spec.Steps) == 0 {
			t.Fatalf("%s task has no steps", b.Name())
		}
		if task.Spec.Steps[0].Name != b.StepName() {
			t.Errorf("%s: the log is read from step %s, the task's first step is %s", b.Name(), b.StepName(), task.Spec.Steps[0].Name)
		}
		steps = append(steps, task.Spec.Steps...)
		ws, _ := SelectWorkloads([]string{"gobuild"})
		for _, s := range b.Strategies() {
			pod, err := b.WarmerPod(BuildRequest{Workload: ws[0], Strategy: s, BaseRegistry: reg, Bases: bases}, "claim")
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
// nothing between runs with none.
func TestBuildersShareStrategyNames(t *testing.T) {
	want := strings.Join(StrategyNames(testKaniko), ",")
	for _, b := range testBuilders {
		if got := strings.Join(StrategyNames(b), ","); got != want {
			t.Errorf("%s strategies %s, want %s", b.Name(), got, want)
		}
		if b.Strategies()[0].UsesCache() {
			t.Errorf("%s: none keeps a cache", b.Name())
		}
	}
}

func TestBuildKitAndBuildahArgsPerStrategy(t *testing.T) {
	ws, _ := SelectWorkloads([]string{"gobuild"})
	gobuild := ws[0]
	repo := func(b Builder) string { return CacheRepo(reg, b.Strategies()[1], b.Name()+"/gobuild", 1) }
	tests := []struct {
		builder  Builder
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
			req := BuildRequest{Workload: gobuild, Strategy: s, BaseRegistry: reg, Bases: bases, Stamp: "run-1"}
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
	ws, _ := SelectWorkloads([]string{"gobuild"})
	for _, b := range []Builder{testBuildKit, testBuildah} {
		pv := b.Strategies()[2]
		if !pv.CacheVolume || !pv.VolumeLayers || pv.LayerRepo != "" {
			t.Errorf("%s pv-warm: %+v", b.Name(), pv)
		}
		pod, err := b.WarmerPod(BuildRequest{Workload: ws[0], Strategy: pv, BaseRegistry: reg, Bases: bases}, "claim")
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
		if !strings.Contains(cmd, CacheMountPath+"/") {
			t.Errorf("%s warm-up does not write to the volume: %s", b.Name(), cmd)
		}
		if _, err := b.WarmerPod(BuildRequest{Workload: ws[0], Strategy: pv, BaseRegistry: reg}, "c"); err == nil {
			t.Errorf("%s: want an error when a base image has no in-cluster reference", b.Name())
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
			req := BuildRequest{Workload: small, Strategy: s, BaseRegistry: reg, Bases: bases, CacheRepo: CacheRepo(reg, s, "small", 1)}
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
	for _, b := range testBuilders {
		if _, err := b.Args(BuildRequest{Workload: ws[0], Strategy: b.Strategies()[0], BaseRegistry: reg}); err == nil || !strings.Contains(err.Error(), "BUILD_ID") {
			t.Errorf("%s: want an error naming the stamp argument, got %v", b.Name(), err)
		}
	}
	none := testKaniko.Strategies()[0]
	args, err := testKaniko.Args(BuildRequest{Workload: ws[0], Strategy: none, BaseRegistry: reg, Stamp: "run-7"})
	if err != nil || !slices.Contains(args, "--build-arg=BUILD_ID=run-7") {
		t.Fatalf("args = %v, %v", args, err)
	}
}

func TestWarmerPod(t *testing.T) {
	ws, _ := SelectWorkloads([]string{"gobuild"})
	for _, s := range testKaniko.Strategies() {
		pod, err := testKaniko.WarmerPod(BuildRequest{Workload: ws[0], Strategy: s, BaseRegistry: reg, Bases: bases}, "claim")
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
	if _, err := testKaniko.WarmerPod(BuildRequest{Workload: ws[0], Strategy: testKaniko.Strategies()[2], BaseRegistry: reg}, "c"); err == nil {
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
		t.Fatalf("default strategies = %v, %v", all, err)
	}
	// The mirror is measured when asked for.
	m, err := SelectStrategies(testKaniko, []string{"mirror", "none"})
	if err != nil || len(m) != 2 || !m[0].Mirror || m[0].UsesCache() {
		t.Fatalf("mirror, none = %v, %v", m, err)
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

// The mirror strategy hands each builder the mapping its own way: kaniko
// as flags, BuildKit's and Buildah's scripts as a first argument.
func TestMirrorArgs(t *testing.T) {
	ws, _ := Workloads()
	for _, b := range []Builder{testKaniko, BuildKit{}, Buildah{}} {
		m, err := SelectStrategies(b, []string{MirrorName})
		if err != nil {
			t.Fatal(err)
		}
		req := BuildRequest{Workload: ws[0], Strategy: m[0], BaseRegistry: "up:5000", Mirror: "mirror:5000"}
		args, err := b.Args(req)
		if err != nil {
			t.Fatalf("%s: %v", b.Name(), err)
		}
		joined := strings.Join(args, " ")
		switch b.(type) {
		case Kaniko:
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

// The scripts' shell turns the mapping into buildkitd.toml.
func TestBuildKitConfigMirror(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	script := registryMapArg + `registries="cache:5000 up:5000"
` + buildKitConfig + `
printf 'rest:%s\n' "$*"`
	out, err := exec.Command("sh", "-c", script, "sh", "--registry-map=up:5000=mirror:5000", "--opt", "x").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := `[registry."cache:5000"]
  http = true
  insecure = true
[registry."mirror:5000"]
  http = true
  insecure = true
[registry."up:5000"]
  http = true
  insecure = true
  mirrors = ["mirror:5000"]
rest:--opt x
`
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	out, _ = exec.Command("sh", "-c", script, "sh", "--opt", "x").CombinedOutput()
	if strings.Contains(string(out), "mirror") || !strings.HasSuffix(string(out), "rest:--opt x\n") {
		t.Errorf("without a mapping: %s", out)
	}
}

// The hosts BuildKit is told to reach over plain HTTP are hosts, also when
// the base images come from a repository path of the upstream registry.
func TestBuildKitRegistriesAreHosts(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	script := "image=cache:5000/bench/x:1\n" + buildKitRegistries + `printf '%s\n' "$registries"`
	for arg, want := range map[string]string{
		"build-arg:BASE_REGISTRY=up:5000":                          "cache:5000 up:5000",
		"build-arg:BASE_REGISTRY=up:5000/rounds/run-1-buildkit-r1": "cache:5000 up:5000",
	} {
		out, err := exec.Command("sh", "-c", script, "sh", "--opt", arg).CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("%s: registries %q, want %q", arg, got, want)
		}
	}
}

// results reads runs recorded before --change as their workload's default
// change: the two must agree for every built-in workload (a user's
// workload has no stamp argument, so its default is none there too).
func TestDefaultChangeAgreesWithResults(t *testing.T) {
	ws, err := Workloads()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if got, want := results.DefaultChange(w.Name), string(w.DefaultChange()); got != want {
			t.Errorf("%s: results says %s, the workload %s", w.Name, got, want)
		}
		for _, c := range Changes {
			if w.CheckChange(c) == nil && w.ChangedFile(c) != "" {
				if _, err := fs.Stat(w.Files, w.ChangedFile(c)); err != nil {
					t.Errorf("%s: --change %s edits %s: %v", w.Name, c, w.ChangedFile(c), err)
				}
			}
		}
	}
	if got := results.DefaultChange("webapp"); got != string(ChangeNone) {
		t.Errorf("a user's workload defaults to %s", got)
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
				if !slices.ContainsFunc(st.Env, func(e corev1.EnvVar) bool { return e.Name == ParamEnv(p.Name) && e.Value == "$(params."+p.Name+")" }) {
					t.Errorf("%s: step %s lacks %s=$(params.%s)", b.Name(), st.Name, ParamEnv(p.Name), p.Name)
				}
			}
		}
	}
	if scripts == 0 {
		t.Fatal("no builder has a script step: nothing checked")
	}
}
