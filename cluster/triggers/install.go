// Package triggers installs Tekton Triggers beside Pipelines at a pinned
// version, and runs the EventListener through which a benchmark's runs
// start from signed push events.
package triggers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/cachebench/cachebench/cluster/kube"
	"github.com/cachebench/cachebench/internal/gomod"
	"github.com/cachebench/cachebench/log"
)

// Namespace is where Triggers runs: Pipelines' namespace, as its release
// has it (the release makes no namespace of its own).
const Namespace = "tekton-pipelines"

// Group is the API group of Triggers' resources.
const Group = "triggers.tekton.dev"

var (
	triggerBindingGVR     = schema.GroupVersionResource{Group: Group, Version: "v1beta1", Resource: "triggerbindings"}
	triggerTemplateGVR    = schema.GroupVersionResource{Group: Group, Version: "v1beta1", Resource: "triggertemplates"}
	triggerGVR            = schema.GroupVersionResource{Group: Group, Version: "v1beta1", Resource: "triggers"}
	eventListenerGVR      = schema.GroupVersionResource{Group: Group, Version: "v1beta1", Resource: "eventlisteners"}
	clusterInterceptorGVR = schema.GroupVersionResource{Group: Group, Version: "v1alpha1", Resource: "clusterinterceptors"}
)

// Release is what Install applies: the controller and webhook, then the
// core interceptors (their own manifest in a release).
type Release struct {
	Controller   []byte
	Interceptors []byte
}

// koRef matches the image placeholders of Triggers' config/ folder; the
// EventListener's image is one too, in the controller's arguments.
var koRef = regexp.MustCompile(`ko://github\.com/tektoncd/triggers/cmd/([a-z0-9-]+)`)

// RenderFromModule renders a release from the config/ folder of the
// tektoncd/triggers module, with the images built by cachebench (command
// name -> reference), as Triggers' own release job does with ko.
func RenderFromModule(ctx context.Context, version string, images map[string]string) (Release, error) {
	dir, err := gomod.Download(ctx, "github.com/tektoncd/triggers", version)
	if err != nil {
		return Release{}, fmt.Errorf("render triggers release: %w", err)
	}
	controller, err := concat(dir, "config/*.yaml")
	if err != nil {
		return Release{}, err
	}
	// The interceptors' Secret first: the interceptors give up at start
	// without it; their ClusterInterceptors before the Deployment, which
	// fills in their CA bundle when it starts.
	interceptors, err := concat(dir, "config/interceptors/00-interceptor-secrets.yaml", "config/interceptors/core-interceptors.yaml", "config/interceptors/core-interceptors-deployment.yaml")
	if err != nil {
		return Release{}, err
	}
	var missing []string
	resolve := func(s string) []byte {
		return []byte(koRef.ReplaceAllStringFunc(s, func(m string) string {
			cmd := koRef.FindStringSubmatch(m)[1]
			if ref, ok := images[cmd]; ok {
				return ref
			}
			missing = append(missing, cmd)
			return m
		}))
	}
	r := Release{Controller: resolve(controller), Interceptors: resolve(interceptors)}
	if len(missing) > 0 {
		return Release{}, fmt.Errorf("render triggers release: no image for %s", strings.Join(missing, ", "))
	}
	return r, nil
}

// concat joins the YAML files matching patterns under dir, in order.
func concat(dir string, patterns ...string) (string, error) {
	var sb strings.Builder
	for _, p := range patterns {
		files, err := filepath.Glob(filepath.Join(dir, p))
		if err != nil {
			return "", err
		}
		if len(files) == 0 {
			return "", fmt.Errorf("render triggers release: nothing matches %s under %s", p, dir)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return "", fmt.Errorf("render triggers release: %w", err)
			}
			sb.WriteString("---\n")
			sb.Write(b)
			sb.WriteString("\n")
		}
	}
	return sb.String(), nil
}

// Install applies a release and waits until Triggers works: its
// deployments available, its webhook admitting a TriggerBinding, the
// core interceptors serving with their CA bundles published (an
// EventListener refuses to start until every HTTPS interceptor has one).
func Install(ctx context.Context, c *kube.Clients, r Release, l log.Logger) error {
	start := time.Now()
	controller, err := kube.Decode(r.Controller)
	if err != nil {
		return fmt.Errorf("install triggers: %w", err)
	}
	interceptors, err := kube.Decode(r.Interceptors)
	if err != nil {
		return fmt.Errorf("install triggers: %w", err)
	}
	l.Infof("applying Tekton Triggers (%d objects, then %d of its interceptors)", len(controller), len(interceptors))
	if err := c.Apply(ctx, kube.Ordered(controller)); err != nil {
		return fmt.Errorf("install triggers: %w", err)
	}
	const timeout = 5 * time.Minute
	if err := c.WaitDeployments(ctx, Namespace, []string{"tekton-triggers-controller", "tekton-triggers-webhook"}, timeout); err != nil {
		return fmt.Errorf("install triggers: %w", err)
	}
	if err := waitAdmitted(ctx, c, timeout); err != nil {
		return fmt.Errorf("install triggers: %w", err)
	}
	if err := c.Apply(ctx, kube.Ordered(interceptors)); err != nil {
		return fmt.Errorf("install triggers interceptors: %w", err)
	}
	if err := c.WaitDeployments(ctx, Namespace, []string{"tekton-triggers-core-interceptors"}, timeout); err != nil {
		return fmt.Errorf("install triggers interceptors: %w", err)
	}
	if err := waitCABundles(ctx, c, 3*time.Minute); err != nil {
		return fmt.Errorf("install triggers interceptors: %w", err)
	}
	l.Infof("Tekton Triggers ready in %s", time.Since(start).Round(100*time.Millisecond))
	return nil
}

// waitAdmitted waits until the webhook admits a TriggerBinding (a
// server-side dry run): only then are the benchmark's objects accepted.
func waitAdmitted(ctx context.Context, c *kube.Clients, timeout time.Duration) error {
	probe := object(triggerBindingGVR, "TriggerBinding", "cachebench-readiness-probe", "default", map[string]any{
		"params": []any{map[string]any{"name": "x", "value": "$(body.x)"}},
	})
	var last error
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		_, last = c.Dynamic.Resource(triggerBindingGVR).Namespace("default").Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("triggers webhook does not admit a TriggerBinding: %v", last)
	}
	return nil
}

// waitCABundles waits until every HTTPS ClusterInterceptor has its CA
// bundle, which the interceptors' server writes once it runs.
func waitCABundles(ctx context.Context, c *kube.Clients, timeout time.Duration) error {
	var lacking []string
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		list, err := c.Dynamic.Resource(clusterInterceptorGVR).List(ctx, metav1.ListOptions{LabelSelector: "server/type=https"})
		if err != nil {
			lacking = []string{err.Error()}
			return false, nil
		}
		lacking = nil
		for _, ci := range list.Items {
			if b, _, _ := unstructured.NestedString(ci.Object, "spec", "clientConfig", "caBundle"); b == "" {
				lacking = append(lacking, ci.GetName())
			}
		}
		return len(list.Items) > 0 && len(lacking) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("ClusterInterceptors without a CA bundle after %s: %s", timeout, strings.Join(lacking, ", "))
	}
	return nil
}

// object makes an unstructured object of a Triggers kind.
func object(gvr schema.GroupVersionResource, kind, name, ns string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetAPIVersion(gvr.GroupVersion().String())
	u.SetKind(kind)
	u.SetName(name)
	u.SetNamespace(ns)
	return u
}
