package bench

import (
	"slices"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/builders/all"
	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/stats"
)

// Unrecognised returns the run's findings that none of its builder's
// known findings (builders.KnownFinding) explains.
func Unrecognised(run results.Run) []string {
	d, _ := all.Named(run.Builder)
	change := stats.PatternOf(run)
	var out []string
	for _, f := range run.Findings {
		if !slices.ContainsFunc(d.KnownFindings, func(k builders.KnownFinding) bool { return k.Change == change && k.Text.MatchString(f) }) {
			out = append(out, f)
		}
	}
	return out
}
