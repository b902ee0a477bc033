package kaniko

import (
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"github.com/cachebench/cachebench/measure"
	"github.com/cachebench/cachebench/results"
)

// kanikoEntry is a line of kaniko's JSON log (--log-format=json).
type kanikoEntry struct {
	Level string `json:"level"`
	Msg   string `json:"msg"`
}

// phaseMarkers maps the start of a kaniko message to the phase it opens.
var phaseMarkers = []struct{ prefix, phase string }{
	{"Retrieving image", "base-image"},
	{"Returning cached image manifest", "base-image"},
	{"Built cross stage deps", "base-image"},
	{"Checking for cached layer", "cache-lookup"},
	{"No cached layer found", "cache-lookup"},
	{"Using caching version of cmd", "cache-lookup"},
	{"Found cached layer", "cache-extract"},
	{"Unpacking rootfs", "unpack"},
	{"Taking snapshot", "snapshot"},
	{"Pushing layer", "cache-push"},
	{"Pushing image to", "push"},
	// Between stages of a multi-stage build kaniko saves the files later
	// stages need and wipes the file system.
	{"Saving file", "stage-switch"},
	{"Deleting filesystem", "stage-switch"},
	{"Storing source image", "stage-switch"},
}

// dockerfileCommand matches the log line kaniko writes as it starts a
// Dockerfile instruction ("RUN go mod download", "COPY app/ /app/").
var dockerfileCommand = regexp.MustCompile(`^(RUN|COPY|ADD|WORKDIR|ENV|ARG|USER|LABEL|EXPOSE|VOLUME|SHELL|CMD|ENTRYPOINT|HEALTHCHECK|ONBUILD|STOPSIGNAL) `)

var localHit = regexp.MustCompile(`^Found \S+ in local cache`)

// readLog counts cache hits and splits the build into phases from kaniko's
// log. A phase lasts from its marker line to the next marker line; lines
// that are not kaniko's (a RUN command's output) stay in the current phase.
// Instructions are the commands its cache lookup messages name.
func readLog(lines []measure.LogLine) results.BuildLog {
	b := results.BuildLog{Read: true}
	totals := map[string]float64{}
	phase, since := "", time.Time{}
	switchTo := func(p string, at time.Time) {
		if phase != "" && !since.IsZero() && !at.IsZero() && at.After(since) {
			totals[phase] += at.Sub(since).Seconds()
		}
		phase, since = p, at
	}
	var lastTime time.Time
	for _, l := range lines {
		lastTime = l.Time
		var e kanikoEntry
		if !strings.HasPrefix(strings.TrimSpace(l.Text), "{") || json.Unmarshal([]byte(l.Text), &e) != nil || e.Msg == "" {
			continue // a command's own output
		}
		msg := e.Msg
		switch {
		case strings.HasPrefix(msg, "Using caching version of cmd"):
			b.CacheHits++
			b.Instructions = appendKanikoLookup(b.Instructions, msg, "Using caching version of cmd: ", true)
		case strings.HasPrefix(msg, "No cached layer found"):
			b.CacheMisses++
			b.Instructions = appendKanikoLookup(b.Instructions, msg, "No cached layer found for cmd ", false)
		case localHit.MatchString(msg):
			b.LocalCacheHits++
		case strings.HasPrefix(msg, "Pushing layer") && strings.HasSuffix(msg, "to cache now"):
			b.CachePushes++
		}
		if strings.HasPrefix(msg, "Pushed ") {
			switchTo("", l.Time) // the end of the push
			continue
		}
		if localHit.MatchString(msg) {
			switchTo("base-image", l.Time)
			continue
		}
		if dockerfileCommand.MatchString(msg) || strings.HasPrefix(msg, "Running: ") || strings.HasPrefix(msg, "Cmd: ") {
			switchTo("commands", l.Time)
			continue
		}
		for _, m := range phaseMarkers {
			if strings.HasPrefix(msg, m.prefix) {
				if m.phase != phase {
					switchTo(m.phase, l.Time)
				}
				break
			}
		}
	}
	switchTo("", lastTime)
	for _, p := range results.BuildPhases {
		if s, ok := totals[p]; ok {
			b.Phases = append(b.Phases, results.BuildPhase{Name: p, Seconds: s})
		}
	}
	return b
}

// appendKanikoLookup records the instruction a cache lookup message names
// after prefix. Kaniko names it in both messages ("Using caching version of
// cmd: RUN ...", "No cached layer found for cmd RUN ..."); a message of
// another shape names none, and adds nothing.
func appendKanikoLookup(list []results.InstructionCache, msg, prefix string, cached bool) []results.InstructionCache {
	instr, ok := strings.CutPrefix(msg, prefix)
	if !ok {
		return list
	}
	return append(list, results.InstructionCache{Instruction: results.NormalizeInstruction(instr), Cached: cached})
}
