package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/cachebench/cachebench/log"
)

// StallAfter is how long a pod may wait to run before the harness says
// why it waits.
var StallAfter = time.Minute

// watchStalls says, once StallAfter has passed and then every StallAfter,
// why each pod matching opts (a label or field selector) that has not
// started all its containers waits: its scheduling condition, its
// containers' waiting reasons and its latest events. A wait that ends in
// minutes (the scheduler retrying a pod it found unschedulable, an image
// pull) is then in the log, not only in a long duration. It ends with ctx
// or stop.
func watchStalls(ctx context.Context, kc kubernetes.Interface, ns, what string, opts metav1.ListOptions, l log.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	start := time.Now()
	go func() {
		t := time.NewTicker(StallAfter)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			pods, err := kc.CoreV1().Pods(ns).List(ctx, opts)
			if err != nil {
				continue
			}
			for _, p := range pods.Items {
				events, err := kc.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("involvedObject.name", p.Name).String()})
				var evs []corev1.Event
				if err == nil {
					evs = events.Items
				}
				if why := podWaits(&p, evs); why != "" {
					l.Warnf("%s: still waiting after %s: pod %s %s", what, time.Since(start).Round(time.Second), p.Name, why)
				}
			}
		}
	}()
	return cancel
}

// podWaits says why a pod has not started all its containers ("" when it
// has, or has ended): its PodScheduled condition when unscheduled, the
// waiting reasons of its containers, and its last three events.
func podWaits(p *corev1.Pod, events []corev1.Event) string {
	if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed || p.DeletionTimestamp != nil {
		return ""
	}
	var why []string
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue {
			why = append(why, fmt.Sprintf("is not scheduled (%s: %s)", c.Reason, c.Message))
		}
	}
	for _, cs := range append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...) {
		if w := cs.State.Waiting; w != nil && w.Reason != "" && w.Reason != "PodInitializing" {
			why = append(why, fmt.Sprintf("container %s waits (%s: %s)", cs.Name, w.Reason, w.Message))
		}
	}
	if len(why) == 0 && p.Status.Phase != corev1.PodPending {
		return ""
	}
	if len(why) == 0 {
		why = append(why, "is pending")
	}
	slices.SortFunc(events, func(a, b corev1.Event) int { return eventTime(a).Compare(eventTime(b)) })
	if n := len(events); n > 0 {
		var last []string
		for _, e := range events[max(0, n-3):] {
			last = append(last, fmt.Sprintf("%s %s: %s", e.Type, e.Reason, strings.TrimSpace(e.Message)))
		}
		why = append(why, "events: "+strings.Join(last, "; "))
	}
	return strings.Join(why, "; ")
}

func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.FirstTimestamp.Time
}

// waitClaimBound waits until claim is bound, when its StorageClass binds
// at once (Immediate, as the in-tree host-path provisioner of the offline
// node image does): a pod created before then is found unschedulable
// ("unbound immediate PersistentVolumeClaims") and may wait for the
// scheduler's periodic retry, minutes later. Under WaitForFirstConsumer a
// claim binds only once a pod uses it, so there is nothing to wait for.
func waitClaimBound(ctx context.Context, kc kubernetes.Interface, claim *corev1.PersistentVolumeClaim, l log.Logger) error {
	if claim.Spec.StorageClassName != nil && *claim.Spec.StorageClassName != "" {
		sc, err := kc.StorageV1().StorageClasses().Get(ctx, *claim.Spec.StorageClassName, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("storage class of volume claim %s: %w", claim.Name, err)
		}
		if sc.VolumeBindingMode != nil && *sc.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer {
			return nil
		}
	}
	start := time.Now()
	err := wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		c, err := kc.CoreV1().PersistentVolumeClaims(claim.Namespace).Get(ctx, claim.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return c.Status.Phase == corev1.ClaimBound, nil
	})
	if err != nil {
		return fmt.Errorf("volume claim %s was not bound: %w", claim.Name, err)
	}
	if d := time.Since(start); d > StallAfter {
		l.Warnf("volume claim %s took %s to be bound", claim.Name, d.Round(time.Second))
	}
	return nil
}
