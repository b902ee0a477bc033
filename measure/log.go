package measure

import (
	"bufio"
	"strings"
	"time"
)

// LogLine is one line of a container log, with the kubelet's timestamp.
type LogLine struct {
	Time time.Time
	Text string
}

// ParseTimestamped splits a log fetched with timestamps (each line starts
// with an RFC 3339 time and a space). Lines without one get the last time seen.
func ParseTimestamped(log string) []LogLine {
	var out []LogLine
	var last time.Time
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		ts, rest, ok := strings.Cut(line, " ")
		if t, err := time.Parse(time.RFC3339Nano, ts); ok && err == nil {
			last = t
			line = rest
		}
		out = append(out, LogLine{Time: last, Text: line})
	}
	return out
}

// Tail returns the last n lines of a log, for failure records.
func Tail(log string, n int) string {
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
