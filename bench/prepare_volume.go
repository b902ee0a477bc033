package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/cachebench/cachebench/cluster/kind"
	"github.com/cachebench/cachebench/measure"
)

// volumePreparation gives a round with a cache volume a new one, warmed
// by the builder's warm-up pod with the workload's base images, and
// deletes it when the round ends. With a volume per node (Matrix.
// VolumeNodes) the round has one on every build node, each warmed alike;
// with a shared volume (Matrix.VolumeShared), one that every build node
// mounts, warmed on another node than the round's, so that the round's
// cold run finds the base images only if the nodes really share it.
type volumePreparation struct{ r *Runner }

// nodeVolumes are a round's cache volumes, one per build node, which the
// round and its builds' rounds (addMembers) share: each node's claim, and
// the nodes whose volume a build of the round has used.
type nodeVolumes struct {
	mu     sync.Mutex
	claims map[string]string
	usedOn map[string]bool
}

func (v *nodeVolumes) use(node string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.usedOn[node] = true
}

func (v *nodeVolumes) used(node string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.usedOn[node]
}

// Start implements Preparation.
func (p volumePreparation) Start(ctx context.Context, s PlannedRun, rd *round) error {
	shared := p.r.matrix.VolumeShared && p.r.env.Kind != nil && len(p.r.env.BuildNodes) > 1
	if shared {
		if err := p.r.env.Kind.CheckShared(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.Name(), err)
		}
	}
	start := time.Now()
	nodes := []string{rd.node}
	switch {
	case shared:
		build := p.r.env.BuildNodes
		nodes = []string{build[(rd.nodeIndex+1)%len(build)]}
	case p.r.matrix.VolumeNodes > 0 && len(p.r.env.BuildNodes) > 0:
		nodes = p.r.env.BuildNodes
		rd.volumes = &nodeVolumes{claims: map[string]string{}, usedOn: map[string]bool{}}
	}
	for _, node := range nodes {
		if err := p.warmVolume(ctx, s, rd, node, shared); err != nil {
			return fmt.Errorf("%s: warm cache volume: %w", s.Name(), err)
		}
	}
	rd.prepareSec = time.Since(start).Seconds()
	switch {
	case rd.volumes != nil:
		rd.claim = rd.volumes.claims[rd.node]
		p.r.log.Infof("%s: %d cache volumes, one per node, warmed in %.1fs", s.Name(), len(nodes), rd.prepareSec)
		return nil
	case shared:
		p.r.log.Infof("%s: cache volume %s, shared by the nodes, warmed on %s in %.1fs", s.Name(), rd.claim, nodes[0], rd.prepareSec)
		return nil
	}
	p.r.log.Infof("%s: cache volume %s warmed in %.1fs", s.Name(), rd.claim, rd.prepareSec)
	return nil
}

// End implements Preparation: it deletes the volumes, awaited.
func (p volumePreparation) End(ctx context.Context, rd *round) {
	claims := []string{rd.claim}
	if rd.volumes != nil {
		claims = slices.Collect(maps.Values(rd.volumes.claims))
	}
	for _, claim := range claims {
		if claim == "" {
			continue
		}
		if err := p.r.clean.removeClaim(cleanupContext(ctx), claim); err != nil {
			p.r.log.Warnf("%v", err)
		}
	}
	if rd.sharedVolume != "" {
		if err := p.r.clean.removeSharedVolume(cleanupContext(ctx), rd.sharedVolume); err != nil {
			p.r.log.Warnf("%v", err)
		}
	}
}

// warmVolume creates a cache volume of the round and fills it with the
// builder's warm-up pod on node ("" where the scheduler chooses); shared,
// on a volume of its own that every build node mounts. The claim's name
// is generated, so a retried round never collides with an
// earlier claim, however long the run id.
func (p volumePreparation) warmVolume(ctx context.Context, s PlannedRun, rd *round, node string, shared bool) error {
	r := p.r
	ns := r.env.Namespace
	kc := r.env.Clients.Kube
	labels := r.labels(s)
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{GenerateName: namePrefix("cache-" + r.names.roundKey(s).Slug()), Namespace: ns, Labels: labels},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: CacheVolumeSize}},
		},
	}
	if shared {
		pv, err := kc.CoreV1().PersistentVolumes().Create(ctx, sharedVolume(ownName(pvc.GenerateName), labels), metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create shared volume: %w", err)
		}
		rd.sharedVolume = pv.Name
		pvc.Spec.AccessModes = pv.Spec.AccessModes
		pvc.Spec.VolumeName = pv.Name
		pvc.Spec.StorageClassName = new(string) // the volume above, not a provisioner's
	}
	created, err := kc.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create volume claim: %w", err)
	}
	// From here on the round owns the claim: endRound deletes it on every path.
	claim := created.Name
	if rd.volumes != nil {
		rd.volumes.claims[node] = claim
	} else {
		rd.claim = claim
	}
	bctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	err = waitClaimBound(bctx, kc, created, r.log)
	cancel()
	if err != nil {
		return err
	}
	spec, err := s.Builder.WarmerPod(r.request(s, rd, ""), claim)
	if err != nil {
		return fmt.Errorf("warm-up pod: %w", err)
	}
	if spec == nil {
		return fmt.Errorf("warm-up pod: builder %s has none", s.Builder.Name())
	}
	if node != "" {
		// The volume is a folder on the node that first mounts it.
		spec.NodeSelector = map[string]string{corev1.LabelHostname: node}
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: namePrefix("warm-" + r.names.roundKey(s).Slug()), Namespace: ns, Labels: labels}, Spec: *spec}
	warm, err := kc.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create warm-up pod: %w", err)
	}
	// The warm-up pod's teardown must not land inside the cold run's clock.
	defer func() {
		if err := r.clean.removePod(cleanupContext(ctx), warm.Name); err != nil {
			r.log.Warnf("%v", err)
		}
	}()
	wctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	defer watchStalls(wctx, kc, ns, s.Name()+": warm-up", metav1.ListOptions{FieldSelector: "metadata.name=" + warm.Name}, r.log)()
	done, err := waitPodDone(wctx, kc, ns, warm.Name)
	if err != nil {
		return fmt.Errorf("warm-up pod %s: %w", warm.Name, err)
	}
	if done.Status.Phase != corev1.PodSucceeded {
		logs, _ := r.podLog(ctx, warm.Name, "warmer", false)
		return fmt.Errorf("warm-up pod %s failed:\n%s", warm.Name, measure.Tail(logs, 20))
	}
	return nil
}

// sharedVolume is a volume every build node mounts: a folder under the
// kind nodes' shared folder, which its pods create. The harness deletes it
// and its folder (cleaner.removeSharedVolume): no provisioner made it.
// Its folder is named after it: name is made here (ownName), not by the
// API server, so that both are known before it exists.
func sharedVolume(name string, labels map[string]string) *corev1.PersistentVolume {
	dirOrCreate := corev1.HostPathDirectoryOrCreate
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.PersistentVolumeSpec{
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: CacheVolumeSize},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path.Join(kind.SharedPath, name), Type: &dirOrCreate}},
		},
	}
}

// waitPodDone watches a pod until it succeeds or fails. API errors end the
// wait and are returned.
func waitPodDone(ctx context.Context, kc kubernetes.Interface, ns, name string) (*corev1.Pod, error) {
	return watchPod(ctx, kc, ns, name, "finished", func(p *corev1.Pod) (bool, error) {
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed, nil
	})
}

// watchPod watches a pod until done says so, or fails; its deletion ends
// the wait with "deleted before it <what>".
func watchPod(ctx context.Context, kc kubernetes.Interface, ns, name, what string, done func(*corev1.Pod) (bool, error)) (*corev1.Pod, error) {
	pods := kc.CoreV1().Pods(ns)
	ev, err := watchtools.UntilWithSync(ctx, fieldSelectorLW(name, pods.List, pods.Watch), &corev1.Pod{}, nil, func(ev watch.Event) (bool, error) {
		if ev.Type == watch.Deleted {
			return false, errors.New("deleted before it " + what)
		}
		p, ok := ev.Object.(*corev1.Pod)
		if !ok {
			return false, nil
		}
		return done(p)
	})
	if err != nil {
		return nil, err
	}
	return ev.Object.(*corev1.Pod), nil
}
