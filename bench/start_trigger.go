package bench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	watchtools "k8s.io/client-go/tools/watch"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/cachebench/cachebench/cluster/triggers"
	"github.com/cachebench/cachebench/results"
)

// Runs started by push events (--start trigger): each run is a commit on
// its round's branch, announced to the EventListener by a signed GitHub
// push event; the round's Trigger makes the same PipelineRun the api start
// would create, taking the repository and commit from the event.

// Template parameters the round's Trigger fills from the event.
const (
	paramURL    = "$(tt.params.url)"
	paramCommit = "$(tt.params.commit)"
)

var (
	// TriggerTimeout bounds the wait for the PipelineRun of an event: none
	// by then means the event was rejected or no Trigger took it.
	TriggerTimeout = time.Minute
	// RejectWait is how long CheckRejected waits for a PipelineRun that
	// must not come: an accepted event makes one within a second here.
	RejectWait = 15 * time.Second
	// TriggerSettle is the least time between creating a round's Trigger
	// and its first event: the listener reads Triggers from its informer,
	// which sees a new one a moment after the API server has it.
	TriggerSettle = 2 * time.Second
)

// roundName names a round in Kubernetes objects (its Trigger and
// TriggerTemplate) and in its package requests (its package tag): unique
// and stable per round path, a valid name and label value (at most 63
// characters).
func roundName(path string) string {
	sum := sha256.Sum256([]byte(path))
	n := strings.Trim(dnsName(strings.TrimPrefix(path, "rounds/")), "-")
	return strings.TrimRight(n[:min(len(n), 50)], "-") + "-" + hex.EncodeToString(sum[:])[:8]
}

// triggerStarter starts each run with a push event to the round's
// Trigger, as a git server's webhook would; the run's clock starts when
// the PipelineRun it makes is seen.
type triggerStarter struct{ r *Runner }

// Prepare implements Starter: it makes the run's commit.
func (t triggerStarter) Prepare(ctx context.Context, s PlannedRun, rd *round, seq int, _ string) (Begin, error) {
	if err := t.pushCommit(ctx, s, rd, changeToken(t.r.runID, seq)); err != nil {
		return nil, err
	}
	return func(ctx context.Context) (Started, error) {
		pr, at, tt, err := t.startTrigger(ctx, s, rd)
		return Started{PipelineRun: pr, At: at, Trigger: tt}, err
	}, nil
}

// pushCommit makes the run's commit when its change made none: the round's
// first commit for a cold run, a commit changing nothing for the others.
func (t triggerStarter) pushCommit(ctx context.Context, s PlannedRun, rd *round, token string) error {
	r := t.r
	if rd.commit != "" && rd.pushed != rd.commit {
		return nil // the change committed
	}
	var commit string
	var err error
	if s.Cache == results.Cold {
		commit, err = r.env.Git.Head(ctx, s.Workload.Name, rd.branch)
	} else {
		commit, err = r.env.Git.EmptyCommit(ctx, s.Workload.Name, rd.branch, "push "+token)
	}
	if err != nil {
		return err
	}
	rd.commit = commit
	return nil
}

// startTrigger sends the run's push event and waits for the PipelineRun
// it makes. The clock of the run's wall time starts when the watch sees
// the PipelineRun; the event's own times go into tt.
func (t triggerStarter) startTrigger(ctx context.Context, s PlannedRun, rd *round) (*pipelinev1.PipelineRun, time.Time, *results.TriggerTimes, error) {
	r := t.r
	if wait := TriggerSettle - time.Since(rd.triggerAt); wait > 0 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, time.Time{}, nil, ctx.Err()
		}
	}
	push := t.push(s, rd)
	pr, seen, sent, err := t.sendAndWait(ctx, push, false, TriggerTimeout)
	tt := &results.TriggerTimes{EventID: sent.EventID}
	if !sent.At.IsZero() {
		tt.AcceptedMillis = sent.Accepted.Sub(sent.At).Milliseconds()
	}
	if err != nil {
		return nil, time.Time{}, tt, err
	}
	rd.pushed = rd.commit
	tt.PipelineRunMillis = seen.Sub(sent.At).Milliseconds()
	r.log.Infof("%s: push event %s: PipelineRun %s after %d ms", s.Name(), sent.EventID, pr.Name, tt.PipelineRunMillis)
	return pr, seen, tt, nil
}

// push is the event announcing the round's commit: its branch moved from
// the commit pushed last to the one the run builds.
func (t triggerStarter) push(s PlannedRun, rd *round) triggers.Push {
	r := t.r
	p := triggers.Push{Repository: s.Workload.Name, CloneURL: r.env.Git.URL(s.Workload.Name), Branch: rd.branch, Before: rd.pushed, After: rd.commit}
	if daemonsOf(rd) != nil {
		i, _ := rd.daemons.of(s)
		p.Header = map[string]string{daemonHeader: fmt.Sprint(i + 1)}
	}
	return p
}

// sendAndWait sends a push event and waits up to timeout for the
// PipelineRun labelled with its event id. The watch starts before the
// event leaves, so the PipelineRun is seen as it is created.
func (t triggerStarter) sendAndWait(ctx context.Context, push triggers.Push, forged bool, timeout time.Duration) (*pipelinev1.PipelineRun, time.Time, triggers.Sent, error) {
	r := t.r
	prs := r.tekton.TektonV1().PipelineRuns(r.env.Namespace)
	sel := labels.Set{LabelRunID: r.runID, triggers.EventListenerLabel: triggers.ListenerName}.String()
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	w, err := prs.Watch(wctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, time.Time{}, triggers.Sent{}, fmt.Errorf("watch PipelineRuns: %w", err)
	}
	defer w.Stop()
	sent, err := r.env.Listener.Send(ctx, push, forged)
	if err != nil {
		return nil, time.Time{}, sent, err
	}
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				if ctx.Err() != nil {
					return nil, time.Time{}, sent, ctx.Err()
				}
				return nil, time.Time{}, sent, t.noPipelineRun(ctx, sent, push, timeout)
			}
			pr, isPR := ev.Object.(*pipelinev1.PipelineRun)
			if ev.Type == watch.Added && isPR && pr.Labels[triggers.EventIDLabel] == sent.EventID {
				return pr, time.Now(), sent, nil
			}
		case <-wctx.Done():
			if ctx.Err() != nil {
				return nil, time.Time{}, sent, ctx.Err()
			}
			return nil, time.Time{}, sent, t.noPipelineRun(ctx, sent, push, timeout)
		}
	}
}

// noPipelineRun is the error of an event that made no PipelineRun, with
// what the core interceptors answered since it was sent.
func (t triggerStarter) noPipelineRun(ctx context.Context, sent triggers.Sent, push triggers.Push, waited time.Duration) *NoPipelineRunError {
	e := &NoPipelineRunError{EventID: sent.EventID, Push: push, Waited: waited}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	a, err := t.r.env.Listener.ReadAnswers(rctx, sent.At.Add(-time.Second))
	if err != nil {
		t.r.log.Warnf("push event %s: the core interceptors' answers: %v", sent.EventID, err)
		return e
	}
	e.Answers = &a
	return e
}

// NoPipelineRunError is a push event that made no PipelineRun.
type NoPipelineRunError struct {
	EventID string
	Push    triggers.Push
	Waited  time.Duration
	// Answers are the core interceptors' answers to every event and
	// Trigger meanwhile, when their log could be read.
	Answers *triggers.Answers
}

func (e *NoPipelineRunError) Error() string {
	msg := fmt.Sprintf("push event %s (%s, %s at %.12s) made no PipelineRun within %s: the event listener rejected it (signature, event type) or no Trigger took it (repository, branch)",
		e.EventID, e.Push.Repository, e.Push.Branch, e.Push.After, e.Waited)
	if e.Answers == nil {
		return msg + "; the core interceptors' log (tekton-pipelines, " + triggers.InterceptorsSelector + ") says which"
	}
	return msg + "; meanwhile the core interceptors answered: " + e.Answers.String()
}

// CheckRejected sends the events a listener must turn away for the
// round of the planned run s (one signed with a wrong secret, one for a repository
// the git server does not have) and checks that neither made a
// PipelineRun, then the same event signed right, which must make one. It
// is the e2e test's; the round must have started.
func (r *Runner) CheckRejected(ctx context.Context, s PlannedRun) ([]string, error) {
	if s.Change == "" {
		s.Change = s.Workload.DefaultChange()
	}
	rd, ok := r.round(s)
	if !ok || rd.trigger == "" {
		return nil, fmt.Errorf("%s: no round with a Trigger", s.Name())
	}
	t := triggerStarter{r}
	good := t.push(s, rd)
	unknown := good
	unknown.Repository, unknown.CloneURL = "no-such-repository", r.env.Git.URL("no-such-repository")
	var seen []string
	for _, c := range []struct {
		what   string
		push   triggers.Push
		forged bool
	}{{"a wrong signature", good, true}, {"an unknown repository", unknown, false}} {
		pr, _, sent, err := t.sendAndWait(ctx, c.push, c.forged, RejectWait)
		var none *NoPipelineRunError
		switch {
		case errors.As(err, &none):
			line := fmt.Sprintf("push event %s with %s: answered in %d ms, no PipelineRun within %s", sent.EventID, c.what, sent.Accepted.Sub(sent.At).Milliseconds(), RejectWait)
			if none.Answers != nil {
				line += "; the core interceptors: " + none.Answers.String()
			}
			seen = append(seen, line)
		case err != nil:
			return seen, err
		default:
			if rerr := r.clean.removePipelineRun(cleanupContext(ctx), pr.Name); rerr != nil {
				r.log.Warnf("%v", rerr)
			}
			return seen, fmt.Errorf("push event %s with %s made PipelineRun %s", sent.EventID, c.what, pr.Name)
		}
	}
	// The control: the same event, signed right, is taken (its PipelineRun
	// removed at once), so the two above were turned away for what they
	// got wrong, not because no event gets through.
	pr, _, sent, err := t.sendAndWait(ctx, good, false, RejectWait)
	if err != nil {
		return seen, fmt.Errorf("the control, a push event signed right, made no PipelineRun: %w", err)
	}
	if rerr := r.clean.removePipelineRun(cleanupContext(ctx), pr.Name); rerr != nil {
		return seen, rerr
	}
	seen = append(seen, fmt.Sprintf("push event %s signed right (the control): answered in %d ms, PipelineRun %s (removed)", sent.EventID, sent.Accepted.Sub(sent.At).Milliseconds(), pr.Name))
	return seen, nil
}

// watchFirstStep reports when the PipelineRun's first step container
// runs (or has run), as the pod watch delivers it; nothing if ctx ends
// first.
func (r *Runner) watchFirstStep(ctx context.Context, prName string) <-chan time.Time {
	out := make(chan time.Time, 1)
	pods := r.env.Clients.Kube.CoreV1().Pods(r.env.Namespace)
	lw := labelSelectorLW("tekton.dev/pipelineRun="+prName, pods.List, pods.Watch)
	go func() {
		_, err := watchtools.UntilWithSync(ctx, lw, &corev1.Pod{}, nil, func(ev watch.Event) (bool, error) {
			p, ok := ev.Object.(*corev1.Pod)
			return ok && stepStarted(p), nil
		})
		if err == nil {
			out <- time.Now()
		}
		close(out)
	}()
	return out
}

// stepStarted reports whether a step container of the pod runs or ran.
func stepStarted(p *corev1.Pod) bool {
	for _, c := range p.Status.ContainerStatuses {
		if strings.HasPrefix(c.Name, "step-") && (c.State.Running != nil || c.State.Terminated != nil) {
			return true
		}
	}
	return false
}
