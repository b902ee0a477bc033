package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/cluster/kind"
	"github.com/cachebench/cachebench/measure"
)

// daemonPreparation gives a round of the daemon strategy a daemon of its
// own: the builder's daemon pod, on the round's node, with an empty state
// (an emptyDir, new with the pod: that is what cold means), and a Service
// in front of it that the round's builds reach it by. It deletes both
// when the round ends.
type daemonPreparation struct{ r *Runner }

// labelDaemon marks a daemon pod, for its Service to select.
const labelDaemon = "cachebench/daemon"

// Start implements Preparation.
func (p daemonPreparation) Start(ctx context.Context, s PlannedRun, rd *round) error {
	r := p.r
	d, ok := s.Builder.(builders.Daemon)
	if !ok {
		return fmt.Errorf("%s: builder %s has no daemon", s.Name(), s.Builder.Name())
	}
	start := time.Now()
	ns, kc := r.env.Namespace, r.env.Clients.Kube
	labels := r.labels(s)
	spec := d.DaemonPod([]string{r.env.Registry.Host, r.env.Upstream.Host}, r.cfg.GCLimit)
	if rd.node != "" {
		spec.NodeSelector = map[string]string{corev1.LabelHostname: rd.node}
	}
	// A name of our own, made here, so that its Service can select it.
	name := ownName("daemon-" + r.names.roundKey(s).Slug())
	podLabels := maps.Clone(labels)
	podLabels[labelDaemon] = name
	pod, err := kc.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: podLabels},
		Spec:       *spec,
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("%s: create daemon pod: %w", s.Name(), err)
	}
	// From here on the round owns the pod: End deletes it on every path.
	rd.daemonPod = pod.Name
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: ns, Labels: labels},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{labelDaemon: pod.Name},
			Ports:    []corev1.ServicePort{{Port: d.DaemonPort(), TargetPort: intstr.FromInt32(d.DaemonPort())}},
		},
	}
	if _, err := kc.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("%s: create daemon service: %w", s.Name(), err)
	}
	rd.daemonService = svc.Name
	wctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	defer watchStalls(wctx, kc, ns, s.Name()+": daemon", metav1.ListOptions{FieldSelector: "metadata.name=" + pod.Name}, r.log)()
	ready, err := waitPodReady(wctx, r, pod.Name)
	if err != nil {
		return fmt.Errorf("%s: daemon pod %s: %w", s.Name(), pod.Name, err)
	}
	rd.daemonNode, rd.daemonUID = ready.Spec.NodeName, string(ready.UID)
	rd.daemon = fmt.Sprintf("tcp://%s.%s.svc.cluster.local:%d", svc.Name, ns, d.DaemonPort())
	rd.prepareSec = time.Since(start).Seconds()
	r.log.Infof("%s: daemon %s ready in %.1fs", s.Name(), pod.Name, rd.prepareSec)
	return nil
}

// End implements Preparation: it deletes the Service and the pod, awaited.
func (p daemonPreparation) End(ctx context.Context, rd *round) {
	r := p.r
	ctx = cleanupContext(ctx)
	if rd.daemonService != "" {
		err := r.env.Clients.Kube.CoreV1().Services(r.env.Namespace).Delete(ctx, rd.daemonService, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			r.log.Warnf("delete daemon service %s: %v", rd.daemonService, err)
		}
	}
	if rd.daemonPod != "" {
		if err := r.clean.removePod(ctx, rd.daemonPod); err != nil {
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

// daemonUsage is what the round's daemon has used so far (CPU time, peak
// memory), where the harness can read it (a kind cluster it created).
func (p daemonPreparation) daemonUsage(ctx context.Context, rd *round) (kind.PodUsage, bool) {
	if rd.daemonUID == "" || p.r.accounting == nil {
		return kind.PodUsage{}, false
	}
	u, err := p.r.accounting.PodUsage(ctx, rd.daemonNode, rd.daemonUID)
	return u, err == nil
}

// stateSize is what the round's daemon's state takes on disk, where the
// harness can read it (a kind cluster it created).
func (p daemonPreparation) stateSize(ctx context.Context, rd *round) (int64, bool, error) {
	if rd.daemonUID == "" || p.r.env.Kind == nil {
		return 0, false, nil
	}
	n, err := p.r.env.Kind.DiskUsage(ctx, rd.daemonNode, kind.EmptyDirPath(rd.daemonUID, builders.DaemonStateVolume))
	if err != nil {
		if _, dead := p.died(ctx, rd); dead {
			return 0, false, nil // its state went with it; the run says why
		}
		return 0, true, fmt.Errorf("size of daemon %s's state: %w", rd.daemonPod, err)
	}
	return n, true, nil
}

var errEnded = errors.New("ended")

// died reports whether the round's daemon has stopped, with its log's
// last lines: a build that failed then failed for it.
func (p daemonPreparation) died(ctx context.Context, rd *round) (string, bool) {
	r := p.r
	pod, err := r.env.Clients.Kube.CoreV1().Pods(r.env.Namespace).Get(ctx, rd.daemonPod, metav1.GetOptions{})
	if err != nil {
		return fmt.Sprintf("(daemon pod %s: %v)", rd.daemonPod, err), apierrors.IsNotFound(err)
	}
	if pod.Status.Phase == corev1.PodRunning {
		return "", false
	}
	logs, err := r.podLog(ctx, rd.daemonPod, "", false)
	if err != nil {
		return fmt.Sprintf("(daemon pod %s is %s; its log: %v)", rd.daemonPod, pod.Status.Phase, err), true
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
