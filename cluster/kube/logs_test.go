package kube

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestLogsSince(t *testing.T) {
	pod := func(name, app string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"app": app}}}
	}
	c := &Clients{Kube: fake.NewSimpleClientset(pod("a", "registry"), pod("b", "registry"), pod("c", "git"))}
	tests := []struct {
		selector, want string
	}{
		// The fake client's log of every pod is "fake logs", without a
		// newline: each pod's log must still end its last line.
		{"app=registry", "fake logs\nfake logs\n"},
		{"app=git", "fake logs\n"},
		{"app=none", ""},
	}
	for _, tt := range tests {
		got, err := c.LogsSince(context.Background(), "ns", tt.selector, "registry", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("LogsSince(%s) = %q, want %q", tt.selector, got, tt.want)
		}
	}
}
