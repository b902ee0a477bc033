// Package tekton installs Tekton Pipelines into a cluster at a pinned version
// and waits until it can really run a TaskRun.
package tekton

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/cachebench/cachebench/cluster/kube"
	"github.com/cachebench/cachebench/internal/gomod"
	"github.com/cachebench/cachebench/log"
)

// Namespace is where Tekton Pipelines runs.
const Namespace = "tekton-pipelines"

const resolversNamespace = "tekton-pipelines-resolvers"

// Images names the images a release built from source refers to.
type Images struct {
	Commands map[string]string // cmd/<name> -> image reference
	Shell    string            // an image with /bin/sh, for script steps
}

// shellRef matches the default shell image of the controller's arguments.
var shellRef = regexp.MustCompile(`cgr\.dev/chainguard/busybox@sha256:[0-9a-f]{64}`)

// RenderFromModule renders the release manifests from the config/ folder of
// the tektoncd/pipeline module, with images built by cachebench.
func RenderFromModule(ctx context.Context, version string, img Images) ([]byte, error) {
	const module = "github.com/tektoncd/pipeline"
	dir, err := gomod.Download(ctx, module, version)
	if err != nil {
		return nil, fmt.Errorf("render tekton release: %w", err)
	}
	out, err := ConcatManifests(dir, "config/100-namespace/*.yaml", "config/*.yaml", "config/300-crds/*.yaml", "config/resolvers/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("render tekton release: %w", err)
	}
	if out, err = ResolveKo(out, module, img.Commands); err != nil {
		return nil, fmt.Errorf("render tekton release: %w", err)
	}
	if img.Shell != "" {
		out = shellRef.ReplaceAllString(out, img.Shell)
	}
	return []byte(out), nil
}

// ConcatManifests joins the YAML files under dir that match each of
// patterns, in order, as one multi-document stream. A pattern that
// matches nothing is an error: the module is not laid out as expected.
func ConcatManifests(dir string, patterns ...string) (string, error) {
	var sb strings.Builder
	for _, p := range patterns {
		files, err := filepath.Glob(filepath.Join(dir, p))
		if err != nil {
			return "", err
		}
		if len(files) == 0 {
			return "", fmt.Errorf("nothing matches %s under %s", p, dir)
		}
		for _, f := range files { // Glob sorts them
			b, err := os.ReadFile(f)
			if err != nil {
				return "", err
			}
			sb.WriteString("---\n")
			sb.Write(b)
			sb.WriteString("\n")
		}
	}
	return sb.String(), nil
}

// ResolveKo replaces the ko:// placeholders of a Tekton module's commands
// (ko://<module>/cmd/<name>) with the images given by command name, as
// the module's own release job does with ko; a command without an image is
// an error naming it.
func ResolveKo(text, module string, images map[string]string) (string, error) {
	ref := regexp.MustCompile(regexp.QuoteMeta("ko://"+module+"/cmd/") + `([a-z0-9-]+)`)
	var missing []string
	out := ref.ReplaceAllStringFunc(text, func(m string) string {
		cmd := ref.FindStringSubmatch(m)[1]
		if image, ok := images[cmd]; ok {
			return image
		}
		missing = append(missing, cmd)
		return m
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("no image for %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// Download fetches a published release manifest.
func Download(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download tekton release %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download tekton release %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// Install applies a release with the given feature flags and waits until
// Tekton can run a TaskRun.
func Install(ctx context.Context, c *kube.Clients, manifest []byte, featureFlags map[string]string, l log.Logger) error {
	start := time.Now()
	objs, err := kube.Decode(manifest)
	if err != nil {
		return fmt.Errorf("install tekton: %w", err)
	}
	objs = kube.Ordered(objs)
	if err := setFeatureFlags(objs, featureFlags); err != nil {
		return fmt.Errorf("install tekton: %w", err)
	}
	l.Infof("applying Tekton Pipelines (%d objects)", len(objs))
	if err := c.Apply(ctx, objs); err != nil {
		return fmt.Errorf("install tekton: %w", err)
	}
	if err := WaitReady(ctx, c, 5*time.Minute); err != nil {
		return fmt.Errorf("install tekton: %w", err)
	}
	l.Infof("Tekton Pipelines ready in %s", time.Since(start).Round(100*time.Millisecond))
	return nil
}

func setFeatureFlags(objs []*unstructured.Unstructured, flags map[string]string) error {
	if len(flags) == 0 {
		return nil
	}
	for _, o := range objs {
		if o.GetKind() == "ConfigMap" && o.GetName() == "feature-flags" && o.GetNamespace() == Namespace {
			data, _, _ := unstructured.NestedStringMap(o.Object, "data")
			if data == nil {
				data = map[string]string{}
			}
			for k, v := range flags {
				data[k] = v
			}
			return unstructured.SetNestedStringMap(o.Object, data, "data")
		}
	}
	return fmt.Errorf("the release has no feature-flags ConfigMap in %s", Namespace)
}

// WaitReady waits until the Tekton deployments are available and the
// webhook admits a Task (a server-side dry run): only then will a
// PipelineRun be accepted.
func WaitReady(ctx context.Context, c *kube.Clients, timeout time.Duration) error {
	if err := c.WaitDeployments(ctx, Namespace, []string{"tekton-pipelines-controller", "tekton-pipelines-webhook", "tekton-events-controller"}, timeout); err != nil {
		return err
	}
	if err := c.WaitDeployments(ctx, resolversNamespace, []string{"tekton-pipelines-remote-resolvers"}, timeout); err != nil {
		return err
	}
	tc := c.Tekton
	probe := &pipelinev1.Task{
		ObjectMeta: metav1.ObjectMeta{Name: "cachebench-readiness-probe", Namespace: "default"},
		Spec:       pipelinev1.TaskSpec{Steps: []pipelinev1.Step{{Name: "noop", Image: "cachebench.local/none:probe", Command: []string{"true"}}}},
	}
	var last error
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		_, last = tc.TektonV1().Tasks("default").Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("tekton webhook does not admit a Task: %v", last)
	}
	return nil
}

// imageRef finds image references in a release manifest: an image: field or
// an -...-image flag's value (the entrypoint, nop and shell images are
// flags of the controller).
var imageRef = regexp.MustCompile(`(?m)(?:image:\s*["']?|-[a-z-]*image["',=\s]+)([a-z0-9][a-z0-9.-]*(?::[0-9]+)?/[^\s"',]+)`)

// ReleaseImages lists, sorted and once each, the images a release manifest
// runs, as it names them (a published release names them by digest).
func ReleaseImages(manifest []byte) []string {
	seen := map[string]bool{}
	for _, m := range imageRef.FindAllSubmatch(manifest, -1) {
		seen[string(m[1])] = true
	}
	return slices.Sorted(maps.Keys(seen))
}
