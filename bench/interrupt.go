package bench

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// WithInterrupt returns a context cancelled by the first SIGINT or SIGTERM,
// so that the running PipelineRun is cancelled, results are kept and the
// cleanup runs. After that first signal the default handling comes back: a
// second Ctrl-C ends the process at once, aborting a slow cleanup.
func WithInterrupt(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		defer signal.Stop(sigs)
		select {
		case sig := <-sigs:
			signal.Stop(sigs)
			fmt.Fprintf(os.Stderr, "cachebench: %v: cleaning up; press Ctrl-C again to abort the cleanup\n", sig)
			cancel()
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() { close(done) })
		cancel()
	}
}
