package triggers

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cachebench/cachebench/cluster/kube"
	"github.com/cachebench/cachebench/log"
)

const (
	// ListenerName is the EventListener of a benchmark namespace; its
	// Deployment and Service are el-<name>.
	ListenerName = "cachebench"
	// ServiceAccount is the one the EventListener creates PipelineRuns as.
	ServiceAccount = "cachebench-triggers"
	// SecretName holds the webhook secret the GitHub interceptor checks.
	SecretName = "cachebench-github-webhook"
	secretKey  = "secretToken"
	// BindingName is the TriggerBinding reading a GitHub push event.
	BindingName = "cachebench-push"
	// TriggerLabel selects the Triggers of the EventListener.
	TriggerLabel = "cachebench/listener"
	// EventIDLabel and EventListenerLabel are labels Triggers puts on what
	// an event created: the event's id and the listener's name.
	EventIDLabel       = Group + "/triggers-eventid"
	EventListenerLabel = Group + "/eventlistener"
	listenerPort       = 8080
)

// Listener is the EventListener of a namespace, reachable from the
// harness through a port-forward.
type Listener struct {
	Namespace string
	clients   *kube.Clients
	secret    []byte
	log       log.Logger

	mu   sync.Mutex
	url  string
	stop func()
}

// Deploy makes the EventListener of ns with the least it needs: a
// service account bound to Triggers' own EventListener roles (in the
// namespace, and cluster-wide to read ClusterInterceptors), the webhook
// secret and the push binding. It waits until the listener serves.
func Deploy(ctx context.Context, c *kube.Clients, ns string, l log.Logger) (*Listener, error) {
	start := time.Now()
	secret, err := webhookSecret(ctx, c, ns)
	if err != nil {
		return nil, fmt.Errorf("deploy event listener: %w", err)
	}
	meta := func(name string) metav1.ObjectMeta { return kube.Meta(name, ns) }
	typed := []runtime.Object{
		&corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: meta(ServiceAccount)},
		&rbacv1.RoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
			ObjectMeta: meta(ServiceAccount),
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: ServiceAccount, Namespace: ns}},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "tekton-triggers-eventlistener-roles"},
		},
		&rbacv1.ClusterRoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
			ObjectMeta: kube.Meta(ServiceAccount+"-"+ns, ""), // cluster-wide
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: ServiceAccount, Namespace: ns}},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "tekton-triggers-eventlistener-clusterroles"},
		},
	}
	if err := c.ApplyObjects(ctx, typed...); err != nil {
		return nil, fmt.Errorf("deploy event listener: %w", err)
	}
	binding := object(triggerBindingGVR, "TriggerBinding", BindingName, ns, map[string]any{
		"params": []any{
			map[string]any{"name": "url", "value": "$(body.repository.clone_url)"},
			map[string]any{"name": "commit", "value": "$(body.after)"},
		},
	})
	el := object(eventListenerGVR, "EventListener", ListenerName, ns, map[string]any{
		"serviceAccountName": ServiceAccount,
		"labelSelector":      map[string]any{"matchLabels": map[string]any{TriggerLabel: ListenerName}},
	})
	for _, o := range []*unstructured.Unstructured{binding, el} {
		o.SetLabels(meta(o.GetName()).Labels)
	}
	if err := c.Apply(ctx, []*unstructured.Unstructured{binding, el}); err != nil {
		return nil, fmt.Errorf("deploy event listener: %w", err)
	}
	if err := c.WaitDeployments(ctx, ns, []string{"el-" + ListenerName}, 3*time.Minute); err != nil {
		return nil, fmt.Errorf("deploy event listener: %w", err)
	}
	lis := &Listener{Namespace: ns, clients: c, secret: secret, log: l}
	if err := lis.connect(ctx); err != nil {
		return nil, fmt.Errorf("deploy event listener: %w", err)
	}
	l.Infof("event listener el-%s ready in %s", ListenerName, time.Since(start).Round(100*time.Millisecond))
	return lis, nil
}

// webhookSecret returns the namespace's webhook secret, making one the
// first time (a cluster reused keeps its secret).
func webhookSecret(ctx context.Context, c *kube.Clients, ns string) ([]byte, error) {
	secrets := c.Kube.CoreV1().Secrets(ns)
	s, err := secrets.Get(ctx, SecretName, metav1.GetOptions{})
	if err == nil && len(s.Data[secretKey]) > 0 {
		return s.Data[secretKey], nil
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("read webhook secret: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	token := []byte(hex.EncodeToString(raw))
	s = &corev1.Secret{
		ObjectMeta: kube.Meta(SecretName, ns),
		Data:       map[string][]byte{secretKey: token},
	}
	if _, err := secrets.Create(ctx, s, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("create webhook secret: %w", err)
	}
	return token, nil
}

// connect forwards a local port to the listener's pod.
func (l *Listener) connect(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stop != nil {
		l.stop()
	}
	port, stop, err := l.clients.PortForward(ctx, l.Namespace, "eventlistener="+ListenerName, listenerPort)
	if err != nil {
		return err
	}
	l.url, l.stop = fmt.Sprintf("http://127.0.0.1:%d", port), stop
	return nil
}

// Close stops the port-forward.
func (l *Listener) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stop != nil {
		l.stop()
		l.stop = nil
	}
}

// Trigger is what turns a push to one branch of one repository into the
// PipelineRun given: a TriggerTemplate and a Trigger of the same name.
type Trigger struct {
	Name   string
	Labels map[string]string
	// Repository and Branch are the only push the Trigger acts on; with
	// Header, only one that carries these headers too (name: value).
	Repository, Branch string
	Header             map[string]string
	// PipelineRun is the resource the template creates (with generateName);
	// $(tt.params.url) and $(tt.params.commit) in it take the event's
	// clone URL and commit.
	PipelineRun runtime.Object
}

// AddTrigger creates a Trigger for the listener. The listener reads
// Triggers from its informer: Add returns before it has seen this one.
func (l *Listener) AddTrigger(ctx context.Context, t Trigger) error {
	objs, err := l.triggerObjects(t)
	if err != nil {
		return fmt.Errorf("trigger %s: %w", t.Name, err)
	}
	if err := l.clients.Apply(ctx, objs); err != nil {
		return fmt.Errorf("trigger %s: %w", t.Name, err)
	}
	return nil
}

// triggerObjects are the TriggerTemplate and the Trigger of t. The
// listener runs every Trigger's interceptors on every event, so the CEL
// filter goes first: only the Trigger the push is for then calls the
// GitHub interceptor, which reads the webhook secret from the API server
// whenever its 5-second cache of it is empty. With the signature checked
// first, every Trigger read it at once, some waited on the interceptors'
// client rate limit past their 3-second deadline ("client rate limiter
// Wait returned an error"), and an event could make no PipelineRun.
func (l *Listener) triggerObjects(t Trigger) ([]*unstructured.Unstructured, error) {
	pr, err := runtime.DefaultUnstructuredConverter.ToUnstructured(t.PipelineRun)
	if err != nil {
		return nil, err
	}
	unstructured.RemoveNestedField(pr, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(pr, "status")
	template := object(triggerTemplateGVR, "TriggerTemplate", t.Name, l.Namespace, map[string]any{
		"params":            []any{map[string]any{"name": "url"}, map[string]any{"name": "commit"}},
		"resourcetemplates": []any{pr},
	})
	trigger := object(triggerGVR, "Trigger", t.Name, l.Namespace, map[string]any{
		"interceptors": []any{
			map[string]any{
				"ref":    map[string]any{"name": "cel"},
				"params": []any{map[string]any{"name": "filter", "value": Filter(t.Repository, t.Branch) + headerFilter(t.Header)}},
			},
			map[string]any{
				"ref": map[string]any{"name": "github"},
				"params": []any{
					map[string]any{"name": "secretRef", "value": map[string]any{"secretName": SecretName, "secretKey": secretKey}},
					map[string]any{"name": "eventTypes", "value": []any{"push"}},
				},
			},
		},
		"bindings": []any{map[string]any{"ref": BindingName}},
		"template": map[string]any{"ref": t.Name},
	})
	labels := map[string]string{TriggerLabel: ListenerName}
	maps.Copy(labels, t.Labels)
	template.SetLabels(labels)
	trigger.SetLabels(labels)
	return []*unstructured.Unstructured{template, trigger}, nil
}

// Filter is the CEL expression a Trigger keeps a push with: its
// repository and branch.
func Filter(repository, branch string) string {
	return fmt.Sprintf("body.repository.name == %s && body.ref == %s", celString(repository), celString("refs/heads/"+branch))
}

// headerFilter adds to a Trigger's filter the headers it requires.
func headerFilter(header map[string]string) string {
	var f strings.Builder
	for _, name := range slices.Sorted(maps.Keys(header)) {
		fmt.Fprintf(&f, " && header.match(%s, %s)", celString(name), celString(header[name]))
	}
	return f.String()
}

func celString(s string) string {
	b, _ := json.Marshal(s) // a JSON string is a valid CEL string literal
	return string(b)
}

// RemoveTriggers deletes the Triggers and TriggerTemplates matching
// selector.
func (l *Listener) RemoveTriggers(ctx context.Context, selector string) error {
	var errs []error
	for _, gvr := range []schema.GroupVersionResource{triggerGVR, triggerTemplateGVR} {
		err := l.clients.Dynamic.Resource(gvr).Namespace(l.Namespace).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: selector})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete %s %s: %w", gvr.Resource, selector, err))
		}
	}
	return errors.Join(errs...)
}

// Push is a GitHub push event, as much of it as a binding reads.
type Push struct {
	Repository string // name
	CloneURL   string
	Branch     string
	Before     string // the commit the branch pointed at
	After      string // the commit pushed
	// Header are headers sent besides GitHub's, which a Trigger may
	// require (Trigger.Header).
	Header map[string]string
}

// Payload is the event's JSON body, in GitHub's shape.
func (p Push) Payload() ([]byte, error) {
	return json.Marshal(map[string]any{
		"ref":    "refs/heads/" + p.Branch,
		"before": p.Before,
		"after":  p.After,
		"repository": map[string]any{
			"name": p.Repository, "full_name": "cachebench/" + p.Repository, "clone_url": p.CloneURL,
		},
		"head_commit": map[string]any{"id": p.After},
		"pusher":      map[string]any{"name": "cachebench"},
	})
}

// Sign is the X-Hub-Signature-256 value of body under secret, as GitHub
// computes it.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Sent is an event the listener accepted.
type Sent struct {
	EventID string
	// At is when the request left; Accepted when the answer came.
	At, Accepted time.Time
}

// Send posts a push event, signed with the webhook secret (or with a
// wrong one when forged is set, to see it rejected), and returns the
// listener's event id. The listener answers 202 before its Triggers run:
// whether the event made anything is seen only in what appears with its
// id. A broken port-forward (the listener's pod restarted) is made again
// once, before the clock starts.
func (l *Listener) Send(ctx context.Context, p Push, forged bool) (Sent, error) {
	body, err := p.Payload()
	if err != nil {
		return Sent{}, err
	}
	key := l.secret
	if forged {
		key = []byte("not-the-secret")
	}
	sig := Sign(key, body)
	for attempt := 0; ; attempt++ {
		l.mu.Lock()
		url := l.url
		l.mu.Unlock()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return Sent{}, err
		}
		for name, value := range p.Header {
			req.Header.Set(name, value)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-Hub-Signature-256", sig)
		at := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			if attempt == 0 && ctx.Err() == nil {
				l.log.Warnf("event listener: %v; forwarding again", err)
				if cerr := l.connect(ctx); cerr != nil {
					return Sent{}, fmt.Errorf("send push event: %w (and forwarding again: %v)", err, cerr)
				}
				continue
			}
			return Sent{}, fmt.Errorf("send push event: %w", err)
		}
		accepted := time.Now()
		id, err := eventID(resp)
		if err != nil {
			return Sent{}, fmt.Errorf("send push event: %w", err)
		}
		return Sent{EventID: id, At: at, Accepted: accepted}, nil
	}
}

// eventID reads the listener's answer. It sets its content type after
// the status, so the body is read whatever the header says.
func eventID(resp *http.Response) (string, error) {
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	var v struct {
		EventID      string `json:"eventID"`
		ErrorMessage string `json:"errorMessage"`
	}
	_ = json.Unmarshal(data, &v)
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		msg := v.ErrorMessage
		if msg == "" {
			msg = strings.TrimSpace(string(data))
		}
		return "", fmt.Errorf("the event listener answered %s: %s", resp.Status, msg)
	}
	if v.EventID == "" {
		return "", fmt.Errorf("the event listener answered %s without an event id: %s", resp.Status, strings.TrimSpace(string(data)))
	}
	return v.EventID, nil
}
