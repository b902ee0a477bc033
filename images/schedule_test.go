package images

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachebench/cachebench/log"
)

func TestOnceRunsASharedStepOnce(t *testing.T) {
	s := newScheduler(map[Slot]int{CPU: 1}, log.NoOp())
	var runs atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.once(context.Background(), "k8s", func() (string, error) {
				runs.Add(1)
				time.Sleep(20 * time.Millisecond)
				return "dir", nil
			})
			if v != "dir" || err != nil {
				t.Errorf("once = %q, %v", v, err)
			}
		}()
	}
	wg.Wait()
	if runs.Load() != 1 {
		t.Fatalf("the step ran %d times", runs.Load())
	}
	// A failure is not remembered: the next caller tries again.
	boom := errors.New("boom")
	if _, err := s.once(context.Background(), "x", func() (string, error) { return "", boom }); err != boom {
		t.Fatal(err)
	}
	if v, err := s.once(context.Background(), "x", func() (string, error) { return "ok", nil }); v != "ok" || err != nil {
		t.Fatalf("retry after a failure: %q, %v", v, err)
	}
}

func TestSlotsLimitWhatRunsAtOnce(t *testing.T) {
	s := newScheduler(map[Slot]int{CPU: 1, Network: 3}, log.NoOp())
	for _, tt := range []struct {
		slot Slot
		want int32
	}{{CPU, 1}, {Network, 3}} {
		var now, most atomic.Int32
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.with(context.Background(), tt.slot, "step"+string(rune('a'+i)), func() error {
					n := now.Add(1)
					for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
					}
					time.Sleep(10 * time.Millisecond)
					now.Add(-1)
					return nil
				})
			}()
		}
		wg.Wait()
		if most.Load() != tt.want {
			t.Errorf("%s: %d ran at once, want %d", tt.slot, most.Load(), tt.want)
		}
	}
}

func TestStatusSaysWhatRunsAndWaits(t *testing.T) {
	s := newScheduler(map[Slot]int{CPU: 1}, log.NoOp())
	release := make(chan struct{})
	started := make(chan struct{})
	go s.with(context.Background(), CPU, "go k8s.io/kubernetes (compile)", func() error { close(started); <-release; return nil })
	<-started
	waiting := make(chan struct{})
	go func() {
		s.with(context.Background(), CPU, "go tekton (compile)", func() error { return nil })
		close(waiting)
	}()
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(s.status(), "waiting") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	line := s.status()
	close(release)
	<-waiting
	for _, want := range []string{"running go k8s.io/kubernetes (compile)", "waiting: go tekton (compile) (for cpu)"} {
		if !strings.Contains(line, want) {
			t.Errorf("status %q lacks %q", line, want)
		}
	}
	// A cancelled wait gives up its place.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.with(ctx, CPU, "late", func() error { return nil }); err == nil && s.status() != "" {
		t.Errorf("status after everything ended: %q", s.status())
	}
}

func TestPrintTimings(t *testing.T) {
	var b bytes.Buffer
	PrintTimings(&b, []Timing{
		{Step: "image git", Kind: "image", Cached: true, Bytes: 50e6},
		{Step: "go k8s.io/kubernetes@v1.34.1", Kind: "go", DownloadSeconds: 95, BuildSeconds: 600, WaitSeconds: 3, Bytes: 400e6},
	})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "k8s.io/kubernetes") || !strings.Contains(lines[1], "1m35s") || !strings.Contains(lines[1], "10m0s") || !strings.Contains(lines[2], "cached") {
		t.Errorf("table, slowest first:\n%s", b.String())
	}
}

// TestSlotGoesToTheLongestChain: steps that start together queue by
// priority during the gather window, and a freed slot goes to the waiting
// step of highest priority, not to the first that asked.
func TestSlotGoesToTheLongestChain(t *testing.T) {
	s := newScheduler(map[Slot]int{CPU: 1}, log.NoOp())
	s.prioritize(map[string]float64{"short": 10, "middle": 100, "long": 1000}, time.Second)
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	for _, step := range []string{"short", "middle", "long"} { // the shortest asks first
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.with(context.Background(), CPU, step, func() error {
				mu.Lock()
				order = append(order, step)
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
				return nil
			})
		}()
		time.Sleep(5 * time.Millisecond)
	}
	wg.Wait()
	if want := []string{"long", "middle", "short"}; !slices.Equal(order, want) {
		t.Errorf("ran %v, want %v", order, want)
	}
}
