package bench

import (
	"testing"

	"github.com/cachebench/cachebench/results"
)

func TestStreakStopsOnRepeatedCause(t *testing.T) {
	refused := func(seq string) results.Run {
		return results.Run{Reason: "step-build: error pushing image: failed to push to destination registry:5000/bench/small:run-none-" + seq + `: Patch "http://10.96.0.5:5000/v2/": connect: connection refused`}
	}
	// The registry gone, as CI's fault test met it: what failed is the
	// same, its root cause and the elided reason's end are not.
	const pushCheck = "step-build: error checking push permissions -- make sure you entered the correct tag name, and that you are auth … "
	gone := []results.Run{
		{Reason: pushCheck + `.cluster.local:5000/v2/": net/http: TLS handshake timeout; Get "http://registry.cachebench.svc.cluster.local:5000/v2/": read tcp 10.244.0.91:38984->10.96.80.245:5000: read: connection reset by peer`},
		{Reason: pushCheck + `:33576->10.96.80.245:5000: read: connection reset by peer; Get "http://registry.cachebench.svc.cluster.local:5000/v2/": read tcp 10.244.0.91:33578->10.96.80.245:5000: read: connection reset by peer`},
	}
	otherCheck := results.Run{Reason: "step-build: error building image: error building stage: failed to get filesystem from image: failed to pull the base image, ret … " + `:33576->10.96.80.245:5000: read: connection reset by peer`}
	ok := results.Run{Success: true}
	other := results.Run{Reason: "create PipelineRun: admission webhook denied"}
	interrupted := results.Run{Reason: "interrupted"}
	timedOut := func(level int) results.Run {
		return results.Run{Coordinates: results.Coordinates{Concurrency: level}, TimedOut: true, Reason: `PipelineRunTimeout: PipelineRun "x" failed to finish within "20m0s"`}
	}
	tests := []struct {
		name   string
		limit  int
		runs   []results.Run
		stopAt int // index of the run that stops the benchmark, -1 for none
	}{
		{"three alike", 3, []results.Run{refused("1"), refused("2"), refused("3")}, 2},
		{"a success resets", 3, []results.Run{refused("1"), refused("2"), ok, refused("4"), refused("5")}, -1},
		{"another cause resets", 3, []results.Run{refused("1"), refused("2"), other, refused("4")}, -1},
		{"interruptions do not count", 2, []results.Run{refused("1"), interrupted, refused("3")}, 2},
		{"elided reasons: what failed decides", 2, gone, 1},
		{"elided reasons: another failure resets", 2, []results.Run{gone[0], otherCheck, gone[1]}, -1},
		{"builds at once timing out end their level, not the benchmark", 2, []results.Run{timedOut(4), timedOut(4), timedOut(8)}, -1},
		{"one build at a time timing out counts", 2, []results.Run{timedOut(1), timedOut(0)}, 1},
		{"never", 0, []results.Run{refused("1"), refused("2"), refused("3"), refused("4")}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := streak{limit: tt.limit}
			got := -1
			for i, r := range tt.runs {
				if stop := s.add(r); stop != nil && got < 0 {
					got = i
					if stop.Failures != tt.limit || stop.Reason != r.Reason {
						t.Errorf("stop = %+v", stop)
					}
				}
			}
			if got != tt.stopAt {
				t.Errorf("stopped at run %d, want %d", got, tt.stopAt)
			}
		})
	}
}

func TestNamePrefix(t *testing.T) {
	long := "cache-pv-warm-" + "averyveryveryverylongworkloadnamethatgoesonandon"
	for in, want := range map[string]string{
		"cache-pv-warm-small":     "cache-pv-warm-small-",
		"small-registry-r1-warm2": "small-registry-r1-warm2-",
		long:                      long[:52] + "-",
		"cache-x-" + "a234567890123456789012345678901234567890123-": "cache-x-a234567890123456789012345678901234567890123-",
	} {
		got := namePrefix(in)
		if got != want || len(got) > 63-5 {
			t.Errorf("namePrefix(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckRunUnverifiedWhenLogUnread(t *testing.T) {
	m := testMatrix(t)
	plannedRun := PlannedRun{Workload: m.Workloads[0], Builder: m.Builders[0], Strategy: m.Builders[0].Strategies()[1], Cache: results.Warm, Attempt: 1}
	if c := CheckRun(plannedRun, results.Run{Coordinates: results.Coordinates{Cache: results.Warm}, Success: true}); c.Verdict != results.Unverified {
		t.Errorf("unread log: %+v", c)
	}
	if c := CheckRun(plannedRun, results.Run{Coordinates: results.Coordinates{Cache: results.Warm}, Success: true, BuildLog: results.BuildLog{Read: true}}); c.Verdict != results.Contradicted {
		t.Errorf("a warm run with no hits: %+v", c)
	}
	if c := CheckRun(plannedRun, results.Run{Coordinates: results.Coordinates{Cache: results.Warm}, Success: true, BuildLog: results.BuildLog{Read: true, CacheHits: 1}}); c.Verdict != results.Verified {
		t.Errorf("a warm run with a hit: %+v", c)
	}
}
