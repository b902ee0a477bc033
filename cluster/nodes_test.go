package cluster

import (
	"context"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/cachebench/cachebench/cluster/kube"
)

func node(name string, controlPlane bool) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
	if controlPlane {
		n.Labels[kube.ControlPlaneLabel] = ""
	}
	return n
}

// TestBuildNodes: builds go to the workers of a cluster with several; a
// cluster taken over with another number of them than asked is refused.
func TestBuildNodes(t *testing.T) {
	three := &kube.Clients{Kube: fake.NewSimpleClientset(node("b-control-plane", true), node("b-worker2", false), node("b-worker", false))}
	got, err := buildNodes(context.Background(), three, Config{Name: "b", Nodes: 2})
	if err != nil || !slices.Equal(got, []string{"b-worker", "b-worker2"}) {
		t.Errorf("two workers: %v, %v", got, err)
	}
	one := &kube.Clients{Kube: fake.NewSimpleClientset(node("b-control-plane", true))}
	if got, err := buildNodes(context.Background(), one, Config{Name: "b", Nodes: 1}); err != nil || got != nil {
		t.Errorf("one node: %v, %v; want no placement", got, err)
	}
	for _, tc := range []struct {
		clients *kube.Clients
		nodes   int
		want    string
	}{
		{three, 1, "has 2 nodes for builds and --nodes asks 1: give --nodes 2"},
		{one, 3, "has 1 node for builds and --nodes asks 3: give --nodes 1"},
	} {
		_, err := buildNodes(context.Background(), tc.clients, Config{Name: "b", Nodes: tc.nodes})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "cachebench cluster down --cluster-name b") {
			t.Errorf("--nodes %d: %v, want %q", tc.nodes, err, tc.want)
		}
	}
}
