package buildkit

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cachebench/cachebench/measure"
	"github.com/cachebench/cachebench/results"
)

// BuildKit's plain progress (buildctl --progress=plain) prints each vertex
// of the build as "#<n> <name>", its status lines as "#<n> <text>", and
// ends it with "#<n> DONE <seconds>s", "#<n> CACHED" or "#<n> ERROR ...".
var (
	bkLine = regexp.MustCompile(`^#(\d+) (.*)$`)
	bkDone = regexp.MustCompile(`^DONE ([0-9.]+)s$`)
	// A Dockerfile step: "[2/3] RUN ...", "[build 1/4] FROM ...". The
	// groups are the instruction and its keyword.
	bkStep = regexp.MustCompile(`^\[[^\]]*\d+/\d+\] ((\S+).*)$`)
	// A blob's download or extraction: "sha256:... 7.34MB / 42.67MB 0.3s",
	// "extracting sha256:...". A digest alone on its line is not one: the
	// BuildKit in Docker 20.10 prints each vertex's own digest so, under
	// its name.
	bkBlob = regexp.MustCompile(`^(extracting sha256:[0-9a-f]{64}|sha256:[0-9a-f]{64} )`)
	// A status line with its own duration: "pushing layers 0.3s done".
	bkTimed = regexp.MustCompile(`^(\S+(?: \S+)?) .*?([0-9.]+)s done$`)
)

// bkVertex is one vertex of the build, as its lines told it.
type bkVertex struct {
	name   string
	cached bool
	done   bool
	// loaded: its lines are blob downloads or extractions and no CACHED
	// line came: a step served by a remote cache whose layer a later step
	// needed, which BuildKit fetches under the step that made it.
	loaded bool
	// resolved: it looked its image up in a registry ("resolve <ref>").
	resolved bool
	seconds  float64
	pushing  float64 // of "exporting to image": seconds spent pushing
}

// ReadProgress counts cache hits and splits the build into phases from
// BuildKit's plain progress (buildctl's, and docker build's on its
// BuildKit backend). Phases are the vertices' own durations
// (BuildKit times each vertex itself), by kind: base images (resolving
// and pulling FROM), cache-lookup (importing the cache manifest), the
// Dockerfile's commands, snapshot (exporting layers), push and cache-push
// (exporting the cache). Vertices may run in parallel in a multi-stage
// build, so the phases may add up to more than the build took.
// Instructions are the steps other than FROM that ended CACHED or DONE,
// in the order their vertices first appeared; a step that did neither
// (it failed, or the log stops) is not counted either.
func ReadProgress(lines []measure.LogLine) results.BuildLog {
	b := results.BuildLog{Read: true}
	vertices := map[int]*bkVertex{}
	var order []int
	for _, l := range lines {
		m := bkLine.FindStringSubmatch(strings.TrimSpace(l.Text))
		if m == nil {
			continue
		}
		id, _ := strconv.Atoi(m[1])
		text := m[2]
		v, ok := vertices[id]
		if !ok {
			vertices[id] = &bkVertex{name: text}
			order = append(order, id)
			continue
		}
		switch {
		case text == "CACHED":
			v.cached = true
		case bkDone.MatchString(text):
			v.done = true
			v.seconds, _ = strconv.ParseFloat(bkDone.FindStringSubmatch(text)[1], 64)
		case bkBlob.MatchString(text):
			v.loaded = true
		case strings.HasPrefix(text, "resolve "):
			v.resolved = true
		default:
			if t := bkTimed.FindStringSubmatch(text); t != nil && strings.HasPrefix(t[1], "pushing") {
				s, _ := strconv.ParseFloat(t[2], 64)
				v.pushing += s
			}
		}
	}
	// A build that imported a cache may take its base's layers from it,
	// under the steps that need them, and never load the base itself.
	imported := slices.ContainsFunc(order, func(id int) bool {
		v := vertices[id]
		return strings.HasPrefix(v.name, "importing cache manifest") && v.done
	})
	totals := map[string]float64{}
	for _, id := range order {
		v := vertices[id]
		name := v.name
		if step := bkStep.FindStringSubmatch(name); step != nil {
			from := strings.EqualFold(step[2], "FROM")
			instr := results.NormalizeInstruction(step[1])
			switch {
			case from && (v.cached || (v.done && !v.resolved && !v.loaded && !imported)):
				// Served by the builder's own store. The BuildKit in Docker
				// 20.10 says so by neither resolving the image nor loading
				// a blob, where buildkitd prints CACHED.
				b.LocalCacheHits++
			case from:
				totals["base-image"] += v.seconds
			case v.cached || (v.loaded && v.done):
				// A layer of a remote cache can be CACHED and later DONE,
				// pulled for a step that missed, or only pulled and
				// extracted, never CACHED: either way it came from the
				// cache, and the step did not run.
				b.CacheHits++
				b.Instructions = append(b.Instructions, results.InstructionCache{Instruction: instr, Cached: true})
			case v.done:
				b.CacheMisses++
				b.Instructions = append(b.Instructions, results.InstructionCache{Instruction: instr})
				totals["commands"] += v.seconds
			}
			continue
		}
		switch {
		case strings.HasPrefix(name, "[internal] load metadata for"):
			totals["base-image"] += v.seconds
		case strings.HasPrefix(name, "importing cache manifest"):
			totals["cache-lookup"] += v.seconds
		case strings.HasPrefix(name, "exporting to image"):
			totals["push"] += v.pushing
			totals["snapshot"] += max(0, v.seconds-v.pushing)
		case strings.HasPrefix(name, "exporting cache"):
			b.CachePushes++
			totals["cache-push"] += v.seconds
		}
	}
	for _, p := range results.BuildPhases {
		if s, ok := totals[p]; ok {
			b.Phases = append(b.Phases, results.BuildPhase{Name: p, Seconds: s})
		}
	}
	return b
}
