package bench

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInterruptCancels: SIGINT cancels the context, naming the signal as
// its cause; stop alone cancels it without one.
func TestInterruptCancels(t *testing.T) {
	ctx, stop := WithInterrupt(context.Background())
	defer stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("SIGINT did not cancel the context")
	}
	if cause := context.Cause(ctx); cause == nil || !strings.Contains(cause.Error(), "interrupt") {
		t.Errorf("cause %v, want the signal", cause)
	}
	quiet, stopQuiet := WithInterrupt(context.Background())
	stopQuiet()
	if cause := context.Cause(quiet); cause != context.Canceled {
		t.Errorf("stopped without a signal: cause %v, want context.Canceled", cause)
	}
}
