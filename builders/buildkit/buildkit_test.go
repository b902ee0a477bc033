package buildkit

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/cachebench/cachebench/builders"
)

// The scripts' shell turns the mapping into buildkitd.toml.
func TestBuildKitConfigMirror(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	script := builders.RegistryMapArg + `registries="cache:5000 up:5000"
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

// With the daemon strategy the step builds on the round's daemon, named by
// its first argument, and starts no buildkitd of its own; without it, the
// step starts its own.
func TestBuildKitScriptDaemon(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	stub := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	stub("buildkitd", `echo "own buildkitd" >>"$OUT"; sleep 5`)
	stub("buildctl", `[ "$1" = debug ] && exit 0; echo "buildctl on ${BUILDKIT_HOST:-its own daemon}: $*" >>"$OUT"`)
	script := strings.NewReplacer(
		"$(workspaces.cache.bound)", "false",
		"$(workspaces.source.path)", dir,
		"$(results.IMAGE_DIGEST.path)", filepath.Join(dir, "digest"),
		"/etc/buildkit", filepath.Join(dir, "etc"),
		"/tmp/", dir+"/",
	).Replace(buildKitScript)
	run := func(args ...string) string {
		out := filepath.Join(dir, "out")
		os.Remove(out)
		cmd := exec.Command("sh", append([]string{"-c", script, "sh"}, args...)...)
		cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin", "OUT=" + out, "PARAM_IMAGE=cache:5000/bench/x:1", "PARAM_DOCKERFILE=Dockerfile", "PARAM_CONTEXT=.", "TMPDIR=" + dir}
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		got, _ := os.ReadFile(out)
		return string(got)
	}
	b := BuildKit{}
	req := builders.BuildRequest{Strategy: b.Strategies()[4], Daemon: "tcp://daemon-r1:1234", BaseRegistry: "up:5000"}
	args, err := b.Args(req)
	if err != nil || len(args) == 0 || args[0] != "--daemon=tcp://daemon-r1:1234" {
		t.Fatalf("daemon strategy's args %q, %v: want --daemon=<address> first", args, err)
	}
	if got := run(args...); strings.Contains(got, "own buildkitd") || !strings.Contains(got, "buildctl on tcp://daemon-r1:1234: build ") || strings.Contains(got, "--daemon") {
		t.Errorf("with a daemon:\n%s", got)
	}
	if got := run("--opt", "build-arg:BASE_REGISTRY=up:5000"); !strings.Contains(got, "own buildkitd") || !strings.Contains(got, "buildctl on its own daemon: build ") {
		t.Errorf("without a daemon:\n%s", got)
	}
	req.Daemon = ""
	if _, err := b.Args(req); err == nil {
		t.Error("want an error without a daemon address")
	}
}

// daemonConfig is the part of buildkitd.toml the daemon's script writes,
// with buildkitd's names for it.
type daemonConfig struct {
	Registry map[string]struct {
		HTTP     bool     `toml:"http"`
		Insecure bool     `toml:"insecure"`
		Mirrors  []string `toml:"mirrors"`
	} `toml:"registry"`
	Worker struct {
		OCI struct {
			GC       *bool `toml:"gc"`
			GCPolicy []struct {
				All          bool     `toml:"all"`
				Filters      []string `toml:"filters"`
				MaxUsedSpace string   `toml:"maxUsedSpace"`
			} `toml:"gcpolicy"`
		} `toml:"oci"`
	} `toml:"worker"`
}

// The daemon's garbage collection: with a limit, one rule that lets
// anything go above the limit; without one, no rule (buildkitd's
// defaults). Every key written is one buildkitd reads.
func TestBuildKitDaemonGC(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "buildkitd"), []byte("#!/bin/sh\ncp \"$CONFIG\" \"$OUT\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(gcLimit int64) daemonConfig {
		t.Helper()
		spec := BuildKit{}.DaemonPod([]string{"registry:5000"}, gcLimit)
		c := spec.Containers[0]
		script := strings.NewReplacer("/etc/buildkit", filepath.Join(dir, "etc"), "/var/lib/buildkit", filepath.Join(dir, "state")).Replace(c.Command[2])
		out := filepath.Join(dir, "out")
		cmd := exec.Command("sh", append([]string{"-c", script}, c.Command[3:]...)...)
		cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin", "OUT=" + out, "CONFIG=" + filepath.Join(dir, "etc", "buildkitd.toml"), "TMPDIR=" + dir}
		for _, e := range c.Env {
			cmd.Env = append(cmd.Env, e.Name+"="+e.Value)
		}
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		var cfg daemonConfig
		md, err := toml.DecodeFile(out, &cfg)
		if err != nil {
			t.Fatalf("gc limit %d: buildkitd.toml: %v", gcLimit, err)
		}
		if u := md.Undecoded(); len(u) > 0 {
			t.Errorf("gc limit %d: buildkitd.toml has keys buildkitd does not read: %v", gcLimit, u)
		}
		if !cfg.Registry["registry:5000"].HTTP {
			t.Errorf("gc limit %d: the registry lost its settings: %+v", gcLimit, cfg.Registry)
		}
		return cfg
	}
	oci := run(500 << 20).Worker.OCI
	if p := oci.GCPolicy; oci.GC == nil || !*oci.GC || len(p) != 1 || !p[0].All || p[0].MaxUsedSpace != "524288000" || len(p[0].Filters) != 0 {
		t.Errorf("gc limit 500 MiB: gc %v, rules %+v; want gc on and one rule for all above 524288000 bytes", oci.GC, p)
	}
	oci = run(0).Worker.OCI
	if oci.GC != nil || len(oci.GCPolicy) != 0 {
		t.Errorf("no gc limit: gc %v, rules %+v; want buildkitd's own", oci.GC, oci.GCPolicy)
	}
}
