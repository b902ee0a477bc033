package bench

import (
	"slices"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/builders/all"
	"github.com/cachebench/cachebench/results"
)

// Unrecognised returns the run's findings that none of its builder's
// known findings (builders.KnownFinding) explains.
func Unrecognised(run results.Run) []string {
	var known []*builders.KnownFinding
	for _, d := range all.Builders {
		if d.Name == run.Builder {
			for i := range d.KnownFindings {
				known = append(known, &d.KnownFindings[i])
			}
		}
	}
	var out []string
	for _, f := range run.Findings {
		if !slices.ContainsFunc(known, func(k *builders.KnownFinding) bool { return k.Change == run.Change && k.Text.MatchString(f) }) {
			out = append(out, f)
		}
	}
	return out
}
