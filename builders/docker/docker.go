// Package docker is the Docker-in-Docker builder: a Docker daemon in the
// build pod (or, with the daemon strategy, a long-lived one of the
// round's) building with "docker build" on its BuildKit backend, then
// "docker push".
package docker

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/measure"
	"github.com/cachebench/cachebench/results"
)

// Docker builds with dockerd and the docker CLI. The image needs both,
// containerd, runc and /bin/sh.
type Docker struct {
	Image      string
	AuthSecret string // dockerconfigjson Secret, mounted as /root/.docker/config.json
	CABundle   string // ConfigMap of the build CA bundle ("" for none)
}

var (
	_ builders.Builder = Docker{}
	_ builders.Daemon  = Docker{}
)

// Name implements Builder.
func (Docker) Name() string { return "docker" }

// Images implements Builder.
func (d Docker) Images() map[string]string { return map[string]string{"image": d.Image} }

// Pod implements Builder.
func (Docker) Pod() string {
	return "privileged container (dockerd runs RUN instructions with runc); /var/lib/docker on an emptyDir, or on the cache volume for pv-warm"
}

// StepName implements Builder.
func (Docker) StepName() string { return "build" }

// ReadLog implements Builder.
func (Docker) ReadLog(lines []measure.LogLine) results.BuildLog { return readLog(lines) }

// Strategies implements Builder.
func (Docker) Strategies() []builders.Strategy {
	return []builders.Strategy{
		{Name: "none", Summary: "no cache: a fresh daemon on an empty /var/lib/docker every run"},
		{Name: "registry", Summary: "inline layer cache in a registry repository: the image is pushed there too, built with BUILDKIT_INLINE_CACHE=1 and --cache-from it (the docker builder exports no separate cache; it holds the final stage's layers only)", LayerRepo: "cache"},
		{Name: "pv-warm", Summary: "/var/lib/docker on the round's volume, base images pulled into it by a warm-up pod; the layers it builds stay there too", CacheVolume: true, VolumeLayers: true},
		builders.MirrorStrategy("base images through a pull-through mirror near the cluster, named in the BASE_REGISTRY build argument (dockerd's --registry-mirror serves Docker Hub only)"),
		{Name: builders.DaemonName, Summary: "a long-lived dockerd that the round starts (a pod and a Service, /var/lib/docker on an emptyDir, empty at the round's start) and every build talks to over TCP (DOCKER_HOST); its state is the cache", Daemon: true, OptIn: true},
	}
}

// daemonPort is where the round's dockerd serves builds.
const daemonPort = 2375

// dockerdArgs sets $dockerd_args to what every dockerd here runs with:
// its state in $root, plain HTTP to each of $registries, no bridge
// network and no iptables rules (builds use the pod's network, as
// buildkitd's do). With the build CA, RUN instructions run through
// $runtime: dockerd and its containerd find "runc" on PATH, and the
// BuildKit of Docker 20.10 ignores --default-runtime, so a "runc" of our
// own goes first on PATH, which runs $runtime with PATH as it was (where
// $runtime finds the real runc). An insecure registry is named with http://: dockerd strips
// the scheme for its own pulls and pushes, and the BuildKit of Docker
// 20.10 speaks plain HTTP only to a registry so named (given host:port
// alone, it tries HTTPS and fails).
const dockerdArgs = `dockerd_args="--data-root=$root --bridge=none --iptables=false"
for r in $(printf '%s\n' $registries | sort -u); do dockerd_args="$dockerd_args --insecure-registry=http://$r"; done
if [ -n "$runtime" ]; then
  shim="${TMPDIR:-/tmp}/runc-with-ca.d"
  mkdir -p "$shim"
  printf '#!/bin/sh\nPATH="%s" exec "%s" "$@"\n' "$PATH" "$runtime" >"$shim/runc"
  chmod +x "$shim/runc"
  PATH="$shim:$PATH"
fi
`

// dindFirst runs the official image's dind script, where there is one,
// before the step writes anything: it readies the container for a daemon
// and mounts a new tmpfs over /tmp unless /tmp is a mount already, which
// would hide what was written there before (the runtime with the build
// CA, the daemon's log). Run once here, it leaves /tmp mounted, and the
// daemon started through it later finds it so.
const dindFirst = `dind=""
if command -v dind >/dev/null 2>&1; then
  dind=dind
  dind true
fi
`

// dockerStart starts dockerd on $root, trusting $registries, and waits
// until it answers.
var dockerStart = dindFirst + builders.PrepareRuncWithCA + dockerdArgs + `mkdir -p "$root"
` + builders.StartDaemon("dockerd", `$dind dockerd $dockerd_args --host=unix:///var/run/docker.sock`, "docker version", "/tmp/dockerd.log")

// buildScript builds the workload's Dockerfile and pushes the image, and
// with --cache-ref=<ref> the same image, carrying its inline cache, as
// the layer cache. EXTRA_ARGS come as the script's arguments, the first
// of which may be --daemon=<address> (the daemon strategy: the round's
// dockerd, none in the step), then --cache-ref; the rest go to "docker
// build". The registries it talks to are the image's and the base
// images' (the BASE_REGISTRY build argument).
var buildScript = `#!/bin/sh
set -eu
image="$PARAM_IMAGE"
daemon=""
case "${1:-}" in --daemon=*) daemon="${1#--daemon=}"; shift ;; esac
cache_ref=""
case "${1:-}" in --cache-ref=*) cache_ref="${1#--cache-ref=}"; shift ;; esac
registries="${image%%/*}"
for a in "$@"; do
  case "$a" in BASE_REGISTRY=*) from="${a#BASE_REGISTRY=}"; registries="$registries ${from%%/*}" ;; esac
done
root=/var/lib/docker
if [ "$(workspaces.cache.bound)" = "true" ]; then root="$(workspaces.cache.path)/docker"; fi
if [ -n "$daemon" ]; then
  export DOCKER_HOST="$daemon"
else
` + dockerStart + `fi
src="$(workspaces.source.path)/src"
export DOCKER_BUILDKIT=1
docker build --progress=plain --network=host -f "$src/$PARAM_DOCKERFILE" -t "$image" \
  ${cache_ref:+--tag="$cache_ref"} "$@" "$src/$PARAM_CONTEXT"
docker push "$image" | tee /tmp/push.log
if [ -n "$cache_ref" ]; then docker push "$cache_ref"; fi
sed -n 's/.*digest: \(sha256:[0-9a-f]*\).*/\1/p' /tmp/push.log | tail -n 1 | tr -d '\n' >"$(results.IMAGE_DIGEST.path)"
`

// Task implements Builder.
func (d Docker) Task(name string) *pipelinev1.Task {
	return builders.Task(name, "Build an image from a Dockerfile with docker build (dockerd runs inside the step) and push it.",
		"/var/lib/docker, for strategies with a cache volume",
		pipelinev1.Step{
			Name:            d.StepName(),
			Image:           d.Image,
			Script:          buildScript,
			Args:            []string{"$(params.EXTRA_ARGS[*])"},
			Env:             []corev1.EnvVar{{Name: "DOCKER_CONFIG", Value: "/root/.docker"}},
			SecurityContext: builders.Privileged(),
			VolumeMounts: []corev1.VolumeMount{
				{Name: "docker-config", MountPath: "/root/.docker"},
				{Name: "docker-state", MountPath: "/var/lib/docker"},
			},
		},
		[]corev1.Volume{
			builders.DockerConfigVolume(d.AuthSecret),
			{Name: "docker-state", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		}, d.CABundle)
}

// Args implements Builder.
func (d Docker) Args(req builders.BuildRequest) ([]string, error) {
	s := req.Strategy
	if _, err := req.RegistryMap(); err != nil {
		return nil, err
	}
	if s.Mirror {
		// dockerd mirrors Docker Hub only: the build names the mirror.
		req.BaseRegistry = req.Mirror
	}
	buildArgs, err := req.BuildArgs()
	if err != nil {
		return nil, err
	}
	var args []string
	if s.Daemon {
		if req.Daemon == "" {
			return nil, fmt.Errorf("strategy %s: no daemon address given", s.Name)
		}
		args = append(args, "--daemon="+req.Daemon) // for the script, first
	}
	if s.LayerRepo != "" {
		if req.CacheRepo == "" {
			return nil, fmt.Errorf("strategy %s: no layer cache repository given", s.Name)
		}
		ref := req.CacheRepo + ":" + builders.CacheTag
		args = append(args, "--cache-ref="+ref, "--cache-from="+ref, "--build-arg", "BUILDKIT_INLINE_CACHE=1")
	}
	for _, a := range buildArgs {
		args = append(args, "--build-arg", a)
	}
	return args, nil
}

// warmScript starts dockerd with its state on the volume and pulls each
// base image given as an argument into it.
var warmScript = `#!/bin/sh
set -eu
registries=""
for base in "$@"; do registries="$registries ${base%%/*}"; done
root=` + builders.CacheMountPath + `/docker
` + dockerStart + `for base in "$@"; do
  docker pull "$base"
done
`

// WarmerPod implements Builder.
func (d Docker) WarmerPod(req builders.BuildRequest, claim string) (*corev1.PodSpec, error) {
	if !req.Strategy.CacheVolume {
		return nil, nil
	}
	refs, err := req.BaseRefs()
	if err != nil {
		return nil, err
	}
	return builders.WarmerPod(d.Image, d.AuthSecret, claim, "/root/.docker", warmScript, refs), nil
}

// daemonScript runs dockerd as the round's daemon, on an empty
// /var/lib/docker, serving builds on its port, trusting plain HTTP to the
// registries given as arguments. With GC_MAX_USED_BYTES set, its builder
// keeps its build cache under that size.
const daemonScript = `#!/bin/sh
set -eu
registries="$*"
root=/var/lib/docker
` + dindFirst + builders.PrepareRuncWithCA + dockerdArgs + `config=/etc/docker/daemon.json
mkdir -p /etc/docker
if [ -n "${` + builders.GCLimitEnv + `:-}" ]; then
  printf '{"builder": {"gc": {"enabled": true, "defaultKeepStorage": "%s"}}}\n' "$` + builders.GCLimitEnv + `" >"$config"
else
  echo '{}' >"$config"
fi
exec $dind dockerd $dockerd_args --config-file="$config" --tls=false \
  --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375
`

// DaemonPort implements builders.Daemon.
func (Docker) DaemonPort() int32 { return daemonPort }

// DaemonPod implements builders.Daemon: dockerd, privileged (it runs RUN
// instructions with runc), ready once it answers on its socket.
func (d Docker) DaemonPod(registries []string, gcLimit int64) *corev1.PodSpec {
	return builders.DaemonPod(builders.DaemonContainer{
		Name: "dockerd", Image: d.Image, Script: daemonScript, Port: daemonPort,
		Probe: []string{"docker", "version"}, StateDir: "/var/lib/docker",
	}, registries, gcLimit, d.CABundle)
}
