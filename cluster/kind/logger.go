package kind

import (
	kindlog "sigs.k8s.io/kind/pkg/log"

	"github.com/cachebench/cachebench/log"
)

// kindLogger adapts our Logger to kind's: kind's level 0 messages are
// progress worth showing, anything more verbose is debug detail.
type kindLogger struct{ l log.Logger }

var _ kindlog.Logger = kindLogger{}

func (k kindLogger) Warn(msg string)                   { k.l.Warnf("%s", msg) }
func (k kindLogger) Warnf(format string, args ...any)  { k.l.Warnf(format, args...) }
func (k kindLogger) Error(msg string)                  { k.l.Warnf("%s", msg) }
func (k kindLogger) Errorf(format string, args ...any) { k.l.Warnf(format, args...) }
func (k kindLogger) V(level kindlog.Level) kindlog.InfoLogger {
	return kindInfo{l: k.l, debug: level > 0}
}

type kindInfo struct {
	l     log.Logger
	debug bool
}

func (k kindInfo) Info(msg string) { k.Infof("%s", msg) }
func (k kindInfo) Infof(format string, args ...any) {
	if k.debug {
		k.l.Debugf(format, args...)
		return
	}
	k.l.Infof(format, args...)
}
func (k kindInfo) Enabled() bool { return true }
