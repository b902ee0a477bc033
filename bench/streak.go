package bench

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/cachebench/cachebench/measure"
	"github.com/cachebench/cachebench/results"
)

// StoppedError ends a benchmark whose runs keep failing for the same
// reason: the rest of its plan would fail alike.
type StoppedError struct {
	Failures int
	Reason   string
}

func (e *StoppedError) Error() string {
	return fmt.Sprintf("stopped after %d failed runs in a row with the same cause: %s", e.Failures, e.Reason)
}

// streak counts failed runs in a row with the same cause.
type streak struct {
	limit int // 0: never stop
	cause string
	n     int
}

// variable parts of a failure reason that differ between runs with the
// same cause: numbers (sequence numbers, ports, addresses, times) and
// hexadecimal ids (digests, generated name suffixes).
var variablePart = regexp.MustCompile(`[0-9a-f]{8,}|[0-9]+|-[a-z0-9]{5}\b`)

// causeOf is a failure reason with its run-specific parts blanked out.
// A long reason keeps what failed (its start) and the root cause (its
// end), elided between (measure.BuildError); where its end begins shifts
// with the lengths of the run-specific parts before it, and a service
// that is gone shows as a refused, reset or timed-out connection by turns.
// So an elided reason's cause is what failed: its start.
func causeOf(reason string) string {
	if start, _, elided := strings.Cut(reason, measure.Elision); elided {
		reason = start
	}
	return variablePart.ReplaceAllString(reason, "#")
}

// add records a finished run; it returns a *StoppedError when the limit of
// same-cause failures in a row is reached. Interrupted runs do not count,
// nor builds at once that timed out.
func (s *streak) add(run results.Run) *StoppedError {
	switch {
	case run.Success:
		s.cause, s.n = "", 0
		return nil
	case run.Reason == "interrupted":
		return nil
	case run.EndsLevel():
		// Builds at once that time out end their level (stats.EndedLevels):
		// a finding of the benchmark, not a fault of it.
		return nil
	}
	if c := causeOf(run.Reason); c == s.cause {
		s.n++
	} else {
		s.cause, s.n = c, 1
	}
	if s.limit > 0 && s.n >= s.limit {
		return &StoppedError{Failures: s.n, Reason: run.Reason}
	}
	return nil
}
