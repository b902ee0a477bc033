package docker

import (
	"slices"
	"strings"

	"github.com/cachebench/cachebench/builders/buildkit"
	"github.com/cachebench/cachebench/measure"
	"github.com/cachebench/cachebench/results"
)

// pushStart and pushDigest open and end each "docker push" in the log.
const (
	pushStart  = "The push refers to repository ["
	pushDigest = ": digest: sha256:"
)

// readLog reads "docker build"'s BuildKit progress, then times the pushes
// after it by the kubelet's timestamps (docker push prints no times): the
// first, the image's, as push; a second, the image again under the layer
// cache's reference (the registry strategy), as cache push.
func readLog(lines []measure.LogLine) results.BuildLog {
	b := buildkit.ReadProgress(lines)
	var pushes []float64
	var start *measure.LogLine
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l.Text, pushStart):
			start = &lines[i]
		case start != nil && strings.Contains(l.Text, pushDigest):
			pushes = append(pushes, l.Time.Sub(start.Time).Seconds())
			start = nil
		}
	}
	for i, name := range []string{"push", "cache-push"} {
		if i < len(pushes) {
			b.Phases = addPhase(b.Phases, name, pushes[i])
		}
	}
	return b
}

// addPhase adds seconds to a phase, keeping the phases in
// results.BuildPhases' order.
func addPhase(phases []results.BuildPhase, name string, seconds float64) []results.BuildPhase {
	if i := slices.IndexFunc(phases, func(p results.BuildPhase) bool { return p.Name == name }); i >= 0 {
		phases[i].Seconds += seconds
		return phases
	}
	phases = append(phases, results.BuildPhase{Name: name, Seconds: seconds})
	slices.SortStableFunc(phases, func(a, b results.BuildPhase) int {
		return slices.Index(results.BuildPhases, a.Name) - slices.Index(results.BuildPhases, b.Name)
	})
	return phases
}
