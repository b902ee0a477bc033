package triggers

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// InterceptorsSelector selects the core interceptors' pods in Namespace.
const InterceptorsSelector = "app.kubernetes.io/name=core-interceptors"

// Answers are what the core interceptors answered over a span of time, read
// from their log: the listener says nothing of an event it drops after
// its 202, and they say why. Their logger samples (Triggers'
// config-logging: past 100 identical lines in a second, one in 100), so
// a count above 100 is a lower bound.
type Answers struct {
	// Passed counts the answers that let an event through.
	Passed int
	// Unmatched counts CEL filters that did not match: pushes for another
	// Trigger, as every event is for all Triggers but one.
	Unmatched int
	// Refused counts every other refusal by its message (a signature that
	// does not match, a secret that could not be read).
	Refused map[string]int
}

// String sums up the refusals, the most frequent first.
func (a Answers) String() string {
	msgs := slices.SortedFunc(maps.Keys(a.Refused), func(x, y string) int {
		return cmp.Or(a.Refused[y]-a.Refused[x], strings.Compare(x, y))
	})
	var parts []string
	for _, m := range msgs {
		parts = append(parts, fmt.Sprintf("%d× %q", a.Refused[m], m))
	}
	if len(parts) == 0 {
		parts = append(parts, "nothing but filters that did not match")
	}
	return fmt.Sprintf("%d let through, %d filters not matched; refused: %s", a.Passed, a.Unmatched, strings.Join(parts, ", "))
}

// ReadAnswers reads the core interceptors' answers since a time (to the
// second, as the kubelet keeps logs) from their pods' logs.
func (l *Listener) ReadAnswers(ctx context.Context, since time.Time) (Answers, error) {
	log, err := l.clients.LogsSince(ctx, Namespace, InterceptorsSelector, "", since)
	if err != nil {
		return Answers{}, err
	}
	a := Answers{Refused: map[string]int{}}
	a.add(log)
	if a.Passed+a.Unmatched+len(a.Refused) == 0 {
		return a, fmt.Errorf("the core interceptors (%s in %s) logged no answer since %s", InterceptorsSelector, Namespace, since.Format(time.TimeOnly))
	}
	return a, nil
}

// add counts the answers in log text. An answer is logged as
// `Interceptor response is: &{... Continue:true|false Status:{Code:... Message:...}}`.
func (a *Answers) add(log string) {
	for line := range strings.Lines(log) {
		_, answer, ok := strings.Cut(line, "Interceptor response is: ")
		switch {
		case !ok:
		case strings.Contains(answer, "Continue:true"):
			a.Passed++
		case strings.Contains(answer, "did not return true"):
			a.Unmatched++
		default:
			msg := "(no message)"
			if _, m, ok := strings.Cut(answer, "Message:"); ok {
				msg = strings.TrimRight(strings.TrimSpace(m), `}"`)
			}
			a.Refused[msg]++
		}
	}
}
