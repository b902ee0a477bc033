// Package triggers installs Tekton Triggers beside Pipelines at a pinned
// version, and runs the EventListener through which a benchmark's runs
// start from signed push events.
package triggers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/cachebench/cachebench/cluster/kube"
	"github.com/cachebench/cachebench/cluster/tekton"
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

// RenderFromModule renders a release from the config/ folder of the
// tektoncd/triggers module, with the images built by cachebench (command
// name -> reference). The EventListener's image is a placeholder too, in
// the controller's arguments.
func RenderFromModule(ctx context.Context, version string, images map[string]string) (Release, error) {
	dir, err := gomod.Download(ctx, triggersModule, version)
	if err != nil {
		return Release{}, fmt.Errorf("render triggers release: %w", err)
	}
	return renderFromDir(dir, images)
}

const triggersModule = "github.com/tektoncd/triggers"

// renderFromDir renders a release from dir, the module's files.
func renderFromDir(dir string, images map[string]string) (Release, error) {
	const module = triggersModule
	controller, err := tekton.ConcatManifests(dir, "config/*.yaml")
	if err != nil {
		return Release{}, fmt.Errorf("render triggers release: %w", err)
	}
	// The interceptors' Secret first: the interceptors give up at start
	// without it; their ClusterInterceptors before the Deployment, which
	// fills in their CA bundle when it starts.
	interceptors, err := tekton.ConcatManifests(dir, "config/interceptors/00-interceptor-secrets.yaml", "config/interceptors/core-interceptors.yaml", "config/interceptors/core-interceptors-deployment.yaml")
	if err != nil {
		return Release{}, fmt.Errorf("render triggers release: %w", err)
	}
	controller, cerr := tekton.ResolveKo(controller, module, images)
	interceptors, ierr := tekton.ResolveKo(interceptors, module, images)
	if err := errors.Join(cerr, ierr); err != nil {
		return Release{}, fmt.Errorf("render triggers release: %w", err)
	}
	return Release{Controller: []byte(controller), Interceptors: []byte(interceptors)}, nil
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
