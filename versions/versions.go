// Package versions pins every upstream cachebench builds or pulls, in one
// place, so that a result can name exactly what produced it.
package versions

const (
	// Kubernetes is the node version. Our hosts are cgroup v1, which 1.35 no
	// longer runs by default; 1.34 does, with a deprecation warning.
	Kubernetes = "v1.34.1"
	// Etcd, CoreDNS and Pause are what kubeadm v1.34.1 lists
	// ("kubeadm config images list --kubernetes-version v1.34.1").
	Etcd     = "v3.6.4"
	EtcdTag  = "3.6.4-0"
	CoreDNS  = "v1.12.1"
	Pause    = "3.10.1"
	PauseOld = "3.10" // kind's containerd config names this one as sandbox image

	Tekton = "v1.15.0"
	// Triggers is github.com/tektoncd/triggers, installed beside Pipelines
	// when runs start from push events (--start trigger). v0.37.0 requires
	// exactly Pipelines v1.15.0.
	Triggers     = "v0.37.0"
	Kaniko       = "v1.24.0"
	Distribution = "v3.1.2"
	// Toxiproxy (github.com/Shopify/toxiproxy/v2) puts the network
	// profiles in front of the registries.
	Toxiproxy = "v2.12.0"

	// BuildKit is github.com/moby/buildkit (buildkitd and buildctl).
	BuildKit = "v0.34.2"
	// KanikoChainguard is github.com/chainguard-dev/kaniko, the maintained
	// fork of kaniko (upstream was archived in 2025). It publishes no images:
	// online or offline, cachebench builds them from this module.
	KanikoChainguard = "v1.25.5"

	// GoGit is github.com/go-git/go-git/v5, which the git server (and the
	// clone step of every pipeline) is built with: one static binary, no
	// git and no distribution in its image.
	GoGit = "v5.19.3"

	// Kind is the sigs.k8s.io/kind module this project is built with.
	Kind = "v0.33.0"

	// Debian is the suite every Debian-based image is made from. Offline,
	// Buildah and the runc BuildKit uses are this suite's packages (bookworm:
	// buildah 1.28.2, runc 1.1.5); the mirror decides their exact versions,
	// so their images are tagged with the suite, not a package version.
	Debian = "bookworm"
	// Go is the toolchain put into the golang base image of the Go workload,
	// taken from the Go module proxy (golang.org/toolchain).
	Go = "1.26.8"
)

// KindNodeImages are the node images kind v0.33.0 published with its
// release ("Images pre-built for this release" in its release notes), by
// digest: kind promises only these to work with it. The first is kind's
// default (pkg/apis/config/defaults/image.go); Kubernetes 1.35 and later
// do not boot on cgroup v1 hosts by default, where the newest 1.34 serves.
var KindNodeImages = []string{
	"docker.io/kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5",
	"docker.io/kindest/node:v1.36.4@sha256:099e049362a1526b2db71494e1947aae99bd16290d7c895f2b7ea312e3cbfaed",
	"docker.io/kindest/node:v1.35.8@sha256:07b2536e30b803ed61d1677a79df6115f798ce64c80f9e22f6ed45afd09323c0",
	"docker.io/kindest/node:v1.34.11@sha256:44e222ee2132dab25ff87301682f89eb82c7880ea3a1bf543bfe9708fd08d67d",
}

// Online images: the official references used when a registry can be reached.
const (
	KindNodeImageRepo = "docker.io/kindest/node"
	KanikoExecutor    = "gcr.io/kaniko-project/executor:" + Kaniko
	KanikoWarmer      = "gcr.io/kaniko-project/warmer:" + Kaniko
	BuildKitImage     = "docker.io/moby/buildkit:" + BuildKit
	RegistryImage     = "docker.io/library/registry:3.0.0"
	ToxiproxyImage    = "ghcr.io/shopify/toxiproxy:2.12.0"
	DebianBaseImage   = "docker.io/library/debian:bookworm-slim"
	GolangBaseImage   = "docker.io/library/golang:1.26-bookworm"
	// NodeBaseImage matches the offline node base: Debian bookworm's
	// nodejs is Node.js 18.
	NodeBaseImage    = "docker.io/library/node:18-bookworm-slim"
	TektonReleaseURL = "https://infra.tekton.dev/tekton-releases/pipeline/previous/" + Tekton + "/release.yaml"
	// Triggers' release: the controller and webhook, then the core
	// interceptors (the GitHub one checks the push events' signature).
	TriggersReleaseURL      = "https://infra.tekton.dev/tekton-releases/triggers/previous/" + Triggers + "/release.yaml"
	TriggersInterceptorsURL = "https://infra.tekton.dev/tekton-releases/triggers/previous/" + Triggers + "/interceptors.yaml"

	// BuildahImage is Buildah's official image (built and published by the
	// Buildah project), pinned at a release tag; it holds a newer Buildah
	// than the offline image's Debian package.
	BuildahImage = "quay.io/buildah/stable:v1.39.3"

	// DockerImage is Docker's official Docker-in-Docker image (the Docker
	// Official Images' docker:<version>-dind, Alpine-based, with dockerd,
	// containerd, runc and the dind script that readies cgroups for a
	// daemon in a container). It holds a far newer Docker than the offline
	// image's Debian package (bookworm: docker.io 20.10.24).
	DockerImage = "docker.io/library/docker:29.7.2-dind"
)
