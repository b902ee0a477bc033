package kube

import (
	"maps"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

func TestServerDeployment(t *testing.T) {
	selector := map[string]string{"app.kubernetes.io/name": "registry", "app.kubernetes.io/part-of": "cachebench"}
	tests := []struct {
		name       string
		server     Server
		podLabels  map[string]string
		pullPolicy corev1.PullPolicy
	}{
		{
			name:       "selector only",
			server:     Server{Name: "git", Namespace: "ns", Selector: selector, Container: corev1.Container{Name: "daemon", Image: "git:v1"}},
			podLabels:  selector,
			pullPolicy: corev1.PullIfNotPresent,
		},
		{
			name: "labels on top of the selector, pull policy kept",
			server: Server{Name: "registry", Namespace: "ns", Selector: selector,
				Labels:      map[string]string{"app.kubernetes.io/component": "registry"},
				Annotations: map[string]string{"cachebench/routes": "abc"},
				Container:   corev1.Container{Name: "registry", Image: "registry:3", ImagePullPolicy: corev1.PullAlways}},
			podLabels:  map[string]string{"app.kubernetes.io/name": "registry", "app.kubernetes.io/part-of": "cachebench", "app.kubernetes.io/component": "registry"},
			pullPolicy: corev1.PullAlways,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.server.Deployment()
			if d.Name != tt.server.Name || d.Namespace != "ns" {
				t.Errorf("deployment %s/%s", d.Namespace, d.Name)
			}
			if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
				t.Errorf("replicas %v, strategy %s: want one, recreated", d.Spec.Replicas, d.Spec.Strategy.Type)
			}
			if !maps.Equal(d.Spec.Selector.MatchLabels, selector) {
				t.Errorf("selector %v, want %v", d.Spec.Selector.MatchLabels, selector)
			}
			if !maps.Equal(d.Spec.Template.Labels, tt.podLabels) {
				t.Errorf("pod labels %v, want %v", d.Spec.Template.Labels, tt.podLabels)
			}
			if !maps.Equal(d.Spec.Template.Annotations, tt.server.Annotations) {
				t.Errorf("pod annotations %v, want %v", d.Spec.Template.Annotations, tt.server.Annotations)
			}
			if c := d.Spec.Template.Spec.Containers; len(c) != 1 || c[0].Image != tt.server.Container.Image || c[0].ImagePullPolicy != tt.pullPolicy {
				t.Errorf("containers %+v, want one of %s pulled %s", c, tt.server.Container.Image, tt.pullPolicy)
			}
			// The selector map must not have gained the pod labels.
			if len(selector) != 2 {
				t.Errorf("the server's selector was changed: %v", selector)
			}
		})
	}
}

func TestServerService(t *testing.T) {
	s := Server{Name: "toxiproxy", Namespace: "ns", Selector: map[string]string{"app.kubernetes.io/name": "toxiproxy"}}
	svc := s.Service("upstream", "tcp", 5000, 20001)
	if svc.Name != "upstream" || svc.Namespace != "ns" || !maps.Equal(svc.Spec.Selector, s.Selector) {
		t.Errorf("service %s/%s selecting %v", svc.Namespace, svc.Name, svc.Spec.Selector)
	}
	if p := svc.Spec.Ports; len(p) != 1 || p[0].Name != "tcp" || p[0].Port != 5000 || p[0].TargetPort.IntVal != 20001 {
		t.Errorf("ports %+v, want tcp 5000 -> 20001", p)
	}
}

func TestServerPodSelector(t *testing.T) {
	tests := []struct {
		name   string
		server Server
		want   string
	}{
		{"the standard labels", Server{Selector: Labels("git")}, "app.kubernetes.io/name=git,app.kubernetes.io/part-of=cachebench"},
		{"labels on top of the selector", Server{Selector: Labels("registry"), Labels: map[string]string{"app.kubernetes.io/component": "registry"}},
			"app.kubernetes.io/component=registry,app.kubernetes.io/name=registry,app.kubernetes.io/part-of=cachebench"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.server.PodSelector(); got != tt.want {
				t.Errorf("PodSelector() = %q, want %q", got, tt.want)
			}
			// The pods the Deployment makes are the ones selected.
			sel, err := labels.Parse(tt.server.PodSelector())
			if err != nil {
				t.Fatal(err)
			}
			if pod := tt.server.Deployment().Spec.Template.Labels; !sel.Matches(labels.Set(pod)) {
				t.Errorf("the pods' labels %v are not selected by %q", pod, sel)
			}
		})
	}
}

func TestMeta(t *testing.T) {
	m := Meta("registry-config", "ns")
	if m.Name != "registry-config" || m.Namespace != "ns" {
		t.Errorf("Meta() named %s/%s", m.Namespace, m.Name)
	}
	// One label marks all that is the harness's, its servers' pods included.
	if !labels.SelectorFromSet(m.Labels).Matches(labels.Set(Labels("git"))) || len(m.Labels) == 0 {
		t.Errorf("Meta()'s labels %v are not the part-of label of Labels()", m.Labels)
	}
}
