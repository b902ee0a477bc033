package bench

import (
	"slices"
	"testing"

	"github.com/cachebench/cachebench/results"
)

// TestUnrecognisedFindings: the findings of Buildah's warm run after a base
// change, as CI's smoke logged them, are known; the same words from
// another builder or change, or other words, are not.
func TestUnrecognisedFindings(t *testing.T) {
	buildah := []string{
		`"RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends hello && rm -rf /var/lib/apt/lists/*" came from the cache; expected to run (the base image has a new digest)`,
		`the image's configuration is not the new base's: its label dev.cachebench.change is "", this run's base has "20261205-195753-44" (the build kept an earlier base's configuration)`,
	}
	other := `"CMD [\"sh\", \"/app/greet.sh\"]" ran; expected from the cache`
	for _, tt := range []struct {
		builder, change string
		findings, want  []string
	}{
		{"buildah", "base", buildah, nil},
		{"buildah", "base", append([]string{other}, buildah...), []string{other}},
		{"kaniko", "base", buildah, buildah},
		{"buildah", "source", buildah[:1], buildah[:1]},
		{"buildkit", "none", nil, nil},
	} {
		got := Unrecognised(results.Run{Coordinates: results.Coordinates{Builder: tt.builder, Change: tt.change}, Findings: tt.findings})
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s after a %s change: unrecognised %q, want %q", tt.builder, tt.change, got, tt.want)
		}
	}
}
