package bench

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"regexp"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/cluster/kind"
	"github.com/cachebench/cachebench/measure"
	"github.com/cachebench/cachebench/results"
)

// daemonPreparation gives a round of the daemon strategy daemons of its
// own (--daemons, one by default): each the builder's daemon pod, on the
// round's node, with an empty state (an emptyDir, new with the pod: that
// is what cold means), and a Service in front of it that the round's
// builds reach it by. It deletes them when the round ends.
type daemonPreparation struct{ r *Runner }

// labelDaemon marks a daemon pod, for its Service to select.
const labelDaemon = "cachebench/daemon"

// daemonPool is a round's daemons, how builds are placed on them, and
// which of them a build of the round has gone to. The members of a warm
// run at a level above 1 share it.
type daemonPool struct {
	daemons   []*daemonInstance
	placement string
	mu        sync.Mutex
	used      map[int]bool
}

// daemonInstance is one daemon of a round: its address, and the pod and
// Service behind it.
type daemonInstance struct {
	addr, pod, service string
	node, uid          string
}

// of is the daemon a planned run's build goes to, and its index (nil
// without daemons).
func (p *daemonPool) of(s PlannedRun) (int, *daemonInstance) {
	if p == nil || len(p.daemons) == 0 {
		return 0, nil
	}
	i := daemonIndex(s, len(p.daemons), p.placement)
	return i, p.daemons[i]
}

// use marks daemon i as having had a build of the round.
func (p *daemonPool) use(i int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.used[i] = true
}

// fresh says whether no build of the round has gone to daemon i yet.
func (p *daemonPool) fresh(i int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.used[i]
}

// daemonIndex is which of a round's n daemons a build goes to. Sticky:
// the workload's own, whatever the build. Spread: the next in turn, build
// after build of the round, its cold build to the first.
func daemonIndex(s PlannedRun, n int, placement string) int {
	if n < 2 {
		return 0
	}
	if placement == PlacementSpread {
		build := 0 // the round's cold build
		if s.Cache == results.Warm {
			build = 1 + (s.Attempt-1)*s.level() + max(s.Member, 1) - 1
		}
		return build % n
	}
	h := fnv.New32a()
	h.Write([]byte(s.Workload.Name))
	return int(h.Sum32() % uint32(n))
}

// Start implements Preparation.
func (p daemonPreparation) Start(ctx context.Context, s PlannedRun, rd *round) error {
	r := p.r
	d, ok := s.Builder.(builders.Daemon)
	if !ok {
		return fmt.Errorf("%s: builder %s has no daemon", s.Name(), s.Builder.Name())
	}
	start := time.Now()
	n := max(r.cfg.Daemons, 1)
	// From here on the round owns the pool: End deletes what it holds on
	// every path.
	rd.daemons = &daemonPool{placement: r.cfg.Placement, used: map[int]bool{}}
	for i := range n {
		inst, err := p.create(ctx, s, rd, d, i, n)
		if inst != nil {
			rd.daemons.daemons = append(rd.daemons.daemons, inst)
		}
		if err != nil {
			return err
		}
	}
	wctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	for _, inst := range rd.daemons.daemons {
		stop := watchStalls(wctx, r.env.Clients.Kube, r.env.Namespace, s.Name()+": daemon", metav1.ListOptions{FieldSelector: "metadata.name=" + inst.pod}, r.log)
		ready, err := waitPodReady(wctx, r, inst.pod)
		stop()
		if err != nil {
			return fmt.Errorf("%s: daemon pod %s: %w", s.Name(), inst.pod, err)
		}
		inst.node, inst.uid = ready.Spec.NodeName, string(ready.UID)
		inst.addr = fmt.Sprintf("tcp://%s.%s.svc.cluster.local:%d", inst.service, r.env.Namespace, d.DaemonPort())
	}
	rd.prepareSec = time.Since(start).Seconds()
	names := make([]string, 0, n)
	for _, inst := range rd.daemons.daemons {
		names = append(names, inst.pod)
	}
	what := "daemon"
	if n > 1 {
		what = "daemons"
	}
	r.log.Infof("%s: %s %s ready in %.1fs", s.Name(), what, strings.Join(names, ", "), rd.prepareSec)
	return nil
}

// create makes daemon i of a round of n: its pod, then its Service. The
// instance it returns holds what was made, also on error.
func (p daemonPreparation) create(ctx context.Context, s PlannedRun, rd *round, d builders.Daemon, i, n int) (*daemonInstance, error) {
	r := p.r
	ns, kc := r.env.Namespace, r.env.Clients.Kube
	labels := r.labels(s)
	spec := d.DaemonPod([]string{r.env.Registry.Host, r.env.Upstream.Host}, r.cfg.GCLimit)
	if rd.node != "" {
		spec.NodeSelector = map[string]string{corev1.LabelHostname: rd.node}
	}
	// A name of our own, made here, so that its Service can select it.
	prefix := "daemon-" + r.names.roundKey(s).Slug()
	if n > 1 {
		prefix = fmt.Sprintf("daemon%d-%s", i+1, r.names.roundKey(s).Slug())
	}
	name := ownName(prefix)
	podLabels := maps.Clone(labels)
	podLabels[labelDaemon] = name
	pod, err := kc.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: podLabels},
		Spec:       *spec,
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: create daemon pod: %w", s.Name(), err)
	}
	inst := &daemonInstance{pod: pod.Name}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: ns, Labels: labels},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{labelDaemon: pod.Name},
			Ports:    []corev1.ServicePort{{Port: d.DaemonPort(), TargetPort: intstr.FromInt32(d.DaemonPort())}},
		},
	}
	if _, err := kc.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return inst, fmt.Errorf("%s: create daemon service: %w", s.Name(), err)
	}
	inst.service = svc.Name
	return inst, nil
}

// End implements Preparation: it deletes the Services and the pods, awaited.
func (p daemonPreparation) End(ctx context.Context, rd *round) {
	r := p.r
	if rd.daemons == nil {
		return
	}
	ctx = cleanupContext(ctx)
	for _, inst := range rd.daemons.daemons {
		if inst.service != "" {
			err := r.env.Clients.Kube.CoreV1().Services(r.env.Namespace).Delete(ctx, inst.service, metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				r.log.Warnf("delete daemon service %s: %v", inst.service, err)
			}
		}
		if err := r.clean.removePod(ctx, inst.pod); err != nil {
			r.log.Warnf("%v", err)
		}
	}
}

// waitPodReady watches a pod until it is ready. A pod that ends first
// failed to start: its error says so with its log's last lines.
func waitPodReady(ctx context.Context, r *Runner, name string) (*corev1.Pod, error) {
	pod, err := watchPod(ctx, r.env.Clients.Kube, r.env.Namespace, name, "was ready", func(p *corev1.Pod) (bool, error) {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			return false, errEnded
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if errors.Is(err, errEnded) {
		logs, _ := r.podLog(ctx, name, "", false)
		return nil, fmt.Errorf("ended before it was ready:\n%s", measure.Tail(logs, 20))
	}
	return pod, err
}

// daemonUsage is what a daemon has used so far (CPU time, peak memory),
// where the harness can read it (a kind cluster it created).
func (p daemonPreparation) daemonUsage(ctx context.Context, d *daemonInstance) (kind.PodUsage, bool) {
	if d == nil || d.uid == "" || p.r.accounting == nil {
		return kind.PodUsage{}, false
	}
	u, err := p.r.accounting.PodUsage(ctx, d.node, d.uid)
	return u, err == nil
}

// stateSize is what a daemon's state takes on disk, where the harness can
// read it (a kind cluster it created).
func (p daemonPreparation) stateSize(ctx context.Context, d *daemonInstance) (int64, bool, error) {
	if d == nil || d.uid == "" || p.r.env.Kind == nil {
		return 0, false, nil
	}
	n, err := p.r.env.Kind.DiskUsage(ctx, d.node, kind.EmptyDirPath(d.uid, builders.DaemonStateVolume))
	if err != nil {
		if _, dead := p.died(ctx, d); dead {
			return 0, false, nil // its state went with it; the run says why
		}
		return 0, true, fmt.Errorf("size of daemon %s's state: %w", d.pod, err)
	}
	return n, true, nil
}

var errEnded = errors.New("ended")

// died reports whether a daemon has stopped, with its log's last lines:
// a build that failed then failed for it.
func (p daemonPreparation) died(ctx context.Context, d *daemonInstance) (string, bool) {
	r := p.r
	pod, err := r.env.Clients.Kube.CoreV1().Pods(r.env.Namespace).Get(ctx, d.pod, metav1.GetOptions{})
	if err != nil {
		return fmt.Sprintf("(daemon pod %s: %v)", d.pod, err), apierrors.IsNotFound(err)
	}
	if pod.Status.Phase == corev1.PodRunning {
		return "", false
	}
	logs, err := r.podLog(ctx, d.pod, "", false)
	if err != nil {
		return fmt.Sprintf("(daemon pod %s is %s; its log: %v)", d.pod, pod.Status.Phase, err), true
	}
	return measure.Tail(logs, 10), true
}

// lastMessage is a log's last line that says something: its last error,
// where it logged one at that level; else its last line that is neither a
// frame of a Go stack trace (a function's name, or its file indented below
// it) nor gRPC's talk of its connections (module=grpc), which daemons
// print as they go and as they stop.
func lastMessage(log string) string {
	lines := strings.Split(strings.TrimSpace(log), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if logLevelError.MatchString(lines[i]) {
			return lines[i]
		}
	}
	for i := len(lines) - 1; i >= 0; i-- {
		l := lines[i]
		if strings.TrimSpace(l) != "" && !strings.HasPrefix(l, "\t") && strings.Contains(l, " ") && !strings.Contains(l, "module=grpc") {
			return l
		}
	}
	return lines[len(lines)-1]
}

// logLevelError finds a line logged at error level or above by logrus
// (dockerd's and buildkitd's logger).
var logLevelError = regexp.MustCompile(`\blevel=(error|fatal|panic)\b`)
