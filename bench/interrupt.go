package bench

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// WithInterrupt returns a context cancelled by the first SIGINT or SIGTERM,
// so that the running PipelineRun is cancelled, results are kept and the
// cleanup runs. After that first signal the default handling comes back: a
// second Ctrl-C ends the process at once, aborting a slow cleanup.
func WithInterrupt(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
		// Cancelled by a signal, not by the parent or by stop: say so.
		if cause := context.Cause(ctx); parent.Err() == nil && cause != context.Canceled {
			fmt.Fprintf(os.Stderr, "cachebench: %v: cleaning up; press Ctrl-C again to abort the cleanup\n", cause)
		}
	}()
	return ctx, stop
}
