package standin

import (
	"slices"
	"strings"
	"testing"

	"github.com/cachebench/cachebench/builders/all"
	"github.com/cachebench/cachebench/images"
	"github.com/cachebench/cachebench/versions"
)

// TestCatalogIsFaithful checks, image by image, the facts of the official
// images (their upstream Dockerfiles) that the online path depends on: the
// stand-in finds the harness's mistakes only where it is laid out as they
// are.
func TestCatalogIsFaithful(t *testing.T) {
	byRef := map[string]images.Spec{}
	for _, img := range Catalog(images.NewCatalog("", all.Images(all.Builders)...)) {
		if _, twice := byRef[img.Ref]; twice {
			t.Errorf("%s is in the catalog twice", img.Ref)
		}
		byRef[img.Ref] = img.Spec
	}
	spec := func(ref string) images.Spec {
		t.Helper()
		s, ok := byRef[ref]
		if !ok {
			t.Fatalf("the stand-in serves no %s", ref)
		}
		return s
	}
	has := func(s images.Spec, path string) bool {
		for _, f := range s.Files {
			if f.Path == path {
				return true
			}
		}
		for _, b := range s.Binaries {
			if b.Dest == path {
				return true
			}
		}
		return false
	}
	env := func(s images.Spec, kv string) bool { return slices.Contains(s.Config.Env, kv) }

	// BuildKit: buildkitd is the entrypoint, buildkit-runc is in /usr/bin,
	// no runc anywhere on PATH (the root filesystem's is whited out).
	bk := spec(versions.BuildKitImage)
	if !slices.Equal(bk.Config.Entrypoint, []string{"/usr/bin/buildkitd"}) {
		t.Errorf("buildkit's entrypoint %v, want /usr/bin/buildkitd", bk.Config.Entrypoint)
	}
	for _, wh := range []string{"/usr/sbin/.wh.runc", "/usr/bin/.wh.runc"} {
		if !has(bk, wh) {
			t.Errorf("buildkit keeps runc: no whiteout %s", wh)
		}
	}
	if bk.Extra == nil || !strings.Contains(bk.ExtraInput, "/usr/bin/buildkit-runc") {
		t.Errorf("buildkit has no /usr/bin/buildkit-runc (extra: %q)", bk.ExtraInput)
	}

	// Buildah: BUILDAH_ISOLATION=chroot, crun (Fedora's) and no runc,
	// storage.conf with fuse-overlayfs as mount program and the shared store.
	bh := spec(versions.BuildahImage)
	if !env(bh, "BUILDAH_ISOLATION=chroot") {
		t.Errorf("buildah's environment %v lacks BUILDAH_ISOLATION=chroot", bh.Config.Env)
	}
	if bh.Rootfs == nil || !slices.Contains(bh.Rootfs.Packages, "crun") || slices.Contains(bh.Rootfs.Packages, "runc") {
		t.Errorf("buildah's packages %v: want crun and no runc", bh.Rootfs)
	}
	var conf string
	for _, f := range bh.Files {
		if f.Path == "/etc/containers/storage.conf" {
			conf = string(f.Data)
		}
	}
	for _, want := range []string{`mount_program = "/usr/bin/fuse-overlayfs"`, `"/var/lib/shared"`, `mountopt = "nodev,fsync=0"`} {
		if !strings.Contains(conf, want) {
			t.Errorf("buildah's storage.conf lacks %s:\n%s", want, conf)
		}
	}

	// kaniko: /kaniko/executor and /kaniko/warmer, no shell (no root
	// filesystem).
	for ref, bin := range map[string]string{versions.KanikoExecutor: "/kaniko/executor", versions.KanikoWarmer: "/kaniko/warmer"} {
		s := spec(ref)
		if !has(s, bin) {
			t.Errorf("%s has no %s", ref, bin)
		}
		if s.Rootfs != nil {
			t.Errorf("%s has a root filesystem (%s), so a shell: kaniko's has none", ref, s.Rootfs.Name)
		}
	}

	// The registry: /bin/registry serving its config; Toxiproxy: /toxiproxy
	// listening on every address.
	if reg := spec(versions.RegistryImage); !has(reg, "/bin/registry") || !slices.Equal(reg.Config.Entrypoint, []string{"/bin/registry"}) {
		t.Errorf("the registry image: entrypoint %v", reg.Config.Entrypoint)
	}
	if tp := spec(versions.ToxiproxyImage); !slices.Equal(tp.Config.Entrypoint, []string{"/toxiproxy"}) || !slices.Contains(tp.Config.Cmd, "-host=0.0.0.0") {
		t.Errorf("toxiproxy: entrypoint %v, cmd %v", tp.Config.Entrypoint, tp.Config.Cmd)
	}

	// Docker's bookworm-slim has no CA bundle: a build that needs one
	// installs it, as it must online.
	if slim := spec(versions.DebianBaseImage); slim.Rootfs == nil || slices.Contains(slim.Rootfs.Packages, "ca-certificates") {
		t.Errorf("%s: want a root filesystem without ca-certificates, got %+v", versions.DebianBaseImage, slim.Rootfs)
	}
	for _, ref := range []string{versions.GolangBaseImage, versions.NodeBaseImage, shellImage} {
		spec(ref)
	}
}
