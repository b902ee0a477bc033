package images

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/cachebench/cachebench/log"
)

// Slot is a kind of machine resource a step of the factory waits for:
// downloads (root filesystems, Go modules) wait on the network and disk,
// compiles on the CPU. Steps of different kinds run side by side, so that
// both cores compile while root filesystems download.
type Slot string

const (
	Network Slot = "network"
	CPU     Slot = "cpu"
)

// defaultSlots: a few downloads at once; one Go compile per two cores,
// since one go build already compiles packages in parallel.
func defaultSlots() map[Slot]int {
	return map[Slot]int{Network: 4, CPU: max(1, runtime.NumCPU()/2)}
}

// Timing is how long one step of the factory took.
type Timing struct {
	Step string `json:"step"` // "image git", "rootfs node", "go k8s.io/kubernetes@v1.34.1"
	Kind string `json:"kind"` // image, rootfs, go, node
	// Cached: found in the cache, nothing built.
	Cached bool `json:"cached"`
	// DownloadSeconds: fetching modules or packages, where separable.
	DownloadSeconds float64 `json:"downloadSeconds,omitempty"`
	// BuildSeconds: compiling or assembling, after the download.
	BuildSeconds float64 `json:"buildSeconds,omitempty"`
	// WaitSeconds: queued for a slot (the network, the CPU).
	WaitSeconds float64 `json:"waitSeconds,omitempty"`
	// Bytes: size of the result (archive, tarball, binaries).
	Bytes int64 `json:"bytes,omitempty"`
}

// scheduler hands out slots, runs each shared step once however many
// images need it, and keeps what runs and what waits for the progress line
// and the timing table.
type scheduler struct {
	slots map[Slot]chan struct{}
	log   log.Logger

	mu      sync.Mutex
	calls   map[string]*call
	running map[string]time.Time // step -> since
	waiting map[string]Slot      // step -> the slot it waits for
	timings []Timing
}

type call struct {
	done chan struct{}
	val  string
	err  error
}

func newScheduler(slots map[Slot]int, l log.Logger) *scheduler {
	s := &scheduler{slots: map[Slot]chan struct{}{}, log: l, calls: map[string]*call{}, running: map[string]time.Time{}, waiting: map[string]Slot{}}
	for k, n := range slots {
		s.slots[k] = make(chan struct{}, n)
	}
	return s
}

// once runs fn for key a single time; concurrent and later callers get its
// result. A failed step is not remembered, so a retry runs it again.
func (s *scheduler) once(ctx context.Context, key string, fn func() (string, error)) (string, error) {
	s.mu.Lock()
	if c, ok := s.calls[key]; ok {
		s.mu.Unlock()
		select {
		case <-c.done:
			return c.val, c.err
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	c := &call{done: make(chan struct{})}
	s.calls[key] = c
	s.mu.Unlock()
	c.val, c.err = fn()
	if c.err != nil {
		s.mu.Lock()
		delete(s.calls, key)
		s.mu.Unlock()
	}
	close(c.done)
	return c.val, c.err
}

// with runs fn holding a slot of the given kind, and returns how long the
// step waited for it.
func (s *scheduler) with(ctx context.Context, slot Slot, step string, fn func() error) (time.Duration, error) {
	start := time.Now()
	s.mu.Lock()
	s.waiting[step] = slot
	s.mu.Unlock()
	select {
	case s.slots[slot] <- struct{}{}:
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.waiting, step)
		s.mu.Unlock()
		return time.Since(start), ctx.Err()
	}
	waited := time.Since(start)
	s.mu.Lock()
	delete(s.waiting, step)
	s.running[step] = time.Now()
	s.mu.Unlock()
	defer func() {
		<-s.slots[slot]
		s.mu.Lock()
		delete(s.running, step)
		s.mu.Unlock()
	}()
	return waited, fn()
}

func (s *scheduler) record(t Timing) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timings = append(s.timings, t)
}

// Timings returns what was recorded, in the order the steps finished.
func (s *scheduler) Timings() []Timing {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Timing(nil), s.timings...)
}

// status says what runs and what waits, in one line.
func (s *scheduler) status() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.running)+len(s.waiting) == 0 {
		return ""
	}
	var run, wait []string
	for step, since := range s.running {
		run = append(run, fmt.Sprintf("%s (%s)", step, time.Since(since).Round(time.Second)))
	}
	for step, slot := range s.waiting {
		wait = append(wait, fmt.Sprintf("%s (for %s)", step, slot))
	}
	sort.Strings(run)
	sort.Strings(wait)
	line := "images: running " + strings.Join(run, ", ")
	if len(wait) > 0 {
		line += "; waiting: " + strings.Join(wait, ", ")
	}
	return line
}

// report logs the status line every period until ctx ends.
func (s *scheduler) report(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if line := s.status(); line != "" {
				s.log.Infof("%s", line)
			}
		}
	}
}

// TimingsFile is where the factory writes the timing table of its last
// build, in the cache folder.
const TimingsFile = "timings.json"

// WriteTimings writes the timing table as JSON.
func WriteTimings(path string, ts []Timing) error {
	data, err := json.MarshalIndent(ts, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// PrintTimings writes the timing table for people, slowest step first.
func PrintTimings(w io.Writer, ts []Timing) {
	ts = append([]Timing(nil), ts...)
	sort.SliceStable(ts, func(i, j int) bool {
		return ts[i].DownloadSeconds+ts[i].BuildSeconds > ts[j].DownloadSeconds+ts[j].BuildSeconds
	})
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "step\tkind\tresult\tdownload\tbuild\twaited\tsize\t")
	for _, t := range ts {
		result := "built"
		if t.Cached {
			result = "cached"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", t.Step, t.Kind, result, dur(t.DownloadSeconds), dur(t.BuildSeconds), dur(t.WaitSeconds), size(t.Bytes))
	}
	tw.Flush()
}

func dur(s float64) string {
	if s == 0 {
		return "-"
	}
	return (time.Duration(s * float64(time.Second))).Round(100 * time.Millisecond).String()
}

func size(b int64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MB", float64(b)/1e6)
}

// treeSize is the size of the files under path.
func treeSize(path string) int64 {
	var n int64
	filepath.Walk(path, func(_ string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
		return nil
	})
	return n
}
