package buildah

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildahSetsIsolationAndStorage: Buildah's official image sets
// BUILDAH_ISOLATION=chroot, under which RUN instructions never call the runtime
// wrapper that binds the build CA, and configures fuse-overlayfs storage;
// the step must say both itself.
func TestBuildahSetsIsolationAndStorage(t *testing.T) {
	task := Buildah{Image: "buildah", AuthSecret: "auth", CABundle: "build-ca"}.Task("buildah-build")
	step := task.Spec.Steps[0]
	isolation := ""
	for _, e := range step.Env {
		if e.Name == "BUILDAH_ISOLATION" {
			isolation = e.Value
		}
	}
	if isolation != "oci" {
		t.Errorf("BUILDAH_ISOLATION=%q in the build step, want oci (RUN instructions through the runtime wrapper)", isolation)
	}
	for name, script := range map[string]string{"build": step.Script, "warm-up": buildahWarmScript} {
		if strings.Contains(script, "--storage-driver") || !strings.Contains(script, "CONTAINERS_STORAGE_CONF") {
			t.Errorf("%s script: storage must come from the step's own configuration, not the image's with a driver flag on top:\n%s", name, script)
		}
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	// The step's /tmp is its container's; here it is the test's folder.
	script := strings.ReplaceAll(buildahStorage, "/tmp/", dir+"/")
	cmd := exec.Command("sh", "-c", "root="+filepath.Join(dir, "storage")+"\n"+script+`cat "$CONTAINERS_STORAGE_CONF"`)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	conf := string(out)
	for _, want := range []string{"[storage]\n", `driver = "overlay"`, `graphroot = "` + filepath.Join(dir, "storage") + `"`} {
		if !strings.Contains(conf, want) {
			t.Errorf("storage.conf lacks %s:\n%s", want, conf)
		}
	}
	if strings.Contains(conf, "mount_program") || strings.Contains(conf, "additionalimagestores") {
		t.Errorf("storage.conf must not use fuse-overlayfs or shared stores:\n%s", conf)
	}
}
