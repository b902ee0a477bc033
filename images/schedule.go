package images

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/cachebench/cachebench/log"
)

// Slot is a kind of machine resource a step of the factory waits for:
// module downloads wait on the network, compiles on the CPU, root
// filesystems (Unpack) on packages unpacking to disk. Steps of different kinds run
// side by side, so that both cores compile while modules download.
type Slot string

const (
	Network Slot = "network"
	CPU     Slot = "cpu"
	Unpack  Slot = "unpack"
)

// defaultSlots: a few downloads at once; one Go compile per two cores,
// since one go build already compiles packages in parallel; two root
// filesystems at once, which keeps module downloads from waiting for them.
func defaultSlots() map[Slot]int {
	return map[Slot]int{Network: 4, CPU: max(1, runtime.NumCPU()/2), Unpack: 2}
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
	// EndSeconds: when it ended, from the start of the factory's build.
	EndSeconds float64 `json:"endSeconds,omitempty"`
}

// scheduler hands out slots, runs each shared step once however many
// images need it, and keeps what runs and what waits for the progress line
// and the timing table.
type scheduler struct {
	log log.Logger

	started time.Time

	mu    sync.Mutex
	slots map[Slot]*slotQueue
	// priority is each step's critical path (seconds of work from its start
	// to the end of the plan): a free slot goes to the waiting step with the
	// longest.
	priority map[string]float64
	// opensAt: no slot is handed out before it, so that the steps that
	// start together all ask first, and the longest chain gets the slot.
	opensAt time.Time
	calls   map[string]*call
	running map[string]time.Time // step -> since
	waiting map[string]Slot      // step -> the slot it waits for
	timings []Timing
}

// slotQueue is one kind of slot: how many are free, and who waits for one.
type slotQueue struct {
	free    int
	waiters []*waiter
}

type waiter struct {
	step     string
	priority float64
	granted  chan struct{}
}

// acquire takes a slot for step, waiting behind steps of higher priority.
func (s *scheduler) acquire(ctx context.Context, slot Slot, step string) error {
	s.mu.Lock()
	q := s.slots[slot]
	if q.free > 0 && len(q.waiters) == 0 && !time.Now().Before(s.opensAt) {
		q.free--
		s.mu.Unlock()
		return nil
	}
	w := &waiter{step: step, priority: s.priority[step], granted: make(chan struct{})}
	q.waiters = append(q.waiters, w)
	s.mu.Unlock()
	select {
	case <-w.granted:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		if i := slices.Index(q.waiters, w); i >= 0 {
			q.waiters = slices.Delete(q.waiters, i, i+1)
			return ctx.Err()
		}
		// Granted meanwhile: pass the slot on.
		s.releaseLocked(slot)
		return ctx.Err()
	}
}

// release hands the slot to the waiting step of highest priority (the
// first to ask among equals), or frees it.
func (s *scheduler) release(slot Slot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked(slot)
}

func (s *scheduler) releaseLocked(slot Slot) {
	q := s.slots[slot]
	if len(q.waiters) == 0 {
		q.free++
		return
	}
	best := 0
	for i, w := range q.waiters {
		if w.priority > q.waiters[best].priority {
			best = i
		}
	}
	w := q.waiters[best]
	q.waiters = slices.Delete(q.waiters, best, best+1)
	close(w.granted)
}

type call struct {
	done chan struct{}
	val  string
	err  error
}

func newScheduler(slots map[Slot]int, l log.Logger) *scheduler {
	s := &scheduler{started: time.Now(), slots: map[Slot]*slotQueue{}, priority: map[string]float64{}, log: l, calls: map[string]*call{}, running: map[string]time.Time{}, waiting: map[string]Slot{}}
	for k, n := range slots {
		s.slots[k] = &slotQueue{free: n}
	}
	return s
}

// prioritize sets the steps' priorities (their critical paths) and holds
// every slot for gather, so that the steps starting now queue up by
// priority instead of taking slots as they come.
func (s *scheduler) prioritize(p map[string]float64, gather time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	maps.Copy(s.priority, p)
	s.opensAt = time.Now().Add(gather)
	time.AfterFunc(gather, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for slot, q := range s.slots {
			for q.free > 0 && len(q.waiters) > 0 {
				q.free--
				s.releaseLocked(slot)
			}
		}
	})
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
	if err := s.acquire(ctx, slot, step); err != nil {
		s.mu.Lock()
		delete(s.waiting, step)
		s.mu.Unlock()
		return time.Since(start), err
	}
	waited := time.Since(start)
	s.mu.Lock()
	delete(s.waiting, step)
	s.running[step] = time.Now()
	s.mu.Unlock()
	defer func() {
		s.release(slot)
		s.mu.Lock()
		delete(s.running, step)
		s.mu.Unlock()
	}()
	return waited, fn()
}

func (s *scheduler) record(t Timing) {
	if !t.Cached {
		t.EndSeconds = time.Since(s.started).Seconds()
	}
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
	fmt.Fprintln(tw, "step\tkind\tresult\tdownload\tbuild\twaited\tended\tsize\t")
	for _, t := range ts {
		result := "built"
		if t.Cached {
			result = "cached"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", t.Step, t.Kind, result, dur(t.DownloadSeconds), dur(t.BuildSeconds), dur(t.WaitSeconds), dur(t.EndSeconds), size(t.Bytes))
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
