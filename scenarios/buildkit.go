package scenarios

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/cachebench/cachebench/measure"
	"github.com/cachebench/cachebench/results"
)

// BuildKit builds with buildkitd and buildctl, daemonless: the step starts
// its own buildkitd, waits until it answers, builds, and stops it. The
// image needs both binaries, runc and /bin/sh.
type BuildKit struct {
	Image      string
	AuthSecret string // dockerconfigjson Secret, mounted as /root/.docker/config.json
	CABundle   string // ConfigMap of the build CA bundle ("" for none)
}

var _ Builder = BuildKit{}

// Name implements Builder.
func (BuildKit) Name() string { return "buildkit" }

// Images implements Builder.
func (b BuildKit) Images() map[string]string { return map[string]string{"image": b.Image} }

// Pod implements Builder.
func (BuildKit) Pod() string {
	return "privileged container (buildkitd runs RUN steps with runc); its state directory on an emptyDir, or on the cache volume for pv-warm, never on overlayfs"
}

// StepName implements Builder.
func (BuildKit) StepName() string { return "build" }

// ReadLog implements Builder.
func (BuildKit) ReadLog(lines []measure.LogLine) results.BuildLog { return measure.BuildKit(lines) }

// buildKitCacheTag is the tag of the registry cache in a round's repository.
const buildKitCacheTag = "buildcache"

// Strategies implements Builder. With pv-warm the volume is buildkitd's
// whole state directory: base images, and every layer the builds make.
func (BuildKit) Strategies() []Strategy {
	return []Strategy{
		{Name: "none", Summary: "no cache: a fresh state directory every run, no cache import or export"},
		{Name: "registry", Summary: "layer cache in a registry repository: --export-cache type=registry,mode=max and --import-cache of the same ref", LayerRepo: "cache"},
		{Name: "pv-warm", Summary: "buildkitd's state directory on the round's volume, warmed with the base images; the layers it builds stay there too", CacheVolume: true, VolumeLayers: true},
	}
}

// buildKitStart writes buildkitd's registry settings (plain HTTP to the
// in-cluster registry), starts the daemon on a state directory and waits
// until it answers. $registry and $root must be set.
const buildKitStart = `mkdir -p /etc/buildkit "$root"
printf '[registry."%s"]\n  http = true\n  insecure = true\n' "$registry" >/etc/buildkit/buildkitd.toml
` + prepareRuncWithCA + `
buildkitd --config /etc/buildkit/buildkitd.toml --root "$root" ${runtime:+--oci-worker-binary="$runtime"} >/tmp/buildkitd.log 2>&1 &
daemon=$!
trap 'kill "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null || true' EXIT
tries=0
until buildctl debug workers >/dev/null 2>&1; do
  tries=$((tries+1))
  if [ "$tries" -gt 600 ] || ! kill -0 "$daemon" 2>/dev/null; then
    echo "error: buildkitd did not start:" >&2
    cat /tmp/buildkitd.log >&2
    exit 1
  fi
  sleep 0.1
done
`

// buildKitScript builds the workload's Dockerfile and pushes the image;
// EXTRA_ARGS come as the script's arguments.
const buildKitScript = `#!/bin/sh
set -eu
image="$(params.IMAGE)"
registry="${image%%/*}"
root=/var/lib/buildkit
if [ "$(workspaces.cache.bound)" = "true" ]; then root="$(workspaces.cache.path)/buildkit"; fi
` + buildKitStart + `src="$(workspaces.source.path)/src"
dockerfile="$src/$(params.DOCKERFILE)"
buildctl build --progress=plain --frontend dockerfile.v0 \
  --local context="$src/$(params.CONTEXT)" \
  --local dockerfile="$(dirname "$dockerfile")" --opt filename="$(basename "$dockerfile")" \
  --output "type=image,name=$image,push=true,registry.insecure=true" \
  --metadata-file /tmp/metadata.json "$@"
sed -n 's/.*"containerimage.digest": *"\([^"]*\)".*/\1/p' /tmp/metadata.json | tr -d '\n' >"$(results.IMAGE_DIGEST.path)"
`

// Task implements Builder.
func (b BuildKit) Task(name string) *pipelinev1.Task {
	return buildTask(name, "Build an image from a Dockerfile with BuildKit (daemonless: buildkitd runs inside the step) and push it.",
		"buildkitd's state directory, for strategies with a cache volume",
		pipelinev1.Step{
			Name:            b.StepName(),
			Image:           b.Image,
			Script:          buildKitScript,
			Args:            []string{"$(params.EXTRA_ARGS[*])"},
			Env:             []corev1.EnvVar{{Name: "DOCKER_CONFIG", Value: "/root/.docker"}},
			SecurityContext: privileged(),
			VolumeMounts: []corev1.VolumeMount{
				{Name: "docker-config", MountPath: "/root/.docker"},
				{Name: "buildkit-state", MountPath: "/var/lib/buildkit"},
			},
		},
		[]corev1.Volume{
			dockerConfigVolume(b.AuthSecret),
			{Name: "buildkit-state", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		}, b.CABundle)
}

// Args implements Builder.
func (b BuildKit) Args(req BuildRequest) ([]string, error) {
	buildArgs, err := req.buildArgs()
	if err != nil {
		return nil, err
	}
	var args []string
	for _, a := range buildArgs {
		args = append(args, "--opt", "build-arg:"+a)
	}
	s := req.Strategy
	if s.LayerRepo == "" {
		return args, nil
	}
	if req.CacheRepo == "" {
		return nil, fmt.Errorf("strategy %s: no layer cache repository given", s.Name)
	}
	ref := req.CacheRepo + ":" + buildKitCacheTag
	return append(args,
		"--export-cache", "type=registry,ref="+ref+",mode=max,registry.insecure=true",
		"--import-cache", "type=registry,ref="+ref+",registry.insecure=true",
	), nil
}

// buildKitWarmScript builds "FROM <base>" plus a no-op RUN for each base
// image given as an argument, so that the state directory on the volume
// holds each base pulled and unpacked.
const buildKitWarmScript = `#!/bin/sh
set -eu
registry="$1"
shift
root=` + CacheMountPath + `/buildkit
` + buildKitStart + `for base in "$@"; do
  dir=$(mktemp -d)
  printf 'FROM %s\nRUN true\n' "$base" >"$dir/Dockerfile"
  buildctl build --progress=plain --frontend dockerfile.v0 --local context="$dir" --local dockerfile="$dir"
done
`

// WarmerPod implements Builder.
func (b BuildKit) WarmerPod(req BuildRequest, claim string) (*corev1.PodSpec, error) {
	if !req.Strategy.CacheVolume {
		return nil, nil
	}
	refs, err := req.baseRefs()
	if err != nil {
		return nil, err
	}
	return warmerPod(b.Image, b.AuthSecret, claim, "/root/.docker", buildKitWarmScript, append([]string{req.Registry}, refs...)), nil
}

// warmerPod runs a shell script, privileged, with the cache volume and the
// registry credentials mounted.
func warmerPod(image, authSecret, claim, dockerConfig, script string, args []string) *corev1.PodSpec {
	return &corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever,
		Containers: []corev1.Container{{
			Name:            "warmer",
			Image:           image,
			Command:         append([]string{"/bin/sh", "-c", strings.TrimPrefix(script, "#!/bin/sh\n"), "warmer"}, args...),
			Env:             []corev1.EnvVar{{Name: "DOCKER_CONFIG", Value: dockerConfig}},
			SecurityContext: privileged(),
			VolumeMounts:    []corev1.VolumeMount{{Name: "cache", MountPath: CacheMountPath}, {Name: "docker-config", MountPath: dockerConfig}},
		}},
		Volumes: []corev1.Volume{
			{Name: "cache", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}},
			dockerConfigVolume(authSecret),
		},
	}
}
