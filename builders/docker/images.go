package docker

import (
	"regexp"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/images"
	"github.com/cachebench/cachebench/versions"
)

// Role is the role of the docker builder's one image.
const Role = "docker"

// Definition is the docker builder: the official docker:<version>-dind
// image online, Debian's docker.io package offline.
var Definition = builders.Definition{
	Name: "docker",
	Images: []images.BuilderImage{{Role: Role, Official: versions.DockerImage, Spec: images.Spec{
		Name: "docker", Refs: []string{images.Ref("docker", versions.Debian)}, Rootfs: &rootfs,
		Files:  []images.File{{Path: "/var/lib/docker", Dir: true}, {Path: "/etc/docker", Dir: true}},
		Config: v1.Config{Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
	}}},
	New: func(s builders.Settings) builders.Builder {
		return Docker{Image: s.Images[Role], AuthSecret: s.AuthSecret, CABundle: s.CABundle}
	},
	KnownFindings: []builders.KnownFinding{{
		Change: "base",
		Text:   regexp.MustCompile(`^".*" came from the cache; expected to run \(the base image has a new digest\)$`),
		Why:    "the inline cache of Docker 20.10's BuildKit matches a base by its layers, not its digest: a base with a new digest and the same layers keeps the steps after it cached (docs/image-check.md)",
	}},
}

// rootfs: docker.io brings dockerd, the docker CLI, containerd and runc;
// minbase leaves its Recommends out, of which dockerd wants pigz (it
// decompresses layers with unpigz when it finds one) and the CA bundle.
var rootfs = images.Rootfs{Name: "docker", Packages: []string{"docker.io", "ca-certificates", "pigz"}}
