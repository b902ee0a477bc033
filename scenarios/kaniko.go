package scenarios

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

// Kaniko builds with kaniko's executor. Images are settings, so that a
// kaniko fork can be measured against upstream (upstream was archived in
// June 2025).
type Kaniko struct {
	Executor string // executor image
	Warmer   string // warmer image
	// AuthSecret is a kubernetes.io/dockerconfigjson Secret with push and
	// pull rights on the registry, mounted as /kaniko/.docker/config.json.
	AuthSecret string
	// CABundle, when set, names a ConfigMap whose ca-certificates.crt is
	// mounted over the build's system CA bundle, so that RUN steps trust
	// what the host trusts (a TLS-inspecting egress proxy, a corporate CA).
	// kaniko leaves mounted paths out of the image it builds.
	CABundle string
}

// CABundleKey is the key of the CA bundle in its ConfigMap.
const CABundleKey = "ca-certificates.crt"

var _ Builder = Kaniko{}

// Name implements Builder.
func (Kaniko) Name() string { return "kaniko" }

// Images implements Builder.
func (k Kaniko) Images() map[string]string {
	return map[string]string{"executor": k.Executor, "warmer": k.Warmer}
}

// Strategies implements Builder. kaniko reads --cache-dir only when
// --cache=true, and serves only base images from it; layers then still go
// to a registry repository, a different one from "registry"'s so that the
// two never share a layer.
func (Kaniko) Strategies() []Strategy {
	return []Strategy{
		{Name: "none", Summary: "no cache: --cache=false, base images pulled from the registry every run"},
		{Name: "registry", Summary: "layer cache in a registry repository: --cache=true --cache-repo", LayerRepo: "cache"},
		{Name: "pv-warm", Summary: "base images warmed into a volume (--cache-dir) plus a layer cache repository", CacheVolume: true, LayerRepo: "cache-pv"},
	}
}

// StepName implements Builder.
func (Kaniko) StepName() string { return "build" }

// registryFlags let kaniko talk plain HTTP to the in-cluster registry.
var registryFlags = []string{"--insecure", "--insecure-pull", "--skip-tls-verify", "--skip-tls-verify-pull"}

// Task implements Builder.
func (k Kaniko) Task(name string) *pipelinev1.Task {
	t := &pipelinev1.Task{
		TypeMeta:   typeMeta("Task"),
		ObjectMeta: objectMeta(name),
		Spec: pipelinev1.TaskSpec{
			Description: "Build an image from a Dockerfile with kaniko and push it.",
			Params: pipelinev1.ParamSpecs{
				{Name: "IMAGE", Type: pipelinev1.ParamTypeString, Description: "reference to push the image to"},
				{Name: "DOCKERFILE", Type: pipelinev1.ParamTypeString, Default: pipelinev1.NewStructuredValues("Dockerfile")},
				{Name: "CONTEXT", Type: pipelinev1.ParamTypeString, Default: pipelinev1.NewStructuredValues(".")},
				{Name: "EXTRA_ARGS", Type: pipelinev1.ParamTypeArray, Default: &pipelinev1.ParamValue{Type: pipelinev1.ParamTypeArray, ArrayVal: []string{}}},
			},
			Workspaces: []pipelinev1.WorkspaceDeclaration{
				{Name: "source", Description: "holds the cloned repository under src/"},
				{Name: "cache", Optional: true, MountPath: CacheMountPath, Description: "kaniko --cache-dir, for strategies with a cache volume"},
			},
			Results: []pipelinev1.TaskResult{{Name: "IMAGE_DIGEST", Description: "digest of the pushed image"}},
			Steps: []pipelinev1.Step{{
				Name:  k.StepName(),
				Image: k.Executor,
				// An explicit command: with none, Tekton asks a registry for the
				// image's entrypoint, and offline there is no registry to ask.
				Command: []string{"/kaniko/executor"},
				Args: append([]string{
					"--dockerfile=$(params.DOCKERFILE)",
					"--context=dir://$(workspaces.source.path)/src/$(params.CONTEXT)",
					"--destination=$(params.IMAGE)",
					"--digest-file=$(results.IMAGE_DIGEST.path)",
					// JSON lines with kaniko's own timestamps; the harness also asks
					// the kubelet for a timestamp on every line.
					"--log-format=json",
					"--log-timestamp=true",
				}, "$(params.EXTRA_ARGS[*])"),
				VolumeMounts: []corev1.VolumeMount{{Name: "docker-config", MountPath: "/kaniko/.docker"}},
			}},
			Volumes: []corev1.Volume{k.dockerConfigVolume()},
		},
	}
	if k.CABundle != "" {
		t.Spec.Volumes = append(t.Spec.Volumes, corev1.Volume{Name: "build-ca", VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: k.CABundle}},
		}})
		step := &t.Spec.Steps[0]
		step.VolumeMounts = append(step.VolumeMounts, corev1.VolumeMount{
			Name: "build-ca", MountPath: "/etc/ssl/certs/ca-certificates.crt", SubPath: CABundleKey, ReadOnly: true,
		})
	}
	return t
}

// Args implements Builder.
func (k Kaniko) Args(req BuildRequest) ([]string, error) {
	args := append([]string{}, registryFlags...)
	args = append(args, "--build-arg=BASE_REGISTRY="+req.Registry)
	if req.Workload.StampArg != "" {
		if req.Stamp == "" {
			return nil, fmt.Errorf("workload %s: a stamp is needed for %s", req.Workload.Name, req.Workload.StampArg)
		}
		args = append(args, "--build-arg="+req.Workload.StampArg+"="+req.Stamp)
	}
	s := req.Strategy
	if !s.UsesCache() {
		return append(args, "--cache=false"), nil
	}
	if req.CacheRepo == "" {
		return nil, fmt.Errorf("strategy %s: no layer cache repository given", s.Name)
	}
	args = append(args, "--cache=true", "--cache-repo="+req.CacheRepo)
	if s.CacheVolume {
		args = append(args, "--cache-dir="+CacheMountPath)
	}
	return args, nil
}

// WarmerPod implements Builder: kaniko's warmer pulls the base images into
// the volume. It knows only the pull-side registry flags.
func (k Kaniko) WarmerPod(req BuildRequest, claim string) (*corev1.PodSpec, error) {
	if !req.Strategy.CacheVolume {
		return nil, nil
	}
	refs, err := req.baseRefs()
	if err != nil {
		return nil, err
	}
	args := []string{"--cache-dir=" + CacheMountPath, "--insecure-pull", "--skip-tls-verify-pull"}
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
			VolumeMounts: []corev1.VolumeMount{{Name: "cache", MountPath: CacheMountPath}, {Name: "docker-config", MountPath: "/kaniko/.docker"}},
		}},
		Volumes: []corev1.Volume{
			{Name: "cache", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}},
			k.dockerConfigVolume(),
		},
	}, nil
}

func (k Kaniko) dockerConfigVolume() corev1.Volume {
	return corev1.Volume{
		Name: "docker-config",
		VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: k.AuthSecret,
			Items:      []corev1.KeyToPath{{Key: corev1.DockerConfigJsonKey, Path: "config.json"}},
		}},
	}
}
