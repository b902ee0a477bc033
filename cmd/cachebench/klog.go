package main

import (
	"github.com/go-logr/logr/funcr"
	"k8s.io/klog/v2"

	"github.com/cachebench/cachebench/log"
)

// klogTo sends what client-go reports through klog (a watch's response
// cancelled on purpose, say) to l's detail, shown with --verbose, rather
// than to the terminal in klog's own format.
func klogTo(l log.Logger) {
	klog.SetLogger(funcr.New(func(prefix, args string) {
		l.Debugf("client-go: %s %s", prefix, args)
	}, funcr.Options{}))
}
