package main

import (
	"bytes"
	"strings"
	"testing"

	"k8s.io/klog/v2"

	"github.com/cachebench/cachebench/log"
)

// TestKlogTo: client-go's klog lines reach the logger's detail, and only
// with --verbose.
func TestKlogTo(t *testing.T) {
	defer klog.ClearLogger()
	for _, verbose := range []bool{false, true} {
		var out bytes.Buffer
		klogTo(log.New(&out, verbose))
		klog.ErrorS(nil, "Unexpected error when reading response body", "err", "context canceled")
		klog.Flush()
		got := out.String()
		if shown := strings.Contains(got, "debug: client-go:") && strings.Contains(got, "Unexpected error when reading response body"); shown != verbose {
			t.Errorf("verbose %v: logged %q", verbose, got)
		}
	}
}
