package buildkit

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/cachebench/cachebench/builders"
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

var (
	_ builders.Builder = BuildKit{}
	_ builders.Daemon  = BuildKit{}
)

// Name implements Builder.
func (BuildKit) Name() string { return "buildkit" }

// Images implements Builder.
func (b BuildKit) Images() map[string]string { return map[string]string{"image": b.Image} }

// Pod implements Builder.
func (BuildKit) Pod() string {
	return "privileged container (buildkitd runs RUN instructions with runc); its state directory on an emptyDir, or on the cache volume for pv-warm, never on overlayfs"
}

// StepName implements Builder.
func (BuildKit) StepName() string { return "build" }

// ReadLog implements Builder.
func (BuildKit) ReadLog(lines []measure.LogLine) results.BuildLog { return ReadProgress(lines) }

// Strategies implements Builder. With pv-warm the volume is buildkitd's
// whole state directory: base images, and every layer the builds make.
func (BuildKit) Strategies() []builders.Strategy {
	return []builders.Strategy{
		{Name: "none", Summary: "no cache: a fresh state directory every run, no cache import or export"},
		{Name: "registry", Summary: "layer cache in a registry repository: --export-cache type=registry,mode=max and --import-cache of the same ref", LayerRepo: "cache"},
		{Name: "pv-warm", Summary: "buildkitd's state directory on the round's volume, warmed with the base images; the layers it builds stay there too", CacheVolume: true, VolumeLayers: true},
		builders.MirrorStrategy(`base images through a pull-through mirror near the cluster: buildkitd.toml [registry."<upstream>"] mirrors = ["<mirror>"]; no cache import or export`),
		{Name: builders.DaemonName, Summary: "a long-lived buildkitd that the round starts (a pod and a Service, its state on an emptyDir, empty at the round's start) and every build talks to over TCP (BUILDKIT_HOST); its state is the cache", Daemon: true, OptIn: true},
	}
}

// buildKitStart writes buildkitd's registry settings (plain HTTP to each
// in-cluster registry, and the mirror of $mirror_from when set), starts
// the daemon on a state directory and waits until it answers. $registries
// (hosts, space-separated), $mirror_from, $mirror_to and $root must be set.
var buildKitStart = buildKitSetup + builders.StartDaemon("buildkitd", `buildkitd --config /etc/buildkit/buildkitd.toml --root "$root" ${runtime:+--oci-worker-binary="$runtime"}`, "buildctl debug workers", "/tmp/buildkitd.log")

// buildKitSetup writes buildkitd's settings and the OCI runtime it runs
// RUN instructions with ($runtime).
const buildKitSetup = `mkdir -p /etc/buildkit "$root"
` + buildKitConfig + ` >/etc/buildkit/buildkitd.toml
` + builders.PrepareRuncWithCA + `
`

// buildKitConfig prints buildkitd.toml: plain HTTP to each of
// $registries and $mirror_to, and $mirror_to as the mirror of
// $mirror_from.
const buildKitConfig = `for r in $(printf '%s\n' $registries $mirror_to | sort -u); do
  printf '[registry."%s"]\n  http = true\n  insecure = true\n' "$r"
  if [ "$r" = "$mirror_from" ]; then printf '  mirrors = ["%s"]\n' "$mirror_to"; fi
done`

// buildKitRegistries sets $registries to the hosts the build talks to:
// the image's, and the host of the BASE_REGISTRY build argument, which may
// carry a repository path (a round's own base images, after a base change).
const buildKitRegistries = `registries="${image%%/*}"
for a in "$@"; do
  case "$a" in build-arg:BASE_REGISTRY=*) from="${a#build-arg:BASE_REGISTRY=}"; registries="$registries ${from%%/*}" ;; esac
done
`

// buildKitScript builds the workload's Dockerfile and pushes the image;
// EXTRA_ARGS come as the script's arguments, the first of which may be
// --daemon=<address> (the daemon strategy: the round's buildkitd, none in
// the step) or --registry-map=<registry>=<mirror> (the mirror strategy). The registries
// it talks to are the image's and the base images' (the BASE_REGISTRY
// build argument).
var buildKitScript = `#!/bin/sh
set -eu
image="$PARAM_IMAGE"
daemon=""
case "${1:-}" in --daemon=*) daemon="${1#--daemon=}"; shift ;; esac
` + builders.RegistryMapArg + buildKitRegistries + `root=/var/lib/buildkit
if [ "$(workspaces.cache.bound)" = "true" ]; then root="$(workspaces.cache.path)/buildkit"; fi
if [ -n "$daemon" ]; then
  export BUILDKIT_HOST="$daemon"
else
` + buildKitStart + `fi
src="$(workspaces.source.path)/src"
dockerfile="$src/$PARAM_DOCKERFILE"
buildctl build --progress=plain --frontend dockerfile.v0 \
  --local context="$src/$PARAM_CONTEXT" \
  --local dockerfile="$(dirname "$dockerfile")" --opt filename="$(basename "$dockerfile")" \
  --output "type=image,name=$image,push=true,registry.insecure=true" \
  --metadata-file /tmp/metadata.json "$@"
sed -n 's/.*"containerimage.digest": *"\([^"]*\)".*/\1/p' /tmp/metadata.json | tr -d '\n' >"$(results.IMAGE_DIGEST.path)"
`

// Task implements Builder.
func (b BuildKit) Task(name string) *pipelinev1.Task {
	return builders.Task(name, "Build an image from a Dockerfile with BuildKit (daemonless: buildkitd runs inside the step) and push it.",
		"buildkitd's state directory, for strategies with a cache volume",
		pipelinev1.Step{
			Name:            b.StepName(),
			Image:           b.Image,
			Script:          buildKitScript,
			Args:            []string{"$(params.EXTRA_ARGS[*])"},
			Env:             []corev1.EnvVar{{Name: "DOCKER_CONFIG", Value: "/root/.docker"}},
			SecurityContext: builders.Privileged(),
			VolumeMounts: []corev1.VolumeMount{
				{Name: "docker-config", MountPath: "/root/.docker"},
				{Name: "buildkit-state", MountPath: "/var/lib/buildkit"},
			},
		},
		[]corev1.Volume{
			builders.DockerConfigVolume(b.AuthSecret),
			{Name: "buildkit-state", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		}, b.CABundle)
}

// Args implements Builder.
func (b BuildKit) Args(req builders.BuildRequest) ([]string, error) {
	buildArgs, err := req.BuildArgs()
	if err != nil {
		return nil, err
	}
	var args []string
	if req.Strategy.Daemon {
		if req.Daemon == "" {
			return nil, fmt.Errorf("strategy %s: no daemon address given", req.Strategy.Name)
		}
		args = append(args, "--daemon="+req.Daemon) // for the script, first
	}
	m, err := req.RegistryMap()
	if err != nil {
		return nil, err
	}
	if m != "" {
		args = append(args, "--registry-map="+m) // for the script, first
	}
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
	ref := req.CacheRepo + ":" + builders.CacheTag
	return append(args,
		"--export-cache", "type=registry,ref="+ref+",mode=max,registry.insecure=true",
		"--import-cache", "type=registry,ref="+ref+",registry.insecure=true",
	), nil
}

// buildKitWarmScript builds "FROM <base>" plus a no-op RUN for each base
// image given as an argument, so that the state directory on the volume
// holds each base pulled and unpacked.
var buildKitWarmScript = `#!/bin/sh
set -eu
mirror_from=""
mirror_to=""
registries=""
for base in "$@"; do registries="$registries ${base%%/*}"; done
root=` + builders.CacheMountPath + `/buildkit
` + buildKitStart + `for base in "$@"; do
  dir=$(mktemp -d)
  printf 'FROM %s\nRUN true\n' "$base" >"$dir/Dockerfile"
  buildctl build --progress=plain --frontend dockerfile.v0 --local context="$dir" --local dockerfile="$dir"
done
`

// WarmerPod implements Builder.
func (b BuildKit) WarmerPod(req builders.BuildRequest, claim string) (*corev1.PodSpec, error) {
	if !req.Strategy.CacheVolume {
		return nil, nil
	}
	refs, err := req.BaseRefs()
	if err != nil {
		return nil, err
	}
	return builders.WarmerPod(b.Image, b.AuthSecret, claim, "/root/.docker", buildKitWarmScript, refs), nil
}

// buildKitDaemonPort is where the round's buildkitd serves builds.
const buildKitDaemonPort = 1234

// buildKitDaemonScript runs buildkitd as the round's daemon, on an empty
// state directory, trusting plain HTTP to the registries given as
// arguments. With GC_MAX_USED_BYTES set, one garbage collection rule
// replaces buildkitd's defaults: anything no build is using may go once
// the cache takes more than that. buildkitd collects in the background
// after builds, so its cache may exceed the limit for a while.
const buildKitDaemonScript = `#!/bin/sh
set -eu
mirror_from=""
mirror_to=""
registries="$*"
root=/var/lib/buildkit
` + buildKitSetup + `if [ -n "${` + builders.GCLimitEnv + `:-}" ]; then
  printf '[worker.oci]\n  gc = true\n[[worker.oci.gcpolicy]]\n  all = true\n  maxUsedSpace = "%s"\n' "$` + builders.GCLimitEnv + `" >>/etc/buildkit/buildkitd.toml
fi
exec buildkitd --config /etc/buildkit/buildkitd.toml --root "$root" \
  --addr unix:///run/buildkit/buildkitd.sock --addr tcp://0.0.0.0:1234 \
  ${runtime:+--oci-worker-binary="$runtime"}
`

// DaemonPort implements builders.Daemon.
func (BuildKit) DaemonPort() int32 { return buildKitDaemonPort }

// DaemonPod implements builders.Daemon: buildkitd, privileged (it runs RUN
// instructions with runc), ready once it answers on its socket.
func (b BuildKit) DaemonPod(registries []string, gcLimit int64) *corev1.PodSpec {
	return builders.DaemonPod(builders.DaemonContainer{
		Name: "buildkitd", Image: b.Image, Script: buildKitDaemonScript, Port: buildKitDaemonPort,
		Probe: []string{"buildctl", "debug", "workers"}, StateDir: "/var/lib/buildkit",
	}, registries, gcLimit, b.CABundle)
}
