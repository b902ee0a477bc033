// Package kube holds the Kubernetes plumbing the cluster setup shares:
// clients from a kubeconfig, server-side apply of manifests, waits and port
// forwarding.
package kube

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
)

// FieldManager names cachebench in server-side apply.
const FieldManager = "cachebench"

// Clients bundles the clients of one cluster, made once from one config:
// Kubernetes' typed and dynamic clients and Tekton's.
type Clients struct {
	Config  *rest.Config
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
	Tekton  tektonclient.Interface
	// ServersOnControlPlane places the harness's servers (Deploy) on the
	// control plane, apart from the worker nodes that run builds.
	ServersOnControlPlane bool
	mapper                *restmapper.DeferredDiscoveryRESTMapper
}

// FromKubeconfig builds clients from a kubeconfig file.
func FromKubeconfig(path string) (*Clients, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", path, err)
	}
	return FromConfig(cfg)
}

// FromConfig builds clients from a REST config.
func FromConfig(cfg *rest.Config) (*Clients, error) {
	cfg = rest.CopyConfig(cfg)
	// The setup applies a few hundred objects; client-go's default of 5 QPS
	// would make that take a minute for no reason.
	cfg.QPS, cfg.Burst = 50, 100
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	tc, err := tektonclient.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Clients{Config: cfg, Kube: kc, Dynamic: dc, Tekton: tc, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco))}, nil
}

// PingTimeout is how long connecting waits for the API server to answer.
const PingTimeout = 15 * time.Second

// Ping checks that the API server answers within timeout and returns its
// version. The error names the server and says what to do.
func (c *Clients) Ping(ctx context.Context, timeout time.Duration) (*version.Info, error) {
	// discovery's ServerVersion ignores contexts, and the config has no
	// timeout: a server that accepts but never answers would hang it. Ask
	// with a context, and a client timeout should anything not honour it.
	cfg := rest.CopyConfig(c.Config)
	cfg.Timeout = timeout
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("ping API server at %s: %w", c.Config.Host, err)
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	raw, err := dc.RESTClient().Get().AbsPath("/version").Do(tctx).Raw()
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("ping API server at %s: %w", c.Config.Host, ctx.Err())
		}
		if tctx.Err() != nil || isTimeout(err) {
			return nil, fmt.Errorf("the API server at %s did not answer within %s (%w): check the kubeconfig and that the cluster runs", c.Config.Host, timeout, err)
		}
		return nil, fmt.Errorf("the API server at %s does not answer (%w): check the kubeconfig and that the cluster runs", c.Config.Host, err)
	}
	var v version.Info
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("API server at %s: version: %w", c.Config.Host, err)
	}
	return &v, nil
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// Decode splits a multi-document YAML stream into objects, skipping empty ones.
func Decode(data []byte) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj := &unstructured.Unstructured{}
		if err := utilyaml.Unmarshal(doc, &obj.Object); err != nil {
			return nil, fmt.Errorf("decode manifest: %w", err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		objs = append(objs, obj)
	}
}

// Ordered puts namespaces first and CRDs second, keeping the rest in
// order: a release applied in that order never names a missing kind.
func Ordered(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	rank := func(o *unstructured.Unstructured) int {
		switch o.GetKind() {
		case "Namespace":
			return 0
		case "CustomResourceDefinition":
			return 1
		}
		return 2
	}
	out := append([]*unstructured.Unstructured(nil), objs...)
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return out
}

// Apply applies objects with server-side apply, in order. CRDs are waited
// for before the objects after them, so that a stream holding both applies.
func (c *Clients) Apply(ctx context.Context, objs []*unstructured.Unstructured) error {
	for _, obj := range objs {
		if err := PastWebhookGaps(ctx, func(ctx context.Context) error { return c.applyOne(ctx, obj) }); err != nil {
			return fmt.Errorf("apply %s %s: %w", obj.GetKind(), nameOf(obj), err)
		}
		if obj.GetKind() == "CustomResourceDefinition" {
			if err := c.waitCRD(ctx, obj.GetName()); err != nil {
				return err
			}
			c.mapper.Reset()
		}
	}
	return nil
}

// webhookBackoff spaces the attempts of a write an admission webhook
// could not take (about 90 s in all): a webhook's pod can drop out of its
// Service for seconds after it first admitted, as Triggers' did under load
// on a 2-core machine.
var webhookBackoff = wait.Backoff{Duration: time.Second, Factor: 1.5, Steps: 12, Cap: 15 * time.Second}

// PastWebhookGaps calls write (an apply or create) until it succeeds, fails
// for a reason other than an unreachable admission webhook, or about 90 s
// have gone. A write a webhook could not take was not made, so it is safe
// to make again.
func PastWebhookGaps(ctx context.Context, write func(context.Context) error) error {
	return pastWebhookGaps(ctx, webhookBackoff, write)
}

func pastWebhookGaps(ctx context.Context, backoff wait.Backoff, apply func(context.Context) error) error {
	var last error
	err := wait.ExponentialBackoffWithContext(ctx, backoff, func(ctx context.Context) (bool, error) {
		last = apply(ctx)
		if last != nil && webhookUnreachable(last) {
			return false, nil
		}
		return true, last
	})
	if wait.Interrupted(err) && last != nil {
		return fmt.Errorf("%w (still, after %d attempts)", last, backoff.Steps)
	}
	return err
}

// webhookUnreachable tells an admission webhook the API server could not
// call (its pod not serving) from a webhook's answer.
func webhookUnreachable(err error) bool {
	return apierrors.IsInternalError(err) && strings.Contains(err.Error(), "failed calling webhook")
}

func nameOf(obj *unstructured.Unstructured) string {
	if ns := obj.GetNamespace(); ns != "" {
		return ns + "/" + obj.GetName()
	}
	return obj.GetName()
}

func (c *Clients) applyOne(ctx context.Context, obj *unstructured.Unstructured) error {
	gvk := obj.GroupVersionKind()
	mapping, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		c.mapper.Reset()
		if mapping, err = c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			return err
		}
	}
	var ri dynamic.ResourceInterface = c.Dynamic.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := obj.GetNamespace()
		if ns == "" {
			ns = "default"
		}
		ri = c.Dynamic.Resource(mapping.Resource).Namespace(ns)
	}
	_, err = ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	return err
}

func (c *Clients) waitCRD(ctx context.Context, name string) error {
	crds := c.Dynamic.Resource(crdGVR)
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		u, err := crds.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, cd := range conds {
			m, _ := cd.(map[string]any)
			if m["type"] == "Established" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("CRD %s not established: %w", name, err)
	}
	return nil
}

// WaitDeployments waits until every named Deployment in ns is available with
// all its replicas updated. On timeout it says which one and why.
func (c *Clients) WaitDeployments(ctx context.Context, ns string, names []string, timeout time.Duration) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		for _, n := range names {
			d, err := c.Kube.AppsV1().Deployments(ns).Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				last = fmt.Sprintf("deployment %s/%s: %v", ns, n, err)
				return false, nil
			}
			if !deploymentReady(d) {
				last = fmt.Sprintf("deployment %s/%s: %d of %d replicas available", ns, n, d.Status.AvailableReplicas, replicas(d))
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("wait for %s: %s%s", strings.Join(names, ", "), last, c.podProblems(context.Background(), ns))
	}
	return nil
}

func replicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

func deploymentReady(d *appsv1.Deployment) bool {
	if d.Status.ObservedGeneration < d.Generation {
		return false
	}
	want := replicas(d)
	return d.Status.UpdatedReplicas == want && d.Status.AvailableReplicas == want
}

// podProblems describes pods of ns that are not ready, for error messages.
func (c *Clients) podProblems(ctx context.Context, ns string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	pods, err := c.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return ""
	}
	var sb strings.Builder
	for _, p := range pods.Items {
		for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
			if cs.Ready {
				continue
			}
			switch {
			case cs.State.Waiting != nil:
				fmt.Fprintf(&sb, "\n  pod %s container %s waiting: %s %s", p.Name, cs.Name, cs.State.Waiting.Reason, cs.State.Waiting.Message)
			case cs.State.Terminated != nil && cs.State.Terminated.ExitCode != 0:
				fmt.Fprintf(&sb, "\n  pod %s container %s exited %d: %s", p.Name, cs.Name, cs.State.Terminated.ExitCode, cs.State.Terminated.Message)
			}
		}
		if p.Status.Phase == corev1.PodPending && len(p.Status.ContainerStatuses) == 0 {
			for _, cd := range p.Status.Conditions {
				if cd.Status != corev1.ConditionTrue && cd.Message != "" {
					fmt.Fprintf(&sb, "\n  pod %s: %s", p.Name, cd.Message)
				}
			}
		}
	}
	return sb.String()
}

// EnsureNamespace creates ns when missing.
func (c *Clients) EnsureNamespace(ctx context.Context, ns string) error {
	_, err := c.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", ns, err)
	}
	return nil
}

// ApplyObjects applies typed objects with server-side apply. Their kind
// comes from their TypeMeta when set, else from client-go's scheme.
func (c *Clients) ApplyObjects(ctx context.Context, objs ...runtime.Object) error {
	var us []*unstructured.Unstructured
	for _, o := range objs {
		gvk := o.GetObjectKind().GroupVersionKind()
		if gvk.Empty() {
			gvks, _, err := scheme.Scheme.ObjectKinds(o)
			if err != nil || len(gvks) == 0 {
				return fmt.Errorf("apply %T: unknown kind (set its TypeMeta): %v", o, err)
			}
			gvk = gvks[0]
		}
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return fmt.Errorf("apply %T: %w", o, err)
		}
		u := &unstructured.Unstructured{Object: m}
		u.SetGroupVersionKind(gvk)
		unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
		unstructured.RemoveNestedField(u.Object, "status")
		us = append(us, u)
	}
	return c.Apply(ctx, us)
}
