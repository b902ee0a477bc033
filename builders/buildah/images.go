package buildah

import (
	"regexp"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/images"
	"github.com/cachebench/cachebench/versions"
)

// Role is the role of Buildah's one image.
const Role = "buildah"

// Definition is Buildah: its official image online, Debian's buildah
// package offline.
var Definition = builders.Definition{
	Name: "buildah",
	Images: []images.BuilderImage{{Role: Role, Official: versions.BuildahImage, Spec: images.Spec{
		Name: "buildah", Refs: []string{images.Ref("buildah", versions.Debian)}, Rootfs: &rootfs,
		Config: v1.Config{Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
	}}},
	New: func(s builders.Settings) builders.Builder {
		return Buildah{Image: s.Images[Role], AuthSecret: s.AuthSecret, CABundle: s.CABundle}
	},
	KnownFindings: []builders.KnownFinding{
		{
			Change: "base",
			Text:   regexp.MustCompile(`^".*" came from the cache; expected to run \(the base image has a new digest\)$`),
			Why:    "Buildah's layer cache serves a RUN after the base changed digest with the same layers (docs/image-check.md)",
		},
		{
			Change: "base",
			Text:   regexp.MustCompile(`^the image's configuration is not the new base's: .* \(the build kept an earlier base's configuration\)$`),
			Why:    "Buildah's image keeps the earlier base's configuration when its cache serves the build (docs/image-check.md)",
		},
	},
}

// rootfs: minbase leaves Recommends out, and without runc named here
// every RUN of buildah fails ("exec: no command").
var rootfs = images.Rootfs{Name: "buildah", Packages: []string{"buildah", "runc", "fuse-overlayfs", "uidmap", "ca-certificates"}}
