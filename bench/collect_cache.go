package bench

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/results"
)

// cacheCollector measures the round's cache after a run: the layer cache
// repository's size, what the cache volume holds, and what the daemon's
// state takes.
type cacheCollector struct{ r *Runner }

// Collect implements Collector.
func (c cacheCollector) Collect(ctx context.Context, f Finished, run *results.Run) {
	r, rd := c.r, f.round
	if rd.cacheRepo != "" {
		if n, err := c.repoSize(ctx, strings.TrimPrefix(rd.cacheRepo, r.env.Registry.Host+"/")); err != nil {
			r.log.Warnf("%s: %v", f.Planned.Name(), err)
		} else {
			run.CacheBytes = n
		}
	}
	if rd.claim != "" && r.env.Kind != nil {
		if n, err := c.volumeSize(ctx, rd.claim, *run); err != nil {
			r.log.Warnf("%s: %v", f.Planned.Name(), err)
		} else {
			run.VolumeBytes = n
		}
	}
	_, daemon := rd.daemons.of(f.Planned)
	if n, read, err := (daemonPreparation{r}).stateSize(ctx, daemon); err != nil {
		r.log.Warnf("%s: %v", f.Planned.Name(), err)
	} else if read {
		run.DaemonStateBytes = n
	}
}

func (c cacheCollector) repoSize(ctx context.Context, repo string) (int64, error) {
	sess, err := c.r.env.Registry.Connect(ctx)
	if err != nil {
		return 0, err
	}
	defer sess.Close()
	return sess.RepoSize(ctx, repo)
}

// volumeSize is what the claim's volume holds, read on the node the build
// ran on (its folder is on one node).
func (c cacheCollector) volumeSize(ctx context.Context, claim string, run results.Run) (int64, error) {
	kc := c.r.env.Clients.Kube.CoreV1()
	pvc, err := kc.PersistentVolumeClaims(c.r.env.Namespace).Get(ctx, claim, metav1.GetOptions{})
	if err != nil {
		return 0, fmt.Errorf("size of volume claim %s: %w", claim, err)
	}
	pv, err := kc.PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return 0, fmt.Errorf("size of volume %s: %w", pvc.Spec.VolumeName, err)
	}
	var dir string
	switch {
	case pv.Spec.HostPath != nil:
		dir = pv.Spec.HostPath.Path
	case pv.Spec.Local != nil:
		dir = pv.Spec.Local.Path
	default:
		return 0, fmt.Errorf("size of volume %s: not a folder on a node", pv.Name)
	}
	if t, _ := run.Task(builders.BuildTask); t.Node != "" {
		return c.r.env.Kind.DiskUsage(ctx, t.Node, dir)
	}
	return 0, fmt.Errorf("size of volume %s: the build's node is unknown", pv.Name)
}
