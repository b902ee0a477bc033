// Package log is the small logger interface every cachebench package takes,
// so that callers decide where progress goes (a terminal, a test log, nowhere).
package log

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Logger reports progress. Implementations must be safe for concurrent use.
type Logger interface {
	// Infof reports progress a user wants to see.
	Infof(format string, args ...any)
	// Warnf reports something that did not stop the work but may matter.
	Warnf(format string, args ...any)
	// Debugf reports detail, shown only when asked for.
	Debugf(format string, args ...any)
}

// NoOp returns a Logger that drops everything.
func NoOp() Logger { return noop{} }

type noop struct{}

func (noop) Infof(string, ...any)  {}
func (noop) Warnf(string, ...any)  {}
func (noop) Debugf(string, ...any) {}

// New returns a Logger writing one line per message to w, each prefixed with
// the time since the logger was made, so that long work shows its pace.
func New(w io.Writer, verbose bool) Logger {
	return &writer{w: w, verbose: verbose, start: time.Now()}
}

type writer struct {
	mu      sync.Mutex
	w       io.Writer
	verbose bool
	start   time.Time
}

func (l *writer) line(level, format string, args []any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	el := time.Since(l.start).Truncate(time.Second)
	fmt.Fprintf(l.w, "[%8s] %s%s\n", el, level, fmt.Sprintf(format, args...))
}

func (l *writer) Infof(format string, args ...any) { l.line("", format, args) }
func (l *writer) Warnf(format string, args ...any) { l.line("WARNING: ", format, args) }
func (l *writer) Debugf(format string, args ...any) {
	if l.verbose {
		l.line("debug: ", format, args)
	}
}

// Func adapts a printf-style function (testing.T.Logf, say) to a Logger.
type Func func(format string, args ...any)

func (f Func) Infof(format string, args ...any)  { f(format, args...) }
func (f Func) Warnf(format string, args ...any)  { f("WARNING: "+format, args...) }
func (f Func) Debugf(format string, args ...any) {}
