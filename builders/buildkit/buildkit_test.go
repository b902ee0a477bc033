package buildkit

import (
	"os/exec"
	"strings"
	"testing"

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
