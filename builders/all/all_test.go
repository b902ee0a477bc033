package all

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/builders/buildah"
	"github.com/cachebench/cachebench/builders/buildkit"
	"github.com/cachebench/cachebench/builders/docker"
	"github.com/cachebench/cachebench/builders/kaniko"
	"github.com/cachebench/cachebench/images"
	"github.com/cachebench/cachebench/versions"
)

func TestSelect(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want []string
		err  string
	}{
		{nil, []string{"kaniko", "kaniko-chainguard", "buildkit", "buildah", "docker"}, ""},
		{[]string{"buildah", "kaniko"}, []string{"buildah", "kaniko"}, ""},
		{[]string{"buildah", "kaniko", "kaniko"}, nil, `"kaniko" named twice`},
		{[]string{"podman"}, nil, `"podman": choose from kaniko, kaniko-chainguard, buildkit, buildah, docker`},
	} {
		defs, err := Select(tc.in)
		var got []string
		for _, d := range defs {
			got = append(got, d.Name)
		}
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Select(%q): %v, want an error saying %s", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Select(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// Each builder's images: their roles, the references runs use offline,
// and the official ones online (by tag here; pinned by digest when
// resolved). The fork of kaniko publishes none.
func TestBuilderImages(t *testing.T) {
	want := map[string]struct{ local, official string }{
		kaniko.RoleExecutor:          {"cachebench.local/kaniko/executor:" + versions.Kaniko, versions.KanikoExecutor},
		kaniko.RoleWarmer:            {"cachebench.local/kaniko/warmer:" + versions.Kaniko, versions.KanikoWarmer},
		"kaniko-chainguard-executor": {"cachebench.local/kaniko-chainguard/executor:" + versions.KanikoChainguard, ""},
		"kaniko-chainguard-warmer":   {"cachebench.local/kaniko-chainguard/warmer:" + versions.KanikoChainguard, ""},
		buildkit.Role:                {"cachebench.local/buildkit:" + versions.BuildKit, versions.BuildKitImage},
		buildah.Role:                 {"cachebench.local/buildah:" + versions.Debian, versions.BuildahImage},
		docker.Role:                  {"cachebench.local/docker:" + versions.Debian, versions.DockerImage},
	}
	got := map[string]struct{ local, official string }{}
	for _, img := range Images(Builders) {
		if _, ok := got[img.Role]; ok {
			t.Errorf("two images have the role %s", img.Role)
		}
		got[img.Role] = struct{ local, official string }{img.Ref(), img.Official}
		if img.Official == "" && img.Spec.Rootfs != nil {
			// Online means no root and no Debian mirror.
			t.Errorf("%s has no official image and needs the Debian root filesystem %s: online runs could not build it", img.Role, img.Spec.Rootfs.Name)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("builder images:\n%v\nwant\n%v", got, want)
	}
	// A builder's own images, and no other's.
	defs, _ := Select([]string{"kaniko-chainguard"})
	var roles []string
	for _, img := range Images(defs) {
		roles = append(roles, img.Role)
	}
	if !slices.Equal(roles, []string{"kaniko-chainguard-executor", "kaniko-chainguard-warmer"}) {
		t.Errorf("kaniko-chainguard's images: %v", roles)
	}
}

// Each builder made from its images runs them, and is named as registered.
func TestNewRunsItsImages(t *testing.T) {
	refs := map[string]string{}
	for _, img := range Images(Builders) {
		refs[img.Role] = img.Ref()
	}
	for _, d := range Builders {
		b := d.New(builders.Settings{Images: refs})
		if b.Name() != d.Name {
			t.Errorf("%s makes a builder named %s", d.Name, b.Name())
		}
		var mine []string
		for _, img := range d.Images {
			mine = append(mine, img.Ref())
		}
		for _, ref := range b.Images() {
			if !slices.Contains(mine, ref) {
				t.Errorf("%s runs %s, none of its images (%v)", d.Name, ref, mine)
			}
		}
	}
}

func spec(t *testing.T, name string) images.Spec {
	t.Helper()
	for _, img := range Images(Builders) {
		if img.Spec.Name == name {
			return img.Spec
		}
	}
	t.Fatalf("no builder image %s", name)
	return images.Spec{}
}

func TestBuilderImageLayouts(t *testing.T) {
	bk := spec(t, "buildkit")
	if bk.Rootfs == nil || !slices.Contains(bk.Rootfs.Packages, "runc") || len(bk.Config.Entrypoint) != 0 {
		t.Errorf("buildkit: want a Debian rootfs with runc and no entrypoint: %+v", bk)
	}
	var dests []string
	for _, b := range bk.Binaries {
		dests = append(dests, b.Dest)
		if !b.Build.InModule {
			t.Errorf("buildkit's %s is not built inside its module", b.Name)
		}
	}
	if !reflect.DeepEqual(dests, []string{"/usr/bin/buildkitd", "/usr/bin/buildctl"}) {
		t.Errorf("buildkit binaries at %v", dests)
	}
	bh := spec(t, "buildah")
	for _, p := range []string{"buildah", "runc", "fuse-overlayfs", "uidmap", "ca-certificates"} {
		if bh.Rootfs == nil || !slices.Contains(bh.Rootfs.Packages, p) {
			t.Errorf("buildah rootfs lacks %s", p)
		}
	}
	for _, s := range []images.Spec{spec(t, "kaniko-chainguard-executor"), spec(t, "kaniko-chainguard-warmer")} {
		cmd := strings.TrimPrefix(s.Name, "kaniko-chainguard-")
		if !reflect.DeepEqual(s.Config.Entrypoint, []string{"/kaniko/" + cmd}) || s.Binaries[0].Build.Module != "github.com/chainguard-dev/kaniko" {
			t.Errorf("%s: entrypoint %v, module %s", s.Name, s.Config.Entrypoint, s.Binaries[0].Build.Module)
		}
	}
	// The two kaniko flavours share a layout, not an archive.
	up, cg := spec(t, "kaniko-executor"), spec(t, "kaniko-chainguard-executor")
	if !reflect.DeepEqual(up.Config, cg.Config) || !reflect.DeepEqual(up.Files, cg.Files) {
		t.Error("kaniko-chainguard's layout differs from kaniko's")
	}
	if up.Refs[0] == cg.Refs[0] {
		t.Error("kaniko and kaniko-chainguard share a reference")
	}
}

// The builders' Go builds: inside their module or not, their version
// stamps and the binaries they make.
func TestBuilderGoBuilds(t *testing.T) {
	for _, tc := range []struct {
		image    string
		inModule bool
		ldflag   string
		tags     []string
		names    []string
	}{
		{"buildkit", true, "-X github.com/moby/buildkit/version.Version=" + versions.BuildKit, []string{"osusergo", "netgo", "static_build"}, []string{"buildkitd", "buildctl"}},
		{"kaniko-chainguard-executor", true, "-X github.com/chainguard-dev/kaniko/pkg/version.version=" + versions.KanikoChainguard, nil, []string{"executor"}},
		{"kaniko-executor", false, "-X github.com/GoogleContainerTools/kaniko/pkg/version.version=" + versions.Kaniko, nil, []string{"executor"}},
	} {
		s := spec(t, tc.image)
		var names []string
		for _, bin := range s.Binaries {
			names = append(names, bin.Name)
			b := bin.Build
			if b.InModule != tc.inModule {
				t.Errorf("%s: InModule %v, want %v", tc.image, b.InModule, tc.inModule)
			}
			if !slices.Contains(b.LDFlags, tc.ldflag) {
				t.Errorf("%s: ldflags %q lack %s", tc.image, b.LDFlags, tc.ldflag)
			}
			if !slices.Equal(b.Tags, tc.tags) {
				t.Errorf("%s: tags %q, want upstream's %q", tc.image, b.Tags, tc.tags)
			}
			if !slices.Contains(b.Packages, b.Module+"/cmd/"+bin.Name) {
				t.Errorf("%s: %s is not one of the packages built, %v", tc.image, bin.Name, b.Packages)
			}
		}
		if !slices.Equal(names, tc.names) {
			t.Errorf("%s: binaries %v, want %v", tc.image, names, tc.names)
		}
	}
}

// A daemon's state is where the harness measures its cache: every daemon
// pod keeps it on an emptyDir named builders.DaemonStateVolume that its
// container mounts.
func TestDaemonPodsKeepTheirState(t *testing.T) {
	found := 0
	for _, d := range Builders {
		b, ok := d.New(builders.Settings{Images: map[string]string{}}).(builders.Daemon)
		if !ok {
			continue
		}
		found++
		spec := b.DaemonPod([]string{"registry:5000"}, 0)
		i := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == builders.DaemonStateVolume })
		if i < 0 || spec.Volumes[i].EmptyDir == nil {
			t.Errorf("%s's daemon pod has no emptyDir named %s", d.Name, builders.DaemonStateVolume)
			continue
		}
		mounted := slices.ContainsFunc(spec.Containers, func(c corev1.Container) bool {
			return slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == builders.DaemonStateVolume })
		})
		if !mounted {
			t.Errorf("%s's daemon mounts no %s", d.Name, builders.DaemonStateVolume)
		}
	}
	if found == 0 {
		t.Error("no builder has a daemon")
	}
}
