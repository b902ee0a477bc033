package buildkit

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/images"
	"github.com/cachebench/cachebench/versions"
)

// Role is the role of BuildKit's one image.
const Role = "buildkit"

// Definition is BuildKit: its official image online, built from its
// module on a Debian root filesystem offline.
var Definition = builders.Definition{
	Name:   "buildkit",
	Images: []images.BuilderImage{{Role: Role, Official: versions.BuildKitImage, Spec: imageSpec(build(versions.BuildKit))}},
	New: func(s builders.Settings) builders.Builder {
		return BuildKit{Image: s.Images[Role], AuthSecret: s.AuthSecret, CABundle: s.CABundle}
	},
}

// rootfs: BuildKit's OCI worker runs buildkit-runc, else runc, from PATH;
// Debian's runc brings libseccomp2. pigz: containerd (in buildkitd)
// decompresses layers with unpigz when it finds one, as it does in
// BuildKit's official image.
var rootfs = images.Rootfs{Name: "buildkit", Packages: []string{"ca-certificates", "runc", "pigz"}}

// build builds buildkitd and buildctl from BuildKit's own module: its
// go.mod excludes versions that a wrapper module would select. Static
// (cgo off, as in upstream's Dockerfile), with its tags less "seccomp",
// which selects no other file when cgo is off, and the version stamps
// "buildctl --version" prints. (Upstream also stamps version.Revision, a
// git commit the module proxy does not tell.)
func build(v string) images.GoBuild {
	const m = "github.com/moby/buildkit"
	return images.GoBuild{
		Module: m, Version: v, InModule: true,
		Packages: []string{m + "/cmd/buildkitd", m + "/cmd/buildctl"},
		Tags:     []string{"osusergo", "netgo", "static_build"},
		LDFlags:  []string{"-X " + m + "/version.Version=" + v, "-X " + m + "/version.Package=" + m},
	}
}

// imageSpec has no entrypoint and no buildkitd.toml: the Tekton step
// starts buildkitd with the configuration it writes.
func imageSpec(b images.GoBuild) images.Spec {
	return images.Spec{
		Name: "buildkit", Refs: []string{images.Ref("buildkit", b.Version)}, Rootfs: &rootfs,
		Binaries: []images.Binary{
			{Build: b, Name: "buildkitd", Dest: "/usr/bin/buildkitd"},
			{Build: b, Name: "buildctl", Dest: "/usr/bin/buildctl"},
		},
		Files:  []images.File{{Path: "/var/lib/buildkit", Dir: true}, {Path: "/etc/buildkit", Dir: true}},
		Config: v1.Config{Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
	}
}
