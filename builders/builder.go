// Package builders holds what every builder shares: the Builder interface,
// cache strategies, the build Task's shape and the clone-build-push
// Pipeline around it. Each builder is a folder below (kaniko, buildkit,
// buildah, docker).
package builders

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/cachebench/cachebench/measure"
	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/scenarios"
)

// Builder builds and pushes an image inside a Tekton task. kaniko is the
// first; BuildKit and Buildah bring their own strategies through the same
// methods.
type Builder interface {
	// Name is the builder's name ("kaniko").
	Name() string
	// Images lists the images it runs, for the report.
	Images() map[string]string
	// Strategies lists the cache strategies it supports, "none" first.
	Strategies() []Strategy
	// Task returns its build-and-push Task. Params: IMAGE, DOCKERFILE,
	// CONTEXT and EXTRA_ARGS (array); workspaces: source and an optional
	// cache mounted at CacheMountPath.
	Task(name string) *pipelinev1.Task
	// Args returns the EXTRA_ARGS of one run.
	Args(req BuildRequest) ([]string, error)
	// WarmerPod returns the pod that fills the cache volume claim with the
	// workload's base images, or nil when the strategy uses no volume.
	WarmerPod(req BuildRequest, claim string) (*corev1.PodSpec, error)
	// StepName is the step whose log holds the builder's own timings.
	StepName() string
	// ReadLog reads that step's log (kubelet timestamps on every line):
	// cache hits and misses, and the phases of the build.
	ReadLog(lines []measure.LogLine) results.BuildLog
	// Pod says what its pods need of the cluster, for the report.
	Pod() string
}

// Daemon is a builder whose builds can go to a long-lived daemon of its
// own (the daemon strategy) instead of one inside the build step.
type Daemon interface {
	// DaemonPod is the pod of a daemon that serves builds on DaemonPort,
	// its state empty (an emptyDir named DaemonStateVolume, which the
	// harness measures), trusting plain HTTP to each of registries
	// (host:port). With gcLimit above 0 its garbage collection prunes its
	// cache once it takes more than gcLimit bytes; with 0 it keeps the
	// daemon's own policy.
	DaemonPod(registries []string, gcLimit int64) *corev1.PodSpec
	// DaemonPort is the TCP port the daemon serves builds on.
	DaemonPort() int32
}

// DaemonStateVolume is the name of a daemon pod's state volume: its cache.
const DaemonStateVolume = "daemon-state"

// CABundleKey is the key of the CA bundle in its ConfigMap.
const CABundleKey = "ca-certificates.crt"

// CacheMountPath is where a cache volume is mounted in build and warmer pods.
const CacheMountPath = "/cache"

// BuildRequest holds what a builder needs to render one run.
type BuildRequest struct {
	Workload scenarios.Workload
	Strategy Strategy
	// BaseRegistry is the host (host:port) the base images come from: the
	// upstream registry, through its network profile.
	BaseRegistry string
	// BasePath, when set, is a repository path in BaseRegistry under which
	// this round keeps its own copies of the base images (a base change
	// gives them new digests without touching other rounds').
	BasePath string
	// Bases maps the workload's logical base names to in-cluster references.
	Bases map[string]string
	// Mirror is the pull-through mirror's host (host:port) that the mirror
	// strategy pulls BaseRegistry's images through.
	Mirror string
	// CacheRepo is the layer cache repository of this round (when the
	// strategy keeps one), e.g. <registry>/cache/small/r1.
	CacheRepo string
	// Stamp is this run's value of the workload's StampArg.
	Stamp string
	// Daemon is the address of the round's daemon (the daemon strategy),
	// e.g. tcp://<service>:<port>.
	Daemon string
}

// buildArgs are the build arguments of a run, as KEY=VALUE: where base
// images come from and, for stamped workloads, this run's stamp.
func (r BuildRequest) BuildArgs() ([]string, error) {
	from := r.BaseRegistry
	if r.BasePath != "" {
		from += "/" + r.BasePath
	}
	args := append([]string{scenarios.BaseRegistryArg + "=" + from}, r.Workload.BuildArgs...)
	if r.Workload.StampArg != "" {
		if r.Stamp == "" {
			return nil, fmt.Errorf("workload %s: a stamp is needed for %s", r.Workload.Name, r.Workload.StampArg)
		}
		args = append(args, r.Workload.StampArg+"="+r.Stamp)
	}
	return args, nil
}

// registryMap is the mirror strategy's mapping "<base registry>=<mirror>",
// "" for other strategies.
func (r BuildRequest) RegistryMap() (string, error) {
	if !r.Strategy.Mirror {
		return "", nil
	}
	if r.Mirror == "" || r.BaseRegistry == "" {
		return "", fmt.Errorf("strategy %s: no mirror or base registry given", r.Strategy.Name)
	}
	return r.BaseRegistry + "=" + r.Mirror, nil
}

func (r BuildRequest) BaseRefs() ([]string, error) {
	var refs []string
	for _, b := range r.Workload.Bases {
		ref, ok := r.Bases[b]
		if !ok {
			return nil, fmt.Errorf("workload %s: no in-cluster reference for base image %q", r.Workload.Name, b)
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

// Info describes a builder for the results' environment.
func Info(b Builder) results.BuilderInfo {
	// Needs are never nil here: nil means a record made before they were
	// kept, which a reader must not take for "needs nothing".
	info := results.BuilderInfo{Name: b.Name(), Pod: b.Pod(), Needs: []string{}}
	if privileged(b.Task("info")) {
		info.Needs = append(info.Needs, results.NeedPrivileged)
	}
	for _, s := range b.Strategies() {
		needs := []string{}
		if s.Daemon {
			// Every build of the round reads and writes one daemon's cache.
			needs = append(needs, results.NeedDaemon)
		}
		if s.LayerRepo != "" {
			needs = append(needs, results.NeedRegistryWrites)
		}
		info.Strategies = append(info.Strategies, results.StrategyInfo{Name: s.Name, Summary: s.Summary, Needs: needs})
	}
	return info
}

// privileged reports whether any container of the Task runs privileged.
func privileged(t *pipelinev1.Task) bool {
	is := func(sc *corev1.SecurityContext) bool { return sc != nil && sc.Privileged != nil && *sc.Privileged }
	for _, c := range t.Spec.Steps {
		if is(c.SecurityContext) {
			return true
		}
	}
	for _, c := range t.Spec.Sidecars {
		if is(c.SecurityContext) {
			return true
		}
	}
	return false
}

// dockerConfigVolume mounts a kubernetes.io/dockerconfigjson Secret as a
// folder holding config.json.
func DockerConfigVolume(secret string) corev1.Volume {
	return corev1.Volume{
		Name: "docker-config",
		VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: secret,
			Items:      []corev1.KeyToPath{{Key: corev1.DockerConfigJsonKey, Path: "config.json"}},
		}},
	}
}

// Task is a build Task: the params, workspaces and result every
// builder's Task has, its one step with the registry credentials and its
// volumes, and the build CA bundle mounted over the step's system bundle
// when one is given. cacheUse says what the cache workspace holds.
// ParamEnv is the environment variable that carries a build Task's string
// parameter to its script.
func ParamEnv(param string) string { return "PARAM_" + param }

func Task(name, description, cacheUse string, step pipelinev1.Step, volumes []corev1.Volume, caBundle string) *pipelinev1.Task {
	t := &pipelinev1.Task{
		TypeMeta:   typeMeta("Task"),
		ObjectMeta: objectMeta(name),
		Spec: pipelinev1.TaskSpec{
			Description: description,
			Params: pipelinev1.ParamSpecs{
				{Name: "IMAGE", Type: pipelinev1.ParamTypeString, Description: "reference to push the image to"},
				{Name: "DOCKERFILE", Type: pipelinev1.ParamTypeString, Default: pipelinev1.NewStructuredValues("Dockerfile")},
				{Name: "CONTEXT", Type: pipelinev1.ParamTypeString, Default: pipelinev1.NewStructuredValues(".")},
				{Name: "EXTRA_ARGS", Type: pipelinev1.ParamTypeArray, Default: &pipelinev1.ParamValue{Type: pipelinev1.ParamTypeArray, ArrayVal: []string{}}},
			},
			Workspaces: []pipelinev1.WorkspaceDeclaration{
				{Name: "source", Description: "holds the cloned repository under src/"},
				{Name: "cache", Optional: true, MountPath: CacheMountPath, Description: cacheUse},
			},
			Results: []pipelinev1.TaskResult{{Name: "IMAGE_DIGEST", Description: "digest of the pushed image"}},
			Steps:   []pipelinev1.Step{step},
			Volumes: volumes,
		},
	}
	if step.Script != "" {
		// A script reads the parameters from its environment: substituted
		// into its text, a value (the image reference carries a pushed
		// event's commit) would be shell.
		st := &t.Spec.Steps[0]
		for _, p := range t.Spec.Params {
			if p.Type == pipelinev1.ParamTypeString {
				st.Env = append(st.Env, corev1.EnvVar{Name: ParamEnv(p.Name), Value: "$(params." + p.Name + ")"})
			}
		}
	}
	if caBundle != "" {
		t.Spec.Volumes = append(t.Spec.Volumes, corev1.Volume{Name: "build-ca", VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: caBundle}},
		}})
		st := &t.Spec.Steps[0]
		st.VolumeMounts = append(st.VolumeMounts, corev1.VolumeMount{
			Name: "build-ca", MountPath: systemCABundle, SubPath: CABundleKey, ReadOnly: true,
		})
		st.Env = append(st.Env, corev1.EnvVar{Name: buildCAEnv, Value: systemCABundle})
	}
	return t
}

// MountBuildCA mounts the build CA bundle of a ConfigMap (none for "")
// over the system bundle of the pod's first container and says so in its
// environment, as Task does for a build step.
func MountBuildCA(spec *corev1.PodSpec, caBundle string) {
	if caBundle == "" {
		return
	}
	spec.Volumes = append(spec.Volumes, corev1.Volume{Name: "build-ca", VolumeSource: corev1.VolumeSource{
		ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: caBundle}},
	}})
	c := &spec.Containers[0]
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "build-ca", MountPath: systemCABundle, SubPath: CABundleKey, ReadOnly: true})
	c.Env = append(c.Env, corev1.EnvVar{Name: buildCAEnv, Value: systemCABundle})
}

// systemCABundle is where Debian-based images keep their CA bundle.
const systemCABundle = "/etc/ssl/certs/ca-certificates.crt"

// buildCAEnv is set in a build step that has the build CA bundle mounted.
const buildCAEnv = "CACHEBENCH_BUILD_CA"

// runcWithCA is a shell script that builders whose RUN instructions run in
// containers of their own (BuildKit, Buildah) use as their OCI runtime
// when the step has the build CA bundle: it binds the bundle, read-only,
// over the system bundle of each RUN instruction's container, then runs the OCI
// runtime the image has, looked up as buildkitd does (buildkit-runc, as in
// BuildKit's official image, then runc), else crun (Fedora's Buildah). So
// RUN instructions trust what the host trusts, as kaniko's (which run in the
// step's own container) do. Only where the image has a system bundle
// already: a mount point made in the root filesystem would end up in the
// layer. PrepareRuncWithCA writes it to $runtime and leaves $runtime empty
// when the step has no build CA.
const PrepareRuncWithCA = `runtime=""
if [ -n "${` + buildCAEnv + `:-}" ]; then
  runtime="${TMPDIR:-/tmp}/runc-with-ca"
  cat >"$runtime" <<'RUNC'
#!/bin/sh
ca=` + systemCABundle + `
bundle=""
prev=""
for a in "$@"; do
  case "$prev" in --bundle|-b) bundle="$a" ;; esac
  case "$a" in --bundle=*) bundle="${a#--bundle=}" ;; esac
  prev="$a"
done
spec="$bundle/config.json"
if [ -n "$bundle" ] && [ -f "$spec" ] && ! grep -q "\"source\":\"$ca\"" "$spec"; then
  root=$(sed -n 's/.*"root":{"path":"\([^"]*\)".*/\1/p' "$spec")
  case "$root" in /*) ;; *) root="$bundle/$root" ;; esac
  if [ -f "$root$ca" ]; then
    sed -i "s#\"mounts\":\[#\"mounts\":[{\"destination\":\"$ca\",\"type\":\"bind\",\"source\":\"$ca\",\"options\":[\"rbind\",\"ro\"]},#" "$spec"
  fi
fi
for rt in buildkit-runc runc crun; do
  if command -v "$rt" >/dev/null 2>&1; then exec "$rt" "$@"; fi
done
echo "runc-with-ca: no OCI runtime (buildkit-runc, runc or crun) on PATH" >&2
exit 127
RUNC
  chmod +x "$runtime"
fi
`

// privileged is the security context of builders that run containers
// themselves (BuildKit's and Buildah's RUN instructions go through runc).
func Privileged() *corev1.SecurityContext {
	t := true
	return &corev1.SecurityContext{Privileged: &t}
}

// CacheTag is the tag of a registry cache (BuildKit's, Docker's inline
// one) in a round's repository.
const CacheTag = "buildcache"

// CacheRepo returns the layer cache repository of a round, named round
// (lower-case letters, digits, '-' and '/').
func CacheRepo(registry string, s Strategy, round string) string {
	if s.LayerRepo == "" {
		return ""
	}
	return fmt.Sprintf("%s/%s/%s", registry, strings.Trim(s.LayerRepo, "/"), round)
}

// WarmerPod runs a shell script, privileged, with the cache volume and the
// registry credentials mounted.
func WarmerPod(image, authSecret, claim, dockerConfig, script string, args []string) *corev1.PodSpec {
	return &corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever,
		Containers: []corev1.Container{{
			Name:            "warmer",
			Image:           image,
			Command:         append([]string{"/bin/sh", "-c", strings.TrimPrefix(script, "#!/bin/sh\n"), "warmer"}, args...),
			Env:             []corev1.EnvVar{{Name: "DOCKER_CONFIG", Value: dockerConfig}},
			SecurityContext: Privileged(),
			VolumeMounts:    []corev1.VolumeMount{{Name: "cache", MountPath: CacheMountPath}, {Name: "docker-config", MountPath: dockerConfig}},
		}},
		Volumes: []corev1.Volume{
			{Name: "cache", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}},
			DockerConfigVolume(authSecret),
		},
	}
}
