package buildah

import (
	"regexp"
	"strings"
	"time"

	"github.com/cachebench/cachebench/measure"
	"github.com/cachebench/cachebench/results"
)

// buildahStep matches the line Buildah prints as it starts a Dockerfile
// instruction: "STEP 2/4: RUN ...", "[1/2] STEP 1/3: FROM golang AS build".
// The groups are the instruction and its keyword.
var buildahStep = regexp.MustCompile(`^(?:\[\d+/\d+\] )?STEP \d+/\d+: ((\S+).*)$`)

// buildahPull is printed when an image is fetched from a registry.
var buildahPull = []string{"Trying to pull ", "Copying blob "}

// pullLead is how long before a FROM step's line a pull can be logged and
// still be that step's: Buildah prints STEP lines to stdout and pull
// progress to stderr, and the two streams are stamped apart.
const pullLead = time.Second

// readLog counts cache hits and splits the build into phases from the log
// of `buildah bud` followed by `buildah push`. Buildah prints no times, so
// a step lasts from its STEP line to the next one (kubelet timestamps):
// FROM steps are base-image, steps served from the cache cache-lookup
// (asking the cache, pulling a cached layer), other steps commands, up to
// "--> Pushing cache", which opens cache-push; COMMIT is snapshot, and
// what `buildah push` prints after it is push. Instructions are the steps
// other than FROM, cached when "--> Using cache" followed their STEP line.
func readLog(lines []measure.LogLine) results.BuildLog {
	b := results.BuildLog{Read: true}
	totals := map[string]float64{}
	type step struct {
		kind        string // FROM, RUN, ...
		instruction string // as logged: "RUN apt-get update"
		start       time.Time
		hit, pulled bool
		cachePush   time.Time
	}
	var cur *step
	var lastPull time.Time // a pull logged outside a FROM step
	phase, since := "", time.Time{}
	closeStep := func(at time.Time) {
		if cur == nil {
			return
		}
		switch {
		case cur.kind == "FROM":
			if !cur.pulled {
				b.LocalCacheHits++
			}
			add(totals, "base-image", cur.start, at)
		case cur.hit:
			b.CacheHits++
			b.Instructions = append(b.Instructions, results.InstructionCache{Instruction: cur.instruction, Cached: true})
			add(totals, "cache-lookup", cur.start, at)
		default:
			b.CacheMisses++
			b.Instructions = append(b.Instructions, results.InstructionCache{Instruction: cur.instruction})
			if !cur.cachePush.IsZero() {
				add(totals, "commands", cur.start, cur.cachePush)
				add(totals, "cache-push", cur.cachePush, at)
			} else {
				add(totals, "commands", cur.start, at)
			}
		}
		cur = nil
	}
	switchTo := func(p string, at time.Time) {
		if phase != "" {
			add(totals, phase, since, at)
		}
		phase, since = p, at
	}
	var last time.Time
	committed := false
	for _, l := range lines {
		last = l.Time
		text := strings.TrimSpace(l.Text)
		if m := buildahStep.FindStringSubmatch(text); m != nil && !committed {
			closeStep(l.Time)
			cur = &step{kind: strings.ToUpper(m[2]), instruction: results.NormalizeInstruction(m[1]), start: l.Time}
			if cur.kind == "FROM" && !lastPull.IsZero() && l.Time.Sub(lastPull) <= pullLead {
				cur.pulled = true
			}
			lastPull = time.Time{}
			continue
		}
		switch {
		case strings.HasPrefix(text, "COMMIT"):
			closeStep(l.Time)
			committed = true
			switchTo("snapshot", l.Time)
		case committed && phase == "snapshot" && strings.HasPrefix(text, "Getting image source signatures"):
			switchTo("push", l.Time)
		case cur != nil && strings.HasPrefix(text, "--> Using cache"):
			cur.hit = true
		case strings.HasPrefix(text, "--> Pushing cache"):
			// The last step's layer is pushed after COMMIT, in snapshot.
			b.CachePushes++
			if cur != nil && cur.cachePush.IsZero() {
				cur.cachePush = l.Time
			}
		case hasAnyPrefix(text, buildahPull):
			if cur != nil && cur.kind == "FROM" {
				cur.pulled = true
			} else {
				lastPull = l.Time
			}
		}
	}
	closeStep(last)
	switchTo("", last)
	for _, p := range results.BuildPhases {
		if s, ok := totals[p]; ok {
			b.Phases = append(b.Phases, results.BuildPhase{Name: p, Seconds: s})
		}
	}
	return b
}

func add(totals map[string]float64, phase string, from, to time.Time) {
	if !from.IsZero() && to.After(from) {
		totals[phase] += to.Sub(from).Seconds()
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
