package decision

import (
	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/stats"
)

// GB is the unit of memory, storage and transfer in costs.
const GB = 1e9

// Builds is how many builds a cost is given for.
const Builds = 1000

// HoursPerMonth is a month's hours (365 x 24 / 12): how long a daemon,
// which runs whether builds come or not, holds its memory in a month.
const HoursPerMonth = 730

// Cost is what Builds builds of one row use and cost, each figure the
// mix-weighted median per run of the measured ones.
type Cost struct {
	// CPUHours: CPU time the kernel accounted to every pod of a run.
	CPUHours float64
	// MemoryGBHours: each pod's peak memory held for its task's duration;
	// a daemon's held all month, shared by the month's builds.
	MemoryGBHours float64
	// StorageGBMonths: the cache held (layer cache repository, cache
	// volume and daemon state, at the end of a round) for the month those
	// builds share.
	StorageGBMonths float64
	// EgressGB: bytes a run pulled from the upstream and cache registries,
	// pushed to the cache registry, and downloaded as packages.
	EgressGB float64
	// Dollars is the sum of each figure times its price.
	Dollars float64
	// WaitingHours is the time developers wait for those builds.
	WaitingHours float64
	// Measured is false when the runs recorded no CPU use (a cluster the
	// harness did not create, or results from before it was measured).
	Measured bool
}

// costOf weighs each pattern's median use per run by the mix; storage
// comes from every run of the row.
func costOf(mix Mix, runsOf func(pattern string) []results.Run, all []results.Run, p Prices) Cost {
	var c Cost
	perRun := func(runs []results.Run, f func(results.Run) float64) float64 {
		var v []float64
		for _, r := range runs {
			v = append(v, f(r))
		}
		return stats.MedianOf(v)
	}
	var cpu, mem, egress float64
	for pattern, w := range mix {
		runs := runsOf(pattern)
		if w == 0 || len(runs) == 0 {
			continue
		}
		cpu += w * perRun(runs, results.Run.CPUSeconds)
		mem += w * perRun(runs, func(r results.Run) float64 {
			gbs := 0.0
			for _, t := range r.Tasks {
				gbs += float64(t.PeakMemoryBytes) / GB * t.Seconds
			}
			return gbs
		})
		egress += w * perRun(runs, func(r results.Run) float64 {
			b := r.Traffic["upstream"].PulledBytes + r.Traffic["cache"].PulledBytes + r.Traffic["cache"].PushedBytes
			if r.Packages != nil {
				b += r.Packages.Bytes
			}
			return float64(b) / GB
		})
	}
	for _, r := range all {
		if r.CPUSeconds() > 0 {
			c.Measured = true
		}
	}
	// The cache at the end of each round: the largest size its runs saw.
	largest := map[int]float64{}
	for _, r := range all {
		largest[r.Round] = max(largest[r.Round], float64(r.CacheBytes+r.VolumeBytes+r.DaemonStateBytes)/GB)
	}
	var sizes []float64
	for _, v := range largest {
		sizes = append(sizes, v)
	}
	c.CPUHours = Builds * cpu / 3600
	c.MemoryGBHours = Builds*mem/3600 + daemonGBHours(all)*Builds/float64(p.BuildsPerMonth)
	c.EgressGB = Builds * egress
	c.StorageGBMonths = stats.MedianOf(sizes) * Builds / float64(p.BuildsPerMonth)
	c.Dollars = c.CPUHours*p.CPUHour + c.MemoryGBHours*p.MemoryGBHour + c.StorageGBMonths*p.StorageGBMonth + c.EgressGB*p.EgressGB
	return c
}

// daemonGBHours is the memory a row's daemons hold in a month: they run
// between builds too, so each holds the most it took (the median over the
// runs of each one's peak since it started) all month. A round of the row
// had as many daemons as its runs record (--daemons; every one runs,
// whichever the builds went to), one when they record none.
func daemonGBHours(runs []results.Run) float64 {
	var peaks []float64
	daemons := 0
	for _, r := range runs {
		if r.DaemonPeakMemoryBytes > 0 {
			peaks = append(peaks, float64(r.DaemonPeakMemoryBytes)/GB)
			daemons = max(daemons, r.Daemons, r.Daemon, 1)
		}
	}
	if daemons == 0 {
		return 0
	}
	return float64(daemons) * stats.MedianOf(peaks) * HoursPerMonth
}
