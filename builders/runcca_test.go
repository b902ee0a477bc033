package builders

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The runtime wrapper binds the build CA bundle into each RUN instruction's
// container, once, and only where its root filesystem has a bundle.
func TestRuncWithCA(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "bin")
	os.MkdirAll(bin, 0o755)
	// A runc that records its arguments.
	os.WriteFile(filepath.Join(bin, "runc"), []byte("#!/bin/sh\necho \"$@\" >>\""+tmp+"/runc.args\"\n"), 0o755)
	prepare := func(env ...string) string {
		cmd := exec.Command("sh", "-c", PrepareRuncWithCA+`printf %s "$runtime"`)
		cmd.Env = append([]string{"TMPDIR=" + tmp, "PATH=" + bin + ":/usr/bin:/bin"}, env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return string(out)
	}
	if rt := prepare(); rt != "" {
		t.Fatalf("without a build CA the runtime should stay runc, got %q", rt)
	}
	runtime := prepare(buildCAEnv + "=" + systemCABundle)
	if runtime == "" {
		t.Fatal("no wrapper with a build CA")
	}
	bundle := func(name string, withCA bool, root string) string {
		dir := filepath.Join(tmp, name)
		os.MkdirAll(filepath.Join(dir, "rootfs/etc/ssl/certs"), 0o755)
		if withCA {
			os.WriteFile(filepath.Join(dir, "rootfs", systemCABundle), []byte("base image bundle"), 0o644)
		}
		if root == "" {
			root = filepath.Join(dir, "rootfs")
		}
		spec := `{"ociVersion":"1.0.2","process":{"args":["sh"]},"root":{"path":"` + root + `","readonly":false},"mounts":[{"destination":"/proc","type":"proc","source":"proc"}]}`
		os.WriteFile(filepath.Join(dir, "config.json"), []byte(spec), 0o644)
		return dir
	}
	run := func(args ...string) {
		cmd := exec.Command(runtime, args...)
		cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin"}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	mounts := func(dir string) []map[string]any {
		var spec struct {
			Mounts []map[string]any `json:"mounts"`
		}
		b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
		if err := json.Unmarshal(b, &spec); err != nil {
			t.Fatalf("config.json no longer parses: %v\n%s", err, b)
		}
		return spec.Mounts
	}

	abs := bundle("abs", true, "")
	run("--log", "x.log", "run", "--bundle", abs, "id1")
	run("run", "--bundle="+abs, "id1") // a second call adds nothing
	ms := mounts(abs)
	if len(ms) != 2 || ms[0]["destination"] != systemCABundle || ms[0]["source"] != systemCABundle || ms[0]["type"] != "bind" {
		t.Errorf("mounts %v, want the CA bundle bound first, once", ms)
	}
	rel := bundle("rel", true, "rootfs")
	run("create", "-b", rel, "id2")
	if ms := mounts(rel); len(ms) != 2 {
		t.Errorf("relative root: mounts %v", ms)
	}
	none := bundle("none", false, "")
	run("run", "--bundle", none, "id3")
	if ms := mounts(none); len(ms) != 1 {
		t.Errorf("a root filesystem without a bundle must not get a mount point: %v", ms)
	}
	run("--version")
	args, _ := os.ReadFile(filepath.Join(tmp, "runc.args"))
	if got := strings.Count(string(args), "\n"); got != 5 {
		t.Errorf("runc ran %d times, want 5:\n%s", got, args)
	}
}

// TestRuncWithCAFindsTheImagesRuntime: the wrapper runs the OCI runtime the
// image has, looked up as buildkitd looks (buildkit-runc, then runc), then
// crun: BuildKit's official image has only buildkit-runc in /usr/bin,
// Buildah's (Fedora) crun.
func TestRuncWithCAFindsTheImagesRuntime(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	for _, tt := range []struct {
		have []string
		want string
	}{
		{[]string{"buildkit-runc"}, "buildkit-runc"},
		{[]string{"buildkit-runc", "runc"}, "buildkit-runc"},
		{[]string{"runc", "crun"}, "runc"},
		{[]string{"crun"}, "crun"},
	} {
		t.Run(strings.Join(tt.have, ","), func(t *testing.T) {
			tmp := t.TempDir()
			bin := filepath.Join(tmp, "bin")
			os.MkdirAll(bin, 0o755)
			for _, rt := range tt.have {
				os.WriteFile(filepath.Join(bin, rt), []byte("#!/bin/sh\necho "+rt+" \"$@\"\n"), 0o755)
			}
			// Only the image's runtimes and the tools the wrapper uses: no
			// runc of the host's.
			tools := filepath.Join(tmp, "tools")
			os.MkdirAll(tools, 0o755)
			for _, tool := range []string{"sh", "cat", "chmod", "grep", "sed"} {
				p, err := exec.LookPath(tool)
				if err != nil {
					t.Skipf("no %s", tool)
				}
				os.Symlink(p, filepath.Join(tools, tool))
			}
			path := "PATH=" + bin + ":" + tools
			cmd := exec.Command("sh", "-c", PrepareRuncWithCA+`printf %s "$runtime"`)
			cmd.Env = []string{"TMPDIR=" + tmp, path, buildCAEnv + "=" + systemCABundle}
			out, err := cmd.CombinedOutput()
			if err != nil || len(out) == 0 {
				t.Fatalf("prepare the wrapper: %v: %s", err, out)
			}
			run := exec.Command(string(out), "--version")
			run.Env = []string{path}
			got, err := run.CombinedOutput()
			if err != nil || strings.TrimSpace(string(got)) != tt.want+" --version" {
				t.Errorf("the wrapper ran %q (%v), want %s --version", got, err, tt.want)
			}
		})
	}
}
