package bench

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	tektonfake "github.com/tektoncd/pipeline/pkg/client/clientset/versioned/fake"

	"github.com/cachebench/cachebench/log"
)

// A benchmark's shared volumes are its own (no provisioner deletes them):
// cleaning up deletes them with their folders, and nobody else's.
func TestRemoveAllSharedVolumes(t *testing.T) {
	ctx := context.Background()
	pv := func(name string, labels map[string]string) *corev1.PersistentVolume {
		return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	}
	ours := map[string]string{LabelRunID: "b1"}
	kube := fake.NewClientset(pv("cache-b1-x", ours), pv("cache-b2-y", map[string]string{LabelRunID: "b2"}), pv("pvc-1234", nil))
	var removed []string
	c := &cleaner{ns: "cachebench", kube: kube, tekton: tektonfake.NewSimpleClientset(), log: log.NoOp(),
		removeFolder: func(_ context.Context, volume string) error { removed = append(removed, volume); return nil }}
	if left, err := c.leftovers(ctx, LabelRunID+"=b1"); err != nil || !slices.Equal(left, []string{"PersistentVolume/cache-b1-x"}) {
		t.Errorf("leftovers %v, %v; want the benchmark's shared volume", left, err)
	}
	f, err := c.removeAll(ctx, LabelRunID+"=b1")
	if err != nil {
		t.Fatal(err)
	}
	if f.Volumes != 1 || !strings.Contains(f.String(), "1 shared volume") {
		t.Errorf("found %+v (%s), want 1 shared volume", f, f)
	}
	if !slices.Equal(removed, []string{"cache-b1-x"}) {
		t.Errorf("folders removed: %v, want cache-b1-x's", removed)
	}
	for name, want := range map[string]bool{"cache-b1-x": false, "cache-b2-y": true, "pvc-1234": true} {
		_, err := kube.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
		if got := !apierrors.IsNotFound(err); got != want {
			t.Errorf("volume %s kept %v, want %v", name, got, want)
		}
	}
	// A folder that cannot be removed is said, naming its volume.
	kube = fake.NewClientset(pv("cache-b1-z", ours))
	c.kube = kube
	c.removeFolder = func(context.Context, string) error { return errors.New("rm: permission denied") }
	if err := c.removeSharedVolume(ctx, "cache-b1-z"); err == nil || !strings.Contains(err.Error(), "volume cache-b1-z: rm: permission denied") {
		t.Errorf("removeSharedVolume: %v", err)
	}
}
