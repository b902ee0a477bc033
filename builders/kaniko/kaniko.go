package kaniko

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/measure"
	"github.com/cachebench/cachebench/results"
)

// Kaniko builds with kaniko's executor. Images are settings, so that a
// kaniko fork can be measured against upstream (upstream was archived in
// June 2025).
type Kaniko struct {
	// Label names this kaniko ("kaniko-chainguard" for the fork); empty
	// means upstream, "kaniko".
	Label    string
	Executor string // executor image
	Warmer   string // warmer image
	// AuthSecret is a kubernetes.io/dockerconfigjson Secret with push and
	// pull rights on the registry, mounted as /kaniko/.docker/config.json.
	AuthSecret string
	// CABundle, when set, names a ConfigMap whose ca-certificates.crt is
	// mounted over the build's system CA bundle, so that RUN instructions trust
	// what the host trusts (a TLS-inspecting egress proxy, a corporate CA).
	// kaniko leaves mounted paths out of the image it builds.
	CABundle string
}

var _ builders.Builder = Kaniko{}

// Name implements Builder.
func (k Kaniko) Name() string {
	if k.Label != "" {
		return k.Label
	}
	return upstreamName
}

// Pod implements Builder.
func (Kaniko) Pod() string {
	return "unprivileged container running as root; no seccomp or AppArmor change"
}

// ReadLog implements Builder.
func (Kaniko) ReadLog(lines []measure.LogLine) results.BuildLog { return readLog(lines) }

// Images implements Builder.
func (k Kaniko) Images() map[string]string {
	return map[string]string{"executor": k.Executor, "warmer": k.Warmer}
}

// Strategies implements Builder. kaniko reads --cache-dir only when
// --cache=true, and serves only base images from it; layers then still go
// to a registry repository, a different one from "registry"'s so that the
// two never share a layer.
func (Kaniko) Strategies() []builders.Strategy {
	return []builders.Strategy{
		{Name: "none", Summary: "no cache: --cache=false, base images pulled from the registry every run"},
		{Name: "registry", Summary: "layer cache in a registry repository: --cache=true --cache-repo", LayerRepo: "cache"},
		{Name: "pv-warm", Summary: "base images warmed into a volume (--cache-dir) plus a layer cache repository", CacheVolume: true, LayerRepo: "cache-pv"},
		builders.MirrorStrategy("base images through a pull-through mirror near the cluster: --registry-map=<upstream>=<mirror> --skip-default-registry-fallback, --cache=false"),
	}
}

// StepName implements Builder.
func (Kaniko) StepName() string { return "build" }

// registryFlags let kaniko talk plain HTTP to the in-cluster registry.
var registryFlags = []string{"--insecure", "--insecure-pull", "--skip-tls-verify", "--skip-tls-verify-pull"}

// Task implements Builder.
func (k Kaniko) Task(name string) *pipelinev1.Task {
	return builders.Task(name, "Build an image from a Dockerfile with kaniko and push it.",
		"kaniko --cache-dir, for strategies with a cache volume",
		pipelinev1.Step{
			Name:  k.StepName(),
			Image: k.Executor,
			// An explicit command: with none, Tekton asks a registry for the
			// image's entrypoint, and offline there is no registry to ask.
			Command: []string{"/kaniko/executor"},
			Args: append([]string{
				// Inside the repository, as BuildKit and Buildah take it (kaniko
				// would look for a relative path in the context).
				"--dockerfile=$(workspaces.source.path)/src/$(params.DOCKERFILE)",
				"--context=dir://$(workspaces.source.path)/src/$(params.CONTEXT)",
				"--destination=$(params.IMAGE)",
				"--digest-file=$(results.IMAGE_DIGEST.path)",
				// JSON lines with kaniko's own timestamps; the harness also asks
				// the kubelet for a timestamp on every line.
				"--log-format=json",
				"--log-timestamp=true",
			}, "$(params.EXTRA_ARGS[*])"),
			VolumeMounts: []corev1.VolumeMount{{Name: "docker-config", MountPath: "/kaniko/.docker"}},
		},
		[]corev1.Volume{builders.DockerConfigVolume(k.AuthSecret)}, k.CABundle)
}

// Args implements Builder.
func (k Kaniko) Args(req builders.BuildRequest) ([]string, error) {
	buildArgs, err := req.BuildArgs()
	if err != nil {
		return nil, err
	}
	args := append([]string{}, registryFlags...)
	for _, a := range buildArgs {
		args = append(args, "--build-arg="+a)
	}
	s := req.Strategy
	m, err := req.RegistryMap()
	if err != nil {
		return nil, err
	}
	if m != "" {
		// No falling back to upstream: a mirror that fails must fail the run.
		args = append(args, "--registry-map="+m, "--skip-default-registry-fallback")
	}
	if !s.UsesCache() {
		return append(args, "--cache=false"), nil
	}
	if req.CacheRepo == "" {
		return nil, fmt.Errorf("strategy %s: no layer cache repository given", s.Name)
	}
	args = append(args, "--cache=true", "--cache-repo="+req.CacheRepo)
	if s.CacheVolume {
		args = append(args, "--cache-dir="+builders.CacheMountPath)
	}
	return args, nil
}

// WarmerPod implements Builder: kaniko's warmer pulls the base images into
// the volume. It knows only the pull-side registry flags.
func (k Kaniko) WarmerPod(req builders.BuildRequest, claim string) (*corev1.PodSpec, error) {
	if !req.Strategy.CacheVolume {
		return nil, nil
	}
	refs, err := req.BaseRefs()
	if err != nil {
		return nil, err
	}
	args := []string{"--cache-dir=" + builders.CacheMountPath, "--insecure-pull", "--skip-tls-verify-pull"}
	for _, r := range refs {
		args = append(args, "--image="+r)
	}
	return &corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever,
		Containers: []corev1.Container{{
			Name:         "warmer",
			Image:        k.Warmer,
			Command:      []string{"/kaniko/warmer"},
			Args:         args,
			VolumeMounts: []corev1.VolumeMount{{Name: "cache", MountPath: builders.CacheMountPath}, {Name: "docker-config", MountPath: "/kaniko/.docker"}},
		}},
		Volumes: []corev1.Volume{
			{Name: "cache", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}},
			builders.DockerConfigVolume(k.AuthSecret),
		},
	}, nil
}
