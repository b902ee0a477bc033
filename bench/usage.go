package bench

import (
	"context"
	"errors"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/watch"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/cachebench/cachebench/cluster/kind"
)

// UsageEvery is how often a run's pods' counters are read: a pod's cgroup
// goes when it ends, so what it used in its last interval is not counted.
var UsageEvery = 200 * time.Millisecond

// usageSampler reads the kernel's counters of a run's pods while it goes
// on, each pod's last reading kept.
type usageSampler struct {
	mu   sync.Mutex
	pods map[string]*sampledPod // by pod name
	last map[string]kind.PodUsage
}

type sampledPod struct{ uid, node string }

// sampleUsage starts reading the counters of PipelineRun prName's pods;
// stop ends it and returns each pod's last reading, by pod name. Without
// a way to read them (a cluster cachebench did not create) it reads none.
func (r *Runner) sampleUsage(ctx context.Context, prName string) (stop func() map[string]kind.PodUsage) {
	if r.accounting == nil {
		return func() map[string]kind.PodUsage { return nil }
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &usageSampler{pods: map[string]*sampledPod{}, last: map[string]kind.PodUsage{}}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		pods := r.env.Clients.Kube.CoreV1().Pods(r.env.Namespace)
		lw := labelSelectorLW("tekton.dev/pipelineRun="+prName, pods.List, pods.Watch)
		_, _ = watchtools.UntilWithSync(ctx, lw, &corev1.Pod{}, nil, func(ev watch.Event) (bool, error) {
			if p, ok := ev.Object.(*corev1.Pod); ok && p.Spec.NodeName != "" {
				s.mu.Lock()
				s.pods[p.Name] = &sampledPod{uid: string(p.UID), node: p.Spec.NodeName}
				s.mu.Unlock()
			}
			return false, nil
		})
	}()
	go func() {
		defer wg.Done()
		t := time.NewTicker(UsageEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			s.read(ctx, r.accounting, r)
		}
	}()
	return func() map[string]kind.PodUsage {
		cancel()
		wg.Wait()
		return s.last
	}
}

// read takes a reading of every pod whose cgroup is still there.
func (s *usageSampler) read(ctx context.Context, a *kind.Accounting, r *Runner) {
	s.mu.Lock()
	pods := make(map[string]sampledPod, len(s.pods))
	for name, p := range s.pods {
		pods[name] = *p
	}
	s.mu.Unlock()
	for name, p := range pods {
		u, err := a.PodUsage(ctx, p.node, p.uid)
		if err != nil {
			if !errors.Is(err, kind.ErrNoCgroup) && ctx.Err() == nil {
				r.log.Debugf("counters of pod %s: %v", name, err)
			}
			continue
		}
		s.mu.Lock()
		s.last[name] = u
		s.mu.Unlock()
	}
}
