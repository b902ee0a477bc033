package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"

	"github.com/cachebench/cachebench/log"
)

// RemoveTimeout bounds the wait for a run's objects to be gone.
var RemoveTimeout = 3 * time.Minute

// cleaner deletes what benchmarks create in the namespace and waits until
// it is gone, so that one run's teardown never lands inside the next run's
// clock, and nothing is left behind.
type cleaner struct {
	ns     string
	kube   kubernetes.Interface
	tekton tektonclient.Interface
	log    log.Logger
	// removeFolder removes a shared volume's folder, which no provisioner
	// deletes (nil where the harness made none: no kind cluster).
	removeFolder func(ctx context.Context, volume string) error
}

// found counts what a selector matched before it was removed.
type found struct {
	PipelineRuns, Running, Pods, Claims, Volumes int
}

func (f found) empty() bool { return f.PipelineRuns+f.Pods+f.Claims+f.Volumes == 0 }

func (f found) String() string {
	prs := count(f.PipelineRuns, "PipelineRun")
	if f.Running > 0 {
		prs += fmt.Sprintf(" (%d still running: cancelled)", f.Running)
	}
	out := fmt.Sprintf("%s, %s, %s", prs, count(f.Pods, "pod"), count(f.Claims, "volume claim"))
	if f.Volumes > 0 {
		out += ", " + count(f.Volumes, "shared volume")
	}
	return out
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// removeAll cancels the running PipelineRuns that match selector, deletes
// them with their TaskRuns, pods and workspace volumes, deletes the other
// pods and volume claims that match (warm-up pods, cache volumes), and
// waits until all of it, their volumes included, is gone.
func (c *cleaner) removeAll(ctx context.Context, selector string) (found, error) {
	var f found
	prs, err := c.tekton.TektonV1().PipelineRuns(c.ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return f, fmt.Errorf("list PipelineRuns: %w", err)
	}
	f.PipelineRuns = len(prs.Items)
	var claims []string
	for i := range prs.Items {
		pr := &prs.Items[i]
		if !isDone(pr) {
			f.Running++
			c.cancel(ctx, pr.Name)
		}
		owned, err := c.ownedClaims(ctx, pr.UID)
		if err != nil {
			return f, err
		}
		claims = append(claims, owned...)
	}
	pods, err := c.kube.CoreV1().Pods(c.ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return f, fmt.Errorf("list pods: %w", err)
	}
	f.Pods = len(pods.Items)
	pvcs, err := c.kube.CoreV1().PersistentVolumeClaims(c.ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return f, fmt.Errorf("list volume claims: %w", err)
	}
	f.Claims = len(pvcs.Items)
	for _, pvc := range pvcs.Items {
		claims = append(claims, pvc.Name)
	}
	volumes, err := c.volumesOf(ctx, claims)
	if err != nil {
		return f, err
	}
	for _, pr := range prs.Items {
		if err := c.deletePipelineRun(ctx, pr.Name); err != nil {
			return f, err
		}
	}
	for _, p := range pods.Items {
		if err := c.kube.CoreV1().Pods(c.ns).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return f, fmt.Errorf("delete pod %s: %w", p.Name, err)
		}
	}
	for _, name := range claims {
		if err := c.kube.CoreV1().PersistentVolumeClaims(c.ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return f, fmt.Errorf("delete volume claim %s: %w", name, err)
		}
	}
	// Daemons' Services go with their pods.
	svcs, err := c.kube.CoreV1().Services(c.ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return f, fmt.Errorf("list services: %w", err)
	}
	for _, svc := range svcs.Items {
		if err := c.kube.CoreV1().Services(c.ns).Delete(ctx, svc.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return f, fmt.Errorf("delete service %s: %w", svc.Name, err)
		}
	}
	// Shared volumes are the harness's own, labelled like the rest.
	pvs, err := c.kube.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return f, fmt.Errorf("list volumes: %w", err)
	}
	f.Volumes = len(pvs.Items)
	for _, pv := range pvs.Items {
		if err := c.kube.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return f, fmt.Errorf("delete volume %s: %w", pv.Name, err)
		}
	}
	if err := c.waitGone(ctx, selector, claims, volumes); err != nil {
		return f, err
	}
	for _, pv := range pvs.Items {
		if err := c.removeSharedFolder(ctx, pv.Name); err != nil {
			return f, err
		}
	}
	return f, nil
}

// removeSharedVolume deletes a shared volume, once its claim is gone,
// waits until it is gone, and removes its folder.
func (c *cleaner) removeSharedVolume(ctx context.Context, name string) error {
	if err := c.kube.CoreV1().PersistentVolumes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete volume %s: %w", name, err)
	}
	err := c.waitFor(ctx, "volume "+name+" to be gone", func(ctx context.Context) (bool, error) {
		_, err := c.kube.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		return err
	}
	return c.removeSharedFolder(ctx, name)
}

func (c *cleaner) removeSharedFolder(ctx context.Context, volume string) error {
	if c.removeFolder == nil {
		return nil
	}
	if err := c.removeFolder(ctx, volume); err != nil {
		return fmt.Errorf("remove the folder of volume %s: %w", volume, err)
	}
	return nil
}

// removePipelineRun deletes one PipelineRun with its TaskRuns, pods and
// workspace volumes, and waits until all of it is gone.
func (c *cleaner) removePipelineRun(ctx context.Context, name string) error {
	pr, err := c.tekton.TektonV1().PipelineRuns(c.ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get PipelineRun %s: %w", name, err)
	}
	claims, err := c.ownedClaims(ctx, pr.UID)
	if err != nil {
		return err
	}
	volumes, err := c.volumesOf(ctx, claims)
	if err != nil {
		return err
	}
	if err := c.deletePipelineRun(ctx, name); err != nil {
		return err
	}
	// Tekton labels the TaskRuns and pods of a PipelineRun with its name.
	selector := "tekton.dev/pipelineRun=" + name
	return c.waitFor(ctx, "PipelineRun "+name+" and its pods and volumes to be gone", func(ctx context.Context) (bool, error) {
		if _, err := c.tekton.TektonV1().PipelineRuns(c.ns).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return false, err
		}
		if left, err := c.leftovers(ctx, selector); err != nil || len(left) > 0 {
			return false, err
		}
		return c.claimsAndVolumesGone(ctx, claims, volumes)
	})
}

// deletePipelineRun deletes a PipelineRun in the foreground: it goes only
// after its TaskRuns and pods.
func (c *cleaner) deletePipelineRun(ctx context.Context, name string) error {
	fg := metav1.DeletePropagationForeground
	if err := c.tekton.TektonV1().PipelineRuns(c.ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete PipelineRun %s: %w", name, err)
	}
	return nil
}

// removeClaim deletes a volume claim and waits until it and its volume are gone.
func (c *cleaner) removeClaim(ctx context.Context, name string) error {
	volumes, err := c.volumesOf(ctx, []string{name})
	if err != nil {
		return err
	}
	if err := c.kube.CoreV1().PersistentVolumeClaims(c.ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete volume claim %s: %w", name, err)
	}
	return c.waitFor(ctx, "volume claim "+name+" to be gone", func(ctx context.Context) (bool, error) {
		return c.claimsAndVolumesGone(ctx, []string{name}, volumes)
	})
}

// removePod deletes a pod and waits until it is gone.
func (c *cleaner) removePod(ctx context.Context, name string) error {
	if err := c.kube.CoreV1().Pods(c.ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete pod %s: %w", name, err)
	}
	return c.waitFor(ctx, "pod "+name+" to be gone", func(ctx context.Context) (bool, error) {
		_, err := c.kube.CoreV1().Pods(c.ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

// leftovers names every object selector still matches: PipelineRuns,
// TaskRuns, pods, (daemons') services, volume claims and (shared) volumes.
func (c *cleaner) leftovers(ctx context.Context, selector string) ([]string, error) {
	var out []string
	opts := metav1.ListOptions{LabelSelector: selector}
	prs, err := c.tekton.TektonV1().PipelineRuns(c.ns).List(ctx, opts)
	if err != nil {
		return nil, err
	}
	for _, o := range prs.Items {
		out = append(out, "PipelineRun/"+o.Name)
	}
	trs, err := c.tekton.TektonV1().TaskRuns(c.ns).List(ctx, opts)
	if err != nil {
		return nil, err
	}
	for _, o := range trs.Items {
		out = append(out, "TaskRun/"+o.Name)
	}
	pods, err := c.kube.CoreV1().Pods(c.ns).List(ctx, opts)
	if err != nil {
		return nil, err
	}
	for _, o := range pods.Items {
		out = append(out, "Pod/"+o.Name)
	}
	svcs, err := c.kube.CoreV1().Services(c.ns).List(ctx, opts)
	if err != nil {
		return nil, err
	}
	for _, o := range svcs.Items {
		out = append(out, "Service/"+o.Name)
	}
	pvcs, err := c.kube.CoreV1().PersistentVolumeClaims(c.ns).List(ctx, opts)
	if err != nil {
		return nil, err
	}
	for _, o := range pvcs.Items {
		out = append(out, "PersistentVolumeClaim/"+o.Name)
	}
	pvs, err := c.kube.CoreV1().PersistentVolumes().List(ctx, opts)
	if err != nil {
		return nil, err
	}
	for _, o := range pvs.Items {
		out = append(out, "PersistentVolume/"+o.Name)
	}
	return out, nil
}

// ownedClaims are the volume claims a PipelineRun made from its
// volumeClaimTemplate (Tekton names them itself and owns them by the run).
func (c *cleaner) ownedClaims(ctx context.Context, owner types.UID) ([]string, error) {
	pvcs, err := c.kube.CoreV1().PersistentVolumeClaims(c.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list volume claims: %w", err)
	}
	var out []string
	for _, pvc := range pvcs.Items {
		if slices.ContainsFunc(pvc.OwnerReferences, func(o metav1.OwnerReference) bool { return o.UID == owner }) {
			out = append(out, pvc.Name)
		}
	}
	return out, nil
}

// volumesOf are the PersistentVolumes bound to the claims.
func (c *cleaner) volumesOf(ctx context.Context, claims []string) ([]string, error) {
	if len(claims) == 0 {
		return nil, nil
	}
	pvs, err := c.kube.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	var out []string
	for _, pv := range pvs.Items {
		if ref := pv.Spec.ClaimRef; ref != nil && ref.Namespace == c.ns && slices.Contains(claims, ref.Name) {
			out = append(out, pv.Name)
		}
	}
	return out, nil
}

func (c *cleaner) claimsAndVolumesGone(ctx context.Context, claims, volumes []string) (bool, error) {
	for _, name := range claims {
		if _, err := c.kube.CoreV1().PersistentVolumeClaims(c.ns).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return false, err
		}
	}
	for _, name := range volumes {
		pv, err := c.kube.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return false, err
		}
		switch {
		case pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete && pv.Status.Phase == corev1.VolumeReleased:
			// A volume whose reclaim policy keeps it is released, not deleted.
			continue
		case pv.Status.Phase == corev1.VolumeFailed:
			// Its provisioner could not delete it: waiting will not help.
			c.log.Warnf("volume %s could not be deleted: %s", pv.Name, pv.Status.Message)
			continue
		}
		return false, nil
	}
	return true, nil
}

func (c *cleaner) waitGone(ctx context.Context, selector string, claims, volumes []string) error {
	return c.waitFor(ctx, "objects labelled "+selector+" to be gone", func(ctx context.Context) (bool, error) {
		left, err := c.leftovers(ctx, selector)
		if err != nil || len(left) > 0 {
			return false, err
		}
		return c.claimsAndVolumesGone(ctx, claims, volumes)
	})
}

// waitFor polls cond until it holds; an API error ends the wait at once
// and is returned, rather than being retried silently until the deadline.
func (c *cleaner) waitFor(ctx context.Context, what string, cond wait.ConditionWithContextFunc) error {
	start := time.Now()
	if err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, RemoveTimeout, true, cond); err != nil {
		return fmt.Errorf("wait for %s: %w", what, err)
	}
	// A slow removal delays the next run's start: it is said, not silent.
	if took := time.Since(start); took > slowRemoval {
		c.log.Infof("waited %s for %s", took.Round(100*time.Millisecond), what)
	}
	return nil
}

// slowRemoval is how long a removal takes before it is worth a line.
const slowRemoval = 10 * time.Second

// cancel stops a running PipelineRun, so that it does not go on building.
func (c *cleaner) cancel(ctx context.Context, name string) {
	patch := []byte(`{"spec":{"status":"` + string(pipelinev1.PipelineRunSpecStatusCancelled) + `"}}`)
	if _, err := c.tekton.TektonV1().PipelineRuns(c.ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
		c.log.Warnf("cancel PipelineRun %s: %v", name, err)
		return
	}
	c.log.Infof("cancelled PipelineRun %s", name)
}

// quiet removes what earlier benchmarks left in the namespace (a killed
// benchmark's PipelineRun may still be building) before the first measured
// run, and says what it found, for the report.
func (c *cleaner) quiet(ctx context.Context) (string, error) {
	start := time.Now()
	// Everything a benchmark creates carries its run id; the registry and
	// the git server do not.
	f, err := c.removeAll(ctx, LabelRunID)
	if err != nil {
		return "", fmt.Errorf("quiet the cluster: %w", err)
	}
	if f.empty() {
		return "Before the first run the namespace was quiet: nothing left by earlier benchmarks.", nil
	}
	note := fmt.Sprintf("Before the first run, left by earlier benchmarks and removed (awaited, %.1f s): %s.", time.Since(start).Seconds(), f)
	c.log.Infof("%s", strings.TrimSuffix(note, "."))
	return note, nil
}
