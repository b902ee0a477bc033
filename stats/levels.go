package stats

import (
	"math"
	"slices"
	"time"

	"gonum.org/v1/gonum/stat"

	"github.com/cachebench/cachebench/results"
)

// Level summarises the warm builds of one row at one concurrency level:
// how long a build took, how long it queued, and how many finished a
// minute while that many were under way.
type Level struct {
	Key
	// Builds are the successful builds; Failed the others.
	Builds, Failed int
	// P50, P90 and Max are percentiles of the builds' wall times, seconds.
	P50, P90, Max float64
	// Queued is the median time from a build's PipelineRun being created to
	// its first step running (scheduling, volumes, init containers),
	// seconds; NaN when no build recorded it.
	Queued float64
	// Throughput is builds a minute: the successful builds over the time
	// their warm runs spanned, first start to last end, summed over the
	// warm runs; NaN for runs recorded without start times.
	Throughput float64
	// VsAlone is P50 over the median warm build of the same row one at a
	// time (level 1); NaN without one.
	VsAlone float64
	// Bend is the row's lowest level whose throughput is within
	// BendShare of its highest: more builds at once finish no more a
	// minute (0 when fewer than two of its levels measured a throughput).
	// StillGrowing says Bend is the highest of those levels.
	Bend         int
	StillGrowing bool
	// Ended says the row's builds timed out at this level (EndedLevels):
	// its figures are the survivors' and it has no throughput.
	Ended bool
}

// BendShare is how close to the highest throughput a level must come to
// be where the row's throughput stops growing.
const BendShare = 0.95

// WithoutLevel is the key of the row at every concurrency level: the
// same key with the level left out.
func (k Key) WithoutLevel() Key {
	k.Concurrency = 0
	return k
}

// Levels summarises, for every row measured at a concurrency level above
// 1, its warm builds at each level, level 1 included; nil when every run
// went one build at a time. Rows come in the order their runs ran, each
// row's levels ascending.
func Levels(runs []results.Run) []Level {
	byKey := map[Key][]results.Run{}
	levelsOf := map[Key][]Key{}
	var rows []Key
	for _, r := range runs {
		if r.Cache != results.Warm {
			continue
		}
		k := KeyOf(r)
		if _, ok := byKey[k]; !ok {
			row := k.WithoutLevel()
			if _, seen := levelsOf[row]; !seen {
				rows = append(rows, row)
			}
			levelsOf[row] = append(levelsOf[row], k)
		}
		byKey[k] = append(byKey[k], r)
	}
	ended := EndedLevels(runs)
	var out []Level
	for _, row := range rows {
		keys := levelsOf[row]
		slices.SortFunc(keys, func(a, b Key) int { return a.Level() - b.Level() })
		if keys[len(keys)-1].Level() == 1 {
			continue // one build at a time only
		}
		ls := make([]Level, len(keys))
		best := 0.0
		for i, k := range keys {
			ls[i] = level(k, byKey[k])
			if IsEnded(ended, k) {
				ls[i].Ended, ls[i].Throughput = true, math.NaN()
			}
			if t := ls[i].Throughput; !math.IsNaN(t) {
				best = max(best, t)
			}
		}
		alone := math.NaN()
		if keys[0].Level() == 1 {
			alone = ls[0].P50
		}
		bend, measured, top := 0, 0, 0
		for i := range ls {
			ls[i].VsAlone = math.NaN()
			if alone > 0 {
				ls[i].VsAlone = ls[i].P50 / alone
			}
			t := ls[i].Throughput
			if math.IsNaN(t) {
				continue
			}
			measured, top = measured+1, ls[i].Level()
			if bend == 0 && t >= BendShare*best {
				bend = ls[i].Level()
			}
		}
		if measured < 2 {
			bend = 0 // one throughput has nothing to bend against
		}
		for i := range ls {
			ls[i].Bend, ls[i].StillGrowing = bend, bend != 0 && bend == top
		}
		out = append(out, ls...)
	}
	return out
}

// level summarises one row's warm builds at one level.
func level(k Key, runs []results.Run) Level {
	l := Level{Key: k, Queued: math.NaN(), Throughput: math.NaN()}
	var walls, queued []float64
	type warmRun struct{ round, attempt int }
	spans := map[warmRun][2]time.Time{}
	timed := true
	for _, r := range runs {
		if !r.Success {
			l.Failed++
			continue
		}
		l.Builds++
		walls = append(walls, r.WallSeconds())
		if r.FirstStepMillis > 0 {
			queued = append(queued, float64(r.FirstStepMillis)/1000)
		}
		if r.StartedAt.IsZero() {
			timed = false
			continue
		}
		w := warmRun{r.Round, r.Attempt}
		end := r.StartedAt.Add(time.Duration(r.WallMillis) * time.Millisecond)
		sp, ok := spans[w]
		if !ok || r.StartedAt.Before(sp[0]) {
			sp[0] = r.StartedAt
		}
		if end.After(sp[1]) {
			sp[1] = end
		}
		spans[w] = sp
	}
	if len(walls) == 0 {
		l.P50, l.P90, l.Max = math.NaN(), math.NaN(), math.NaN()
		return l
	}
	slices.Sort(walls)
	l.P50 = median(walls)
	l.P90 = stat.Quantile(0.9, stat.Empirical, walls, nil)
	l.Max = walls[len(walls)-1]
	if len(queued) > 0 {
		l.Queued = median(queued)
	}
	if timed {
		var span time.Duration
		for _, sp := range spans {
			span += sp[1].Sub(sp[0])
		}
		if span > 0 {
			l.Throughput = float64(l.Builds) / span.Minutes()
		}
	}
	return l
}

// Ended is where a row's builds at once stopped finishing: its lowest
// level above 1 at which a build did not finish within the run timeout.
// The row's runs at that level and above are not run any more; the
// levels below it stand.
type Ended struct {
	Key           // the row's warm key at that level
	Reason string // why the first such build failed
}

// EndedLevels lists, for every row whose builds timed out at a level
// above 1, the lowest such level, in the order the rows' runs ran.
func EndedLevels(runs []results.Run) []Ended {
	var out []Ended
	at := map[Key]int{}
	for _, r := range runs {
		if !r.EndsLevel() {
			continue
		}
		k := KeyOf(r)
		k.Cache = results.Warm
		i, seen := at[k.WithoutLevel()]
		switch {
		case !seen:
			at[k.WithoutLevel()] = len(out)
			out = append(out, Ended{k, r.Reason})
		case k.Level() < out[i].Level():
			out[i] = Ended{k, r.Reason}
		}
	}
	return out
}

// IsEnded says whether k, cold or warm, is at or above the level at
// which its row ended.
func IsEnded(ended []Ended, k Key) bool {
	k.Cache = results.Warm
	for _, e := range ended {
		if e.WithoutLevel() == k.WithoutLevel() && k.Level() >= e.Level() {
			return true
		}
	}
	return false
}

// WithoutEnded leaves out the rows at or above the level at which their
// row ended: their figures are only the builds that finished in time.
func WithoutEnded(rows []Stat, ended []Ended) []Stat {
	return slices.DeleteFunc(slices.Clone(rows), func(s Stat) bool { return IsEnded(ended, s.Key) })
}
