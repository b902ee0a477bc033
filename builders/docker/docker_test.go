package docker

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/scenarios"
)

// strategy returns the docker builder's strategy of that name.
func strategy(t *testing.T, name string) builders.Strategy {
	t.Helper()
	s, err := builders.SelectStrategies(Docker{}, []string{name})
	if err != nil {
		t.Fatal(err)
	}
	return s[0]
}

// Each strategy's arguments: what the script takes first (the daemon, the
// cache reference), then docker build's own.
func TestDockerArgsPerStrategy(t *testing.T) {
	ws, err := scenarios.Workloads()
	if err != nil {
		t.Fatal(err)
	}
	base := builders.BuildRequest{Workload: ws[0], BaseRegistry: "up:5000", Mirror: "mirror:5000", CacheRepo: "cache:5000/cache/small/r1", Daemon: "tcp://daemon-r1:2375"}
	for _, tc := range []struct {
		strategy    string
		want, never []string
	}{
		{"none", []string{"--build-arg BASE_REGISTRY=up:5000"}, []string{"--daemon", "--cache", "INLINE_CACHE", "mirror:5000"}},
		{"registry", []string{"--cache-ref=cache:5000/cache/small/r1:buildcache --cache-from=cache:5000/cache/small/r1:buildcache --build-arg BUILDKIT_INLINE_CACHE=1"}, []string{"--daemon"}},
		{"pv-warm", []string{"--build-arg BASE_REGISTRY=up:5000"}, []string{"--daemon", "--cache"}},
		{"mirror", []string{"--build-arg BASE_REGISTRY=mirror:5000"}, []string{"up:5000", "--cache"}},
		{"daemon", []string{"--daemon=tcp://daemon-r1:2375 --build-arg BASE_REGISTRY=up:5000"}, []string{"--cache"}},
	} {
		req := base
		req.Strategy = strategy(t, tc.strategy)
		args, err := Docker{}.Args(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.strategy, err)
		}
		joined := strings.Join(args, " ")
		for _, w := range tc.want {
			if !strings.HasPrefix(joined, w) && !strings.Contains(joined, " "+w) {
				t.Errorf("%s: args %q lack %q", tc.strategy, joined, w)
			}
		}
		for _, n := range tc.never {
			if strings.Contains(joined, n) {
				t.Errorf("%s: args %q hold %q", tc.strategy, joined, n)
			}
		}
	}
	for name, mend := range map[string]func(*builders.BuildRequest){
		"registry": func(r *builders.BuildRequest) { r.CacheRepo = "" },
		"mirror":   func(r *builders.BuildRequest) { r.Mirror = "" },
		"daemon":   func(r *builders.BuildRequest) { r.Daemon = "" },
	} {
		req := base
		req.Strategy = strategy(t, name)
		mend(&req)
		if _, err := (Docker{}).Args(req); err == nil {
			t.Errorf("%s: a run without what it needs must be refused", name)
		}
	}
}

// The build script, run with stand-ins for dockerd and docker: its own
// daemon or the round's, trusting the image's and the bases' registries;
// the image pushed, and the cache reference too; the pushed digest as
// the Task's result.
func TestDockerBuildScript(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	stub := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	stub("dockerd", `echo "own dockerd: $* (runc: $(command -v runc))" >>"$OUT"; sleep 5`)
	stub("docker", `[ "$1" = version ] && exit 0
echo "docker on ${DOCKER_HOST:-its own daemon}: $*" >>"$OUT"
if [ "$1" = push ]; then echo "1: digest: sha256:abc$(printf %s "$2" | wc -c | tr -d ' ') size: 42"; fi`)
	script := strings.NewReplacer(
		"$(workspaces.cache.bound)", "false",
		"$(workspaces.source.path)", dir,
		"$(results.IMAGE_DIGEST.path)", filepath.Join(dir, "digest"),
		"/tmp/", dir+"/",
		"/var/lib/docker", filepath.Join(dir, "state"),
	).Replace(buildScript)
	var env []string
	run := func(args ...string) string {
		out := filepath.Join(dir, "out")
		os.Remove(out)
		cmd := exec.Command("sh", append([]string{"-c", script, "sh"}, args...)...)
		cmd.Env = append([]string{"PATH=" + dir + ":/usr/bin:/bin", "OUT=" + out, "PARAM_IMAGE=cache:5000/bench/x:1", "PARAM_DOCKERFILE=Dockerfile", "PARAM_CONTEXT=.", "TMPDIR=" + dir}, env...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		got, _ := os.ReadFile(out)
		return string(got)
	}
	req := builders.BuildRequest{Strategy: strategy(t, "daemon"), Daemon: "tcp://daemon-r1:2375", BaseRegistry: "up:5000"}
	args, err := Docker{}.Args(req)
	if err != nil {
		t.Fatal(err)
	}
	got := run(args...)
	if strings.Contains(got, "own dockerd") || !strings.Contains(got, "docker on tcp://daemon-r1:2375: build ") || strings.Contains(got, "--daemon") {
		t.Errorf("with a daemon:\n%s", got)
	}
	got = run("--cache-ref=cache:5000/cache/r1:buildcache", "--cache-from=cache:5000/cache/r1:buildcache", "--build-arg", "BASE_REGISTRY=up:5000/r1")
	for _, want := range []string{
		"--insecure-registry=http://cache:5000 --insecure-registry=http://up:5000 ",
		"--data-root=" + filepath.Join(dir, "state") + " ",
		"docker on its own daemon: build --progress=plain --network=host -f " + dir + "/src/Dockerfile -t cache:5000/bench/x:1 --tag=cache:5000/cache/r1:buildcache --cache-from=cache:5000/cache/r1:buildcache --build-arg BASE_REGISTRY=up:5000/r1 " + dir + "/src/.",
		"docker on its own daemon: push cache:5000/bench/x:1\n",
		"docker on its own daemon: push cache:5000/cache/r1:buildcache\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("without a daemon, with a cache reference: no %q in\n%s", want, got)
		}
	}
	if d, _ := os.ReadFile(filepath.Join(dir, "digest")); string(d) != "sha256:abc20" {
		t.Errorf("digest %q, want the image's push's (sha256:abc20), not the cache's", d)
	}
	if strings.Contains(got, "runc-with-ca") {
		t.Errorf("without the build CA, dockerd runs RUN instructions through the CA's runtime:\n%s", got)
	}
	// With the build CA, the runc dockerd finds first runs the runtime
	// that binds it, with PATH as it was.
	env = []string{"CACHEBENCH_BUILD_CA=/etc/ssl/certs/ca-certificates.crt"}
	shim := filepath.Join(dir, "runc-with-ca.d", "runc")
	if got := run("--build-arg", "BASE_REGISTRY=up:5000"); !strings.Contains(got, "(runc: "+shim+")") {
		t.Errorf("with the build CA, dockerd's runc is not %s:\n%s", shim, got)
	}
	if b, err := os.ReadFile(shim); err != nil || !strings.Contains(string(b), `PATH="`+dir+`:/usr/bin:/bin" exec "`+filepath.Join(dir, "runc-with-ca")+`" "$@"`) {
		t.Errorf("the runc shim: %v\n%s", err, b)
	}
}

// The daemon serves builds on the port the harness reaches it at, with
// its garbage collection's limit when given one.
func TestDockerDaemonPod(t *testing.T) {
	d := Docker{Image: "docker"}
	spec := d.DaemonPod([]string{"cache:5000", "up:5000"}, 0)
	c := spec.Containers[0]
	if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.ContainerPort == d.DaemonPort() }) {
		t.Errorf("daemon ports %v lack %d", c.Ports, d.DaemonPort())
	}
	if !strings.Contains(daemonScript, "--host=tcp://0.0.0.0:2375") || d.DaemonPort() != 2375 {
		t.Errorf("the daemon's script listens elsewhere than on port %d", d.DaemonPort())
	}
	if !slices.Equal(c.Command[len(c.Command)-2:], []string{"cache:5000", "up:5000"}) || len(c.Env) != 0 {
		t.Errorf("command %q, env %v", c.Command, c.Env)
	}
	if env := d.DaemonPod(nil, 5e9).Containers[0].Env; len(env) != 1 || env[0].Name != "GC_MAX_USED_BYTES" || env[0].Value != "5000000000" {
		t.Errorf("with a limit, env %v", env)
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	// The configuration dockerd is given, with and without a limit.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dockerd"), []byte(`#!/bin/sh
for a in "$@"; do case "$a" in --config-file=*) cat "${a#--config-file=}" ;; esac; done
`), 0o755); err != nil {
		t.Fatal(err)
	}
	script := strings.ReplaceAll(daemonScript, "/etc/docker", filepath.Join(dir, "etc"))
	config := func(env ...string) map[string]any {
		cmd := exec.Command("sh", "-c", script, "dockerd", "cache:5000")
		cmd.Env = append([]string{"PATH=" + dir + ":/usr/bin:/bin", "TMPDIR=" + dir}, env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		var c map[string]any
		if err := json.Unmarshal(out, &c); err != nil {
			t.Fatalf("daemon.json: %v: %s", err, out)
		}
		return c
	}
	if c := config(); len(c) != 0 {
		t.Errorf("without a limit, daemon.json %v: want dockerd's defaults", c)
	}
	want := map[string]any{"builder": map[string]any{"gc": map[string]any{"enabled": true, "defaultKeepStorage": "5000000000"}}}
	if c := config("GC_MAX_USED_BYTES=5000000000"); !reflect.DeepEqual(c, want) {
		t.Errorf("with a limit, daemon.json %v, want %v", c, want)
	}
}

// The official image's dind script mounts a new tmpfs over /tmp unless
// one is there: the step runs it before writing to /tmp, so that the
// runtime with the build CA and its shim are still there when dockerd
// runs RUN instructions. The stub dind empties the folder standing for
// /tmp the first time, as the mount would hide it.
func TestDockerStepRunsDindFirst(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	stub := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	stub("dind", `[ -e "$TMPDIR/.mounted" ] || { rm -rf "$TMPDIR"; mkdir "$TMPDIR"; touch "$TMPDIR/.mounted"; }
exec "$@"`)
	// dockerd says which runc it finds, and the runtime that one runs.
	stub("dockerd", `r=$(command -v runc) || r=none
rt=$(sed -n 's/.* exec "\(.*\)" "\$@"$/\1/p' "$r" 2>/dev/null) || true
[ -n "$rt" ] && [ -x "$rt" ] || rt=none
echo "runc: $r runs $rt" >>"$OUT"
sleep 1`)
	stub("docker", `if [ "$1" = version ]; then [ -s "$OUT" ]; exit $?; fi
if [ "$1" = push ]; then echo "1: digest: sha256:abc size: 42"; fi`)
	for name, script := range map[string]string{"the build step": buildScript, "the daemon": daemonScript} {
		script = strings.NewReplacer(
			"$(workspaces.cache.bound)", "false",
			"$(workspaces.source.path)", dir,
			"$(results.IMAGE_DIGEST.path)", filepath.Join(dir, "digest"),
			"/tmp/", tmp+"/",
			"/var/lib/docker", filepath.Join(dir, "state"),
			"/etc/docker", filepath.Join(dir, "etc"),
			"exec $dind dockerd", "$dind dockerd",
		).Replace(script)
		out := filepath.Join(dir, "out")
		os.Remove(out)
		cmd := exec.Command("sh", "-c", script, "sh")
		cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin", "OUT=" + out, "PARAM_IMAGE=cache:5000/bench/x:1", "PARAM_DOCKERFILE=Dockerfile", "PARAM_CONTEXT=.",
			"TMPDIR=" + tmp, "CACHEBENCH_BUILD_CA=/etc/ssl/certs/ca-certificates.crt"}
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", name, err, b)
		}
		got, _ := os.ReadFile(out)
		if want := "runc: " + filepath.Join(tmp, "runc-with-ca.d", "runc") + " runs " + filepath.Join(tmp, "runc-with-ca") + "\n"; string(got) != want {
			t.Errorf("%s: dockerd found %q, want %q: what the step wrote before dind was hidden", name, got, want)
		}
		os.RemoveAll(tmp)
		os.Mkdir(tmp, 0o755)
	}
}
