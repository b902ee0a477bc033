package bench

import (
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/cachebench/cachebench/results"
)

// names makes what the cluster calls a benchmark's rounds and runs, from
// their coordinates.
type names struct {
	// prefix starts every name: the run id, with the session's number for
	// a resumed benchmark (its cut-off rounds' repositories and branches
	// may still be there).
	prefix string
	// start is how the benchmark's runs start, one of their coordinates.
	start string
}

// coordinates place a planned run in the benchmark.
func (n names) coordinates(s PlannedRun) results.Coordinates {
	return results.Coordinates{
		Workload: s.Workload.Name, Builder: s.Builder.Name(), Strategy: s.Strategy.Name,
		Round: s.Round, Cache: s.Cache, Attempt: s.Attempt,
		Network: s.Network.Name, Change: string(s.Change), Start: n.start,
		Concurrency: s.Concurrency, Member: s.Member,
	}
}

// roundKey is what every run of a round shares.
func (n names) roundKey(s PlannedRun) results.Coordinates { return n.coordinates(s).OfRound() }

// roundID names a round uniquely within the cluster, in lower case: the
// prefix, then its coordinates.
func (n names) roundID(s PlannedRun) string {
	return n.trimmed() + "-" + n.roundKey(s).Slug()
}

// roundPath names a round in git branches and in the upstream
// registry's repositories (its copies of the bases).
func (n names) roundPath(s PlannedRun) string { return "rounds/" + n.roundID(s) }

// imageRepo is the repository a builder's runs of a workload push their
// images to, the benchmark's own: as a team's image repository does, it
// keeps what earlier builds pushed (a cold run's push finds the base's
// layers there when an earlier run of the builder pushed them), and it is
// the builder's alone, so no builder's push is spared by another's. With
// --side-by-side, a builder's runs still go one after another, so a run's
// requests to it are told from others' by repository and time.
func (n names) imageRepo(s PlannedRun) string {
	return "bench/" + n.trimmed() + "/" + strings.Trim(results.NameChars(s.Builder.Name()), "-") + "/" + s.Workload.Name
}

// packagesRepo is where a workload's package-cache fill pushes its image.
func (n names) packagesRepo(workload string) string {
	return "bench/" + strings.Trim(results.NameChars(n.prefix+"-packages-"+workload), "-")
}

func (n names) trimmed() string { return strings.Trim(results.NameChars(n.prefix), "-") }

// imageTag tags a run's image: the image repository names the builder and
// the workload already, and a tag holds at most 128 characters, so it
// names the strategy and what tells the run apart (its number, or for a
// push its commit).
func imageTag(runID string, c results.Coordinates, run string) string {
	return fmt.Sprintf("%s-%s-%s-%s", runID, c.Builder, c.Strategy, run)
}

// ownName makes a name like the API server's for a generateName prefix
// (namePrefix and five random characters), made here where the caller
// needs it before the object exists (a Service's selector, a folder).
func ownName(s string) string {
	return namePrefix(s) + strings.ToLower(rand.Text()[:5])
}
