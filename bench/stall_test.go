package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/cachebench/cachebench/log"
)

func TestPodWaitsSaysWhy(t *testing.T) {
	at := func(s int) metav1.Time { return metav1.NewTime(time.Unix(int64(s), 0)) }
	unscheduled := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.",
	}}}}
	events := []corev1.Event{
		{Type: "Warning", Reason: "FailedScheduling", Message: "second", LastTimestamp: at(20)},
		{Type: "Warning", Reason: "FailedScheduling", Message: "first", LastTimestamp: at(10)},
	}
	got := podWaits(unscheduled, events)
	for _, want := range []string{"is not scheduled (Unschedulable", "unbound immediate PersistentVolumeClaims", "events: Warning FailedScheduling: first; Warning FailedScheduling: second"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q does not say %q", got, want)
		}
	}
	pulling := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
		Name: "step-build", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image"}},
	}}}}
	if got := podWaits(pulling, nil); !strings.Contains(got, "container step-build waits (ImagePullBackOff") {
		t.Errorf("a pod pulling its image: %q", got)
	}
	running := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
		Name: "step-build", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
	}}}}
	if got := podWaits(running, events); got != "" {
		t.Errorf("a running pod: %q", got)
	}
	if got := podWaits(&corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodSucceeded}}, events); got != "" {
		t.Errorf("a finished pod: %q", got)
	}
}

// TestWaitClaimBound: a claim of an Immediate class is waited for until it
// is bound; one of a WaitForFirstConsumer class, which binds only once a
// pod uses it, is not.
func TestWaitClaimBound(t *testing.T) {
	immediate, delayed := storagev1.VolumeBindingImmediate, storagev1.VolumeBindingWaitForFirstConsumer
	name := func(s string) *string { return &s }
	kc := fake.NewClientset(
		&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "standard"}, Provisioner: "kubernetes.io/host-path", VolumeBindingMode: &immediate},
		&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "local-path"}, Provisioner: "rancher.io/local-path", VolumeBindingMode: &delayed},
	)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pending := func(n, class string) *corev1.PersistentVolumeClaim {
		c := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: n, Namespace: "ns"}, Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: name(class)}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}}
		c, err := kc.CoreV1().PersistentVolumeClaims("ns").Create(ctx, c, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	if err := waitClaimBound(ctx, kc, pending("later", "local-path"), log.NoOp()); err != nil {
		t.Errorf("a WaitForFirstConsumer claim: %v", err)
	}

	claim := pending("now", "standard")
	done := make(chan error, 1)
	go func() { done <- waitClaimBound(ctx, kc, claim, log.NoOp()) }()
	select {
	case err := <-done:
		t.Fatalf("returned before the claim was bound: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	claim.Status.Phase = corev1.ClaimBound
	if _, err := kc.CoreV1().PersistentVolumeClaims("ns").UpdateStatus(ctx, claim, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("once bound: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("still waiting after the claim was bound")
	}
}
