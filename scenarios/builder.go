package scenarios

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
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
}

// CacheMountPath is where a cache volume is mounted in build and warmer pods.
const CacheMountPath = "/cache"

// BuildRequest holds what a builder needs to render one run.
type BuildRequest struct {
	Workload Workload
	Strategy Strategy
	// Registry is the in-cluster registry host (host:port).
	Registry string
	// Bases maps the workload's logical base names to in-cluster references.
	Bases map[string]string
	// CacheRepo is the layer cache repository of this round (when the
	// strategy keeps one), e.g. <registry>/cache/small/r1.
	CacheRepo string
	// Stamp is this run's value of the workload's StampArg.
	Stamp string
}

func (r BuildRequest) baseRefs() ([]string, error) {
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

// CacheRepo returns the layer cache repository of a round.
func CacheRepo(registry string, s Strategy, workload string, round int) string {
	if s.LayerRepo == "" {
		return ""
	}
	return fmt.Sprintf("%s/%s/%s/r%d", registry, strings.Trim(s.LayerRepo, "/"), workload, round)
}
