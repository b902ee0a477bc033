package builders

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline/pod"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/cachebench/cachebench/internal/gitd"
	"github.com/cachebench/cachebench/scenarios"
)

// Names of the Tekton objects of the classic clone-build-push pipeline.
const (
	CloneTaskName = "git-clone"
	FetchTask     = "fetch-source"
	BuildTask     = "build-push"
)

// PipelineName is the pipeline of a builder.
func PipelineName(b Builder) string { return "clone-build-push-" + b.Name() }

// BuildTaskName is the build Task of a builder.
func BuildTaskName(b Builder) string { return b.Name() + "-build" }

func typeMeta(kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: "tekton.dev/v1", Kind: kind}
}

func objectMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Labels: map[string]string{"app.kubernetes.io/part-of": "cachebench"}}
}

// CloneTask returns the git clone Task; image is the git server's, whose
// program clones one branch and records its commit. The parameters are
// its arguments, never a script's text.
func CloneTask(image string) *pipelinev1.Task {
	return &pipelinev1.Task{
		TypeMeta:   typeMeta("Task"),
		ObjectMeta: objectMeta(CloneTaskName),
		Spec: pipelinev1.TaskSpec{
			Description: "Clone one revision of a git repository into the output workspace (under src/).",
			Params: pipelinev1.ParamSpecs{
				{Name: "url", Type: pipelinev1.ParamTypeString},
				{Name: "revision", Type: pipelinev1.ParamTypeString, Default: pipelinev1.NewStructuredValues("main")},
			},
			Workspaces: []pipelinev1.WorkspaceDeclaration{{Name: "output"}},
			Results:    []pipelinev1.TaskResult{{Name: "commit", Description: "the commit cloned"}},
			Steps: []pipelinev1.Step{{
				Name:    "clone",
				Image:   image,
				Command: []string{gitd.Binary},
				Args:    []string{"clone", "$(params.url)", "$(params.revision)", "$(workspaces.output.path)/src", "$(results.commit.path)"},
			}},
		},
	}
}

// Pipeline returns the clone-build-push Pipeline of a builder.
func Pipeline(b Builder) *pipelinev1.Pipeline {
	return &pipelinev1.Pipeline{
		TypeMeta:   typeMeta("Pipeline"),
		ObjectMeta: objectMeta(PipelineName(b)),
		Spec: pipelinev1.PipelineSpec{
			Description: "Clone a repository, then build its Dockerfile and push the image.",
			Params: pipelinev1.ParamSpecs{
				{Name: "repo-url", Type: pipelinev1.ParamTypeString},
				{Name: "revision", Type: pipelinev1.ParamTypeString, Default: pipelinev1.NewStructuredValues("main")},
				{Name: "image", Type: pipelinev1.ParamTypeString},
				{Name: "dockerfile", Type: pipelinev1.ParamTypeString, Default: pipelinev1.NewStructuredValues("Dockerfile")},
				{Name: "context", Type: pipelinev1.ParamTypeString, Default: pipelinev1.NewStructuredValues(".")},
				{Name: "extra-args", Type: pipelinev1.ParamTypeArray, Default: &pipelinev1.ParamValue{Type: pipelinev1.ParamTypeArray, ArrayVal: []string{}}},
			},
			Workspaces: []pipelinev1.PipelineWorkspaceDeclaration{
				{Name: "shared-data"},
				{Name: "cache", Optional: true},
			},
			Results: []pipelinev1.PipelineResult{
				{Name: "commit", Value: *pipelinev1.NewStructuredValues("$(tasks." + FetchTask + ".results.commit)")},
				{Name: "image-digest", Value: *pipelinev1.NewStructuredValues("$(tasks." + BuildTask + ".results.IMAGE_DIGEST)")},
			},
			Tasks: []pipelinev1.PipelineTask{
				{
					Name:       FetchTask,
					TaskRef:    &pipelinev1.TaskRef{Name: CloneTaskName},
					Workspaces: []pipelinev1.WorkspacePipelineTaskBinding{{Name: "output", Workspace: "shared-data"}},
					Params: pipelinev1.Params{
						{Name: "url", Value: *pipelinev1.NewStructuredValues("$(params.repo-url)")},
						{Name: "revision", Value: *pipelinev1.NewStructuredValues("$(params.revision)")},
					},
				},
				{
					Name:     BuildTask,
					TaskRef:  &pipelinev1.TaskRef{Name: BuildTaskName(b)},
					RunAfter: []string{FetchTask},
					Workspaces: []pipelinev1.WorkspacePipelineTaskBinding{
						{Name: "source", Workspace: "shared-data"},
						{Name: "cache", Workspace: "cache"},
					},
					Params: pipelinev1.Params{
						{Name: "IMAGE", Value: *pipelinev1.NewStructuredValues("$(params.image)")},
						{Name: "DOCKERFILE", Value: *pipelinev1.NewStructuredValues("$(params.dockerfile)")},
						{Name: "CONTEXT", Value: *pipelinev1.NewStructuredValues("$(params.context)")},
						{Name: "EXTRA_ARGS", Value: pipelinev1.ParamValue{Type: pipelinev1.ParamTypeArray, ArrayVal: []string{"$(params.extra-args[*])"}}},
					},
				},
			},
		},
	}
}

// PipelineRunParams describe one PipelineRun to create.
type PipelineRunParams struct {
	Name      string
	Namespace string
	Builder   Builder
	Workload  scenarios.Workload
	RepoURL   string
	// Revision is the branch to build ("" for main).
	Revision  string
	Image     string   // destination reference
	ExtraArgs []string // from Builder.Args
	// CacheClaim is the PersistentVolumeClaim bound to the cache workspace.
	CacheClaim string
	Timeout    time.Duration
	Labels     map[string]string
	// Node, when set, is the node every pod of the run goes to: on a
	// cluster of several, the workspace volume lives where its first pod
	// wrote it.
	Node string
}

// WorkspaceSize is the size asked for the per-run source workspace.
var WorkspaceSize = resource.MustParse("1Gi")

// PipelineRun renders one run of the builder's pipeline.
func PipelineRun(r PipelineRunParams) (*pipelinev1.PipelineRun, error) {
	if r.Name == "" || r.RepoURL == "" || r.Image == "" {
		return nil, fmt.Errorf("pipeline run: name, repository URL and image are required")
	}
	pr := &pipelinev1.PipelineRun{
		TypeMeta:   typeMeta("PipelineRun"),
		ObjectMeta: metav1.ObjectMeta{Name: r.Name, Namespace: r.Namespace, Labels: r.Labels},
		Spec: pipelinev1.PipelineRunSpec{
			PipelineRef: &pipelinev1.PipelineRef{Name: PipelineName(r.Builder)},
			Params: pipelinev1.Params{
				{Name: "repo-url", Value: *pipelinev1.NewStructuredValues(r.RepoURL)},
				{Name: "image", Value: *pipelinev1.NewStructuredValues(r.Image)},
				{Name: "dockerfile", Value: *pipelinev1.NewStructuredValues(r.Workload.Dockerfile)},
				{Name: "context", Value: *pipelinev1.NewStructuredValues(r.Workload.Context)},
				{Name: "extra-args", Value: pipelinev1.ParamValue{Type: pipelinev1.ParamTypeArray, ArrayVal: r.ExtraArgs}},
			},
			Workspaces: []pipelinev1.WorkspaceBinding{{
				Name: "shared-data",
				// A fresh volume per run: every run clones into an empty workspace.
				VolumeClaimTemplate: &corev1.PersistentVolumeClaim{
					Spec: corev1.PersistentVolumeClaimSpec{
						AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
						Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: WorkspaceSize}},
					},
				},
			}},
		},
	}
	if r.Revision != "" {
		pr.Spec.Params = append(pr.Spec.Params, pipelinev1.Param{Name: "revision", Value: *pipelinev1.NewStructuredValues(r.Revision)})
	}
	if r.CacheClaim != "" {
		pr.Spec.Workspaces = append(pr.Spec.Workspaces, pipelinev1.WorkspaceBinding{
			Name:                  "cache",
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: r.CacheClaim},
		})
	}
	if r.Timeout > 0 {
		pr.Spec.Timeouts = &pipelinev1.TimeoutFields{Pipeline: &metav1.Duration{Duration: r.Timeout}}
	}
	if r.Node != "" {
		pr.Spec.TaskRunTemplate.PodTemplate = &pod.Template{NodeSelector: map[string]string{corev1.LabelHostname: r.Node}}
	}
	return pr, nil
}
