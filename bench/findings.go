package bench

import (
	"regexp"

	"github.com/cachebench/cachebench/results"
)

// knownFinding is a finding the harness has met, understood and
// documented: a builder's behaviour, not the harness's fault. CI's smoke
// fails on any other, as it does on a contradiction, so that a new one is
// read before it is believed.
type knownFinding struct {
	builder, change string
	text            *regexp.Regexp
	// why says what the builder does, where it is written up.
	why string
}

var knownFindings = []knownFinding{
	{
		builder: "buildah", change: "base",
		text: regexp.MustCompile(`^".*" came from the cache; expected to run \(the base image has a new digest\)$`),
		why:  "Buildah's layer cache serves a RUN after the base changed digest with the same layers (docs/image-check.md)",
	},
	{
		builder: "buildah", change: "base",
		text: regexp.MustCompile(`^the image's configuration is not the new base's: .* \(the build kept an earlier base's configuration\)$`),
		why:  "Buildah's image keeps the earlier base's configuration when its cache serves the build (docs/image-check.md)",
	},
}

// Unrecognised returns the run's findings that no known finding explains.
func Unrecognised(run results.Run) []string {
	var out []string
	for _, f := range run.Findings {
		known := false
		for _, k := range knownFindings {
			if k.builder == run.Builder && k.change == run.Change && k.text.MatchString(f) {
				known = true
				break
			}
		}
		if !known {
			out = append(out, f)
		}
	}
	return out
}
