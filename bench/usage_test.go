package bench

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestShellTimes(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want time.Duration
	}{
		{"0m3.090000s 0m0.010000s\n0m0.000000s 0m0.000000s\n", 3100 * time.Millisecond}, // dash
		{"0m2.310s 0m1.000s\n0m0.000s 0m0.000s\n", 3310 * time.Millisecond},             // busybox
	} {
		if got, err := shellTimes(tc.out); err != nil || got != tc.want {
			t.Errorf("shellTimes(%q) = %s, %v; want %s", tc.out, got, err, tc.want)
		}
	}
	if _, err := shellTimes("sh: times: not found"); err == nil {
		t.Error("no error for output that is not times'")
	}
}

// usageBurn loops on the shell's own arithmetic, starting no process, then
// prints the shell's user and system time (times' first line).
const usageBurn = `i=0; while [ $i -lt 3000000 ]; do i=$((i+1)); done; times`

// shellTimes reads the first line of the builtin times: "0m2.31s 0m0.02s".
func shellTimes(out string) (time.Duration, error) {
	fields := strings.Fields(strings.SplitN(strings.TrimSpace(out), "\n", 2)[0])
	if len(fields) != 2 {
		return 0, fmt.Errorf("times printed %q", out)
	}
	var total time.Duration
	for _, f := range fields {
		d, err := time.ParseDuration(f)
		if err != nil {
			return 0, fmt.Errorf("times printed %q: %w", out, err)
		}
		total += d
	}
	return total, nil
}
