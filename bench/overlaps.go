package bench

import "sync"

// overlaps counts, for each run under way, the runs under way beside it
// (runs go side by side with --side-by-side).
type overlaps struct {
	mu       sync.Mutex
	inFlight map[int]bool
	count    map[int]int
}

// started notes that run seq is under way, overlapping every run already
// under way (and they it).
func (o *overlaps) started(seq int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for other := range o.inFlight {
		o.count[other]++
		o.count[seq]++
	}
	o.inFlight[seq] = true
}

// ended notes that run seq is over and returns how many runs it overlapped.
func (o *overlaps) ended(seq int) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.inFlight, seq)
	n := o.count[seq]
	delete(o.count, seq)
	return n
}
