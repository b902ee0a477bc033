package bench

import (
	"context"
	"errors"
	"maps"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/cachebench/cachebench/cluster/kind"
)

// UsageEvery is how often a run's pods' counters are read: a pod's cgroup
// goes when it ends, so what it used in its last interval is not counted.
var UsageEvery = 200 * time.Millisecond

// PodsSeen is what the harness saw of a run's pods while it went on, by
// pod name: when the watch first saw each placed on a node, and what the
// kernel accounted to each (its last reading).
type PodsSeen struct {
	Scheduled map[string]time.Time
	Usage     map[string]kind.PodUsage
}

// podWatcher follows a run's pods while it goes on.
type podWatcher struct {
	mu   sync.Mutex
	pods map[string]sampledPod // by pod name
	seen PodsSeen
}

type sampledPod struct{ uid, node string }

// watchPods follows PipelineRun prName's pods: when each is placed on a
// node (the scheduler's own event says so only to the second) and, where
// the harness can read them (a kind cluster it created), their counters.
// stop ends it and returns what it saw.
func (r *Runner) watchPods(ctx context.Context, prName string) (stop func() PodsSeen) {
	ctx, cancel := context.WithCancel(ctx)
	s := &podWatcher{pods: map[string]sampledPod{}, seen: PodsSeen{Scheduled: map[string]time.Time{}, Usage: map[string]kind.PodUsage{}}}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		pods := r.env.Clients.Kube.CoreV1().Pods(r.env.Namespace)
		lw := labelSelectorLW("tekton.dev/pipelineRun="+prName, pods.List, pods.Watch)
		_, _ = watchtools.UntilWithSync(ctx, lw, &corev1.Pod{}, nil, func(ev watch.Event) (bool, error) {
			if p, ok := ev.Object.(*corev1.Pod); ok && p.Spec.NodeName != "" {
				at := time.Now()
				s.mu.Lock()
				if _, known := s.pods[p.Name]; !known {
					s.pods[p.Name] = sampledPod{uid: string(p.UID), node: p.Spec.NodeName}
					s.seen.Scheduled[p.Name] = at
				}
				s.mu.Unlock()
			}
			return false, nil
		})
	}()
	if r.accounting != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait.UntilWithContext(ctx, func(ctx context.Context) { s.read(ctx, r) }, UsageEvery)
		}()
	}
	return func() PodsSeen {
		cancel()
		wg.Wait()
		return s.seen
	}
}

// read takes a reading of every pod whose cgroup is still there.
func (s *podWatcher) read(ctx context.Context, r *Runner) {
	s.mu.Lock()
	pods := maps.Clone(s.pods)
	s.mu.Unlock()
	for name, p := range pods {
		u, err := r.accounting.PodUsage(ctx, p.node, p.uid)
		if err != nil {
			if !errors.Is(err, kind.ErrNoCgroup) && ctx.Err() == nil {
				r.log.Debugf("counters of pod %s: %v", name, err)
			}
			continue
		}
		s.mu.Lock()
		s.seen.Usage[name] = u
		s.mu.Unlock()
	}
}
