package measure

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// maxErrorLen bounds BuildError's message: it goes into a one-line failure
// reason, and a builder's wrapped error chain can run to kilobytes.
const maxErrorLen = 300

// Error lines rank by how final they are. BuildError keeps the last line of
// the highest rank, so an error the builder logged and carried on from, or a
// RUN command's own complaint, never hides the message it exited with.
const (
	rankNone   = iota
	rankStep   // a BuildKit vertex failed: "#12 ERROR: ..."
	rankLogged // logged at error level, or an "ERROR:" line (pip prints these too)
	rankFinal  // what the builder prints as it exits, or a fatal log entry
)

var (
	ansiEscape = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]`)
	// buildctl exits with "error: ...", buildah and other cobra tools with
	// "Error: ...", buildx with "ERROR: failed to solve: ...".
	labelledError = regexp.MustCompile(`^(error|Error|ERROR): +(\S.*)$`)
	// kaniko prints its exit error bare ("error building image: ...", "error
	// pushing image: ..."), as buildah did before it added "Error: ".
	bareError = regexp.MustCompile(`^error \w[^:]*: \S`)
	// BuildKit's plain progress reports a failed vertex as "#<n> ERROR: ...".
	vertexError = regexp.MustCompile(`^#\d+ ERROR: +(\S.*)$`)
	// logrus's coloured text format (kaniko's default): "ERRO[0002] msg".
	colourLevel = regexp.MustCompile(`^(ERRO|FATA|PANI)\[[^\]]*\] *(.*)$`)
)

// BuildError returns the builder's own error message in a build step's log:
// the last line that states why the build failed, cleaned for a one-line
// reason (JSON decoded, timestamps stripped, at most 300 characters: its
// start and its end, where the root cause is), and
// the index of the line it came from (0-based over strings.Split(log, "\n")).
// ok is false when the log holds no recognisable error line.
//
// A leading "error: ", "Error: " or "ERROR: " label is dropped from msg, as is
// a BuildKit vertex's "#12 ERROR: ".
func BuildError(log string) (msg string, line int, ok bool) {
	best := rankNone
	for i, raw := range strings.Split(log, "\n") {
		m, rank := classifyErrorLine(logText(raw))
		if rank == rankNone || rank < best {
			continue
		}
		if m = oneLineReason(m); m != "" {
			msg, line, best = m, i, rank
		}
	}
	return msg, line, best != rankNone
}

// TailTo returns up to n lines of log ending at line `line` (inclusive), so a
// failure's log tail ends at the builder's error rather than at whatever was
// printed after it. A line past the end means the end of the log, as in Tail;
// a negative line or n yields "".
func TailTo(log string, line, n int) string {
	lines := strings.Split(log, "\n")
	if line >= len(lines) {
		lines = strings.Split(strings.TrimRight(log, "\n"), "\n")
		line = len(lines) - 1
	}
	if line < 0 || n <= 0 {
		return ""
	}
	return strings.Join(lines[max(0, line-n+1):line+1], "\n")
}

// logText is a log line as the builder meant it to read: without the
// kubelet's timestamp, colour codes, or text a carriage return overwrote.
func logText(raw string) string {
	raw = strings.TrimRight(raw, "\r")
	if ts, rest, ok := strings.Cut(raw, " "); ok {
		if _, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			raw = rest
		}
	}
	if i := strings.LastIndexByte(raw, '\r'); i >= 0 {
		raw = raw[i+1:]
	}
	return strings.TrimSpace(ansiEscape.ReplaceAllString(raw, ""))
}

// classifyErrorLine ranks one line of builder output and extracts its message.
func classifyErrorLine(text string) (string, int) {
	switch {
	case strings.HasPrefix(text, "{"):
		// kaniko --log-format=json; anything else in braces is a command's output.
		var e struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Error any    `json:"error"`
		}
		if json.Unmarshal([]byte(text), &e) != nil {
			return "", rankNone
		}
		cause, _ := e.Error.(string)
		return withCause(e.Msg, cause), levelRank(e.Level)
	case strings.HasPrefix(text, "time=") || strings.HasPrefix(text, "level="):
		// logrus's plain text format: kaniko --log-format=text, buildah,
		// containers/storage.
		f := logrusFields(text)
		return withCause(f["msg"], f["error"]), levelRank(f["level"])
	}
	if m := colourLevel.FindStringSubmatch(text); m != nil {
		if m[1] == "ERRO" {
			return m[2], rankLogged
		}
		return m[2], rankFinal
	}
	if m := labelledError.FindStringSubmatch(text); m != nil {
		if m[1] == "ERROR" && !strings.HasPrefix(m[2], "failed to ") {
			return m[2], rankLogged
		}
		return m[2], rankFinal
	}
	if bareError.MatchString(text) {
		return text, rankFinal
	}
	if m := vertexError.FindStringSubmatch(text); m != nil {
		return m[1], rankStep
	}
	return "", rankNone
}

// levelRank ranks a logrus level: fatal and panic end the process, so they
// are as final as an exit message.
func levelRank(level string) int {
	switch level {
	case "error":
		return rankLogged
	case "fatal", "panic":
		return rankFinal
	}
	return rankNone
}

// withCause appends the error field logrus's WithError adds, which often
// holds the actual reason ("msg=\"failed to mount\" error=\"...\"").
func withCause(msg, cause string) string {
	if cause == "" || strings.Contains(msg, cause) {
		return msg
	}
	if msg == "" {
		return cause
	}
	return msg + ": " + cause
}

// logrusFields splits a line of logrus's text format into its fields; logrus
// quotes a value (Go syntax) when it holds spaces or quotes.
func logrusFields(s string) map[string]string {
	fields := map[string]string{}
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimLeft(s, " ") {
		key, rest, ok := strings.Cut(s, "=")
		if !ok || strings.ContainsRune(key, ' ') {
			break
		}
		val := ""
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				break
			}
			val, _ = strconv.Unquote(q)
			rest = rest[len(q):]
		} else {
			val, rest, _ = strings.Cut(rest, " ")
		}
		fields[key] = val
		s = rest
	}
	return fields
}

// oneLineReason makes msg fit a one-line reason: no colour codes or control
// characters (a JSON msg may hold newlines), runs of space collapsed (logrus
// pads its coloured messages), at most maxErrorLen characters.
// Elision stands for the middle of a reason too long to keep whole.
const Elision = " … "

func oneLineReason(msg string) string {
	msg = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, ansiEscape.ReplaceAllString(msg, ""))
	msg = strings.Join(strings.Fields(msg), " ")
	if utf8.RuneCountInString(msg) <= maxErrorLen {
		return msg
	}
	// Builders wrap errors outermost first: the root cause ("connect:
	// connection refused") is at the end, what failed at the start. Keep both.
	r := []rune(msg)
	head := maxErrorLen / 3
	tail := maxErrorLen - head - 3
	return string(r[:head]) + Elision + string(r[len(r)-tail:])
}
