package buildah

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/measure"
	"github.com/cachebench/cachebench/results"
)

// Buildah builds with `buildah bud` and pushes with `buildah push`. Its
// containers storage is an emptyDir, or the cache volume for pv-warm (the
// container's own overlayfs cannot hold overlay storage).
type Buildah struct {
	Image      string
	AuthSecret string // dockerconfigjson Secret, mounted as /root/.docker/config.json
	CABundle   string // ConfigMap of the build CA bundle ("" for none)
}

var _ builders.Builder = Buildah{}

// Name implements Builder.
func (Buildah) Name() string { return "buildah" }

// Images implements Builder.
func (b Buildah) Images() map[string]string { return map[string]string{"image": b.Image} }

// Pod implements Builder.
func (Buildah) Pod() string {
	return "privileged container (RUN instructions run with runc); overlay containers storage on an emptyDir, or on the cache volume for pv-warm"
}

// StepName implements Builder.
func (Buildah) StepName() string { return "build" }

// ReadLog implements Builder.
func (Buildah) ReadLog(lines []measure.LogLine) results.BuildLog { return readLog(lines) }

// Strategies implements Builder. Buildah caches layers only with --layers.
func (Buildah) Strategies() []builders.Strategy {
	return []builders.Strategy{
		{Name: "none", Summary: "no cache: --layers=false, fresh containers storage every run"},
		{Name: "registry", Summary: "layer cache in a registry repository: --layers --cache-from and --cache-to the same repository", LayerRepo: "cache"},
		{Name: "pv-warm", Summary: "containers storage (/var/lib/containers) on the round's volume, base images pulled into it by a warm-up pod, --layers; the layers it builds stay there too", CacheVolume: true, VolumeLayers: true},
		builders.MirrorStrategy("base images through a pull-through mirror near the cluster: registries.conf [[registry.mirror]] for the upstream registry, --layers=false"),
	}
}

const buildahAuth = "/root/.docker/config.json"

// buildahScript builds and pushes; EXTRA_ARGS come as the script's
// arguments and go to `buildah bud`, but for a first
// --registry-map=<registry>=<mirror> (the mirror strategy), which becomes
// a registries.conf.
const buildahScript = `#!/bin/sh
set -eu
image="$PARAM_IMAGE"
` + builders.RegistryMapArg + `if [ -n "$mirror_from" ]; then
  printf '[[registry]]\nlocation = "%s"\ninsecure = true\n[[registry.mirror]]\nlocation = "%s"\ninsecure = true\n' "$mirror_from" "$mirror_to" >/tmp/registries.conf
  export CONTAINERS_REGISTRIES_CONF=/tmp/registries.conf
fi
root=/var/lib/containers/storage
if [ "$(workspaces.cache.bound)" = "true" ]; then root="$(workspaces.cache.path)/containers"; fi
` + buildahStorage + `src="$(workspaces.source.path)/src"
` + builders.PrepareRuncWithCA + `buildah bud --tls-verify=false --authfile ` + buildahAuth + ` ${runtime:+--runtime="$runtime"} \
  -f "$src/$PARAM_DOCKERFILE" -t "$image" "$@" "$src/$PARAM_CONTEXT"
buildah push --tls-verify=false --authfile ` + buildahAuth + ` \
  --digestfile "$(results.IMAGE_DIGEST.path)" "$image" "docker://$image"
`

// buildahStorage writes the containers storage configuration of the step
// and points Buildah at it, whatever the image's own says (the official
// image's configures fuse-overlayfs and a shared image store): overlay on
// $root, which is never on the container's own overlayfs (an emptyDir or
// the cache volume), with the kernel's overlay, as the step is privileged.
const buildahStorage = `printf '[storage]\ndriver = "overlay"\ngraphroot = "%s"\nrunroot = "/run/containers/storage"\n' "$root" >/tmp/storage.conf
export CONTAINERS_STORAGE_CONF=/tmp/storage.conf
`

// buildahIsolation runs RUN instructions in containers of the OCI runtime, where
// the runtime wrapper (--runtime) binds the build CA: the official image
// sets BUILDAH_ISOLATION=chroot, under which --runtime is never called.
var buildahIsolation = corev1.EnvVar{Name: "BUILDAH_ISOLATION", Value: "oci"}

// Task implements Builder.
func (b Buildah) Task(name string) *pipelinev1.Task {
	return builders.Task(name, "Build an image from a Dockerfile with Buildah and push it.",
		"containers storage, for strategies with a cache volume",
		pipelinev1.Step{
			Name:            b.StepName(),
			Image:           b.Image,
			Script:          buildahScript,
			Args:            []string{"$(params.EXTRA_ARGS[*])"},
			Env:             []corev1.EnvVar{buildahIsolation},
			SecurityContext: builders.Privileged(),
			VolumeMounts: []corev1.VolumeMount{
				{Name: "docker-config", MountPath: "/root/.docker"},
				{Name: "containers-storage", MountPath: "/var/lib/containers"},
			},
		},
		[]corev1.Volume{
			builders.DockerConfigVolume(b.AuthSecret),
			{Name: "containers-storage", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		}, b.CABundle)
}

// Args implements Builder.
func (b Buildah) Args(req builders.BuildRequest) ([]string, error) {
	buildArgs, err := req.BuildArgs()
	if err != nil {
		return nil, err
	}
	var args []string
	for _, a := range buildArgs {
		args = append(args, "--build-arg="+a)
	}
	m, err := req.RegistryMap()
	if err != nil {
		return nil, err
	}
	if m != "" {
		args = append([]string{"--registry-map=" + m}, args...) // for the script, first
	}
	s := req.Strategy
	switch {
	case !s.UsesCache():
		return append(args, "--layers=false"), nil
	case s.LayerRepo != "":
		if req.CacheRepo == "" {
			return nil, fmt.Errorf("strategy %s: no layer cache repository given", s.Name)
		}
		return append(args, "--layers", "--cache-from="+req.CacheRepo, "--cache-to="+req.CacheRepo), nil
	}
	return append(args, "--layers"), nil
}

// buildahWarmScript pulls each base image into the containers storage on
// the volume.
const buildahWarmScript = `#!/bin/sh
set -eu
root=` + builders.CacheMountPath + `/containers
` + buildahStorage + `for base in "$@"; do
  buildah pull --tls-verify=false --authfile ` + buildahAuth + ` "$base"
done
`

// WarmerPod implements Builder.
func (b Buildah) WarmerPod(req builders.BuildRequest, claim string) (*corev1.PodSpec, error) {
	if !req.Strategy.CacheVolume {
		return nil, nil
	}
	refs, err := req.BaseRefs()
	if err != nil {
		return nil, err
	}
	return builders.WarmerPod(b.Image, b.AuthSecret, claim, "/root/.docker", buildahWarmScript, refs), nil
}
