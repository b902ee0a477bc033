package buildah

import (
	"testing"
	"time"

	"github.com/cachebench/cachebench/measure"
)

// logAt gives each text a time, 0.5 ms apart, as kubelet stamps them.
func logAt(texts ...string) []measure.LogLine {
	t0 := time.Date(2026, 12, 7, 7, 27, 35, 0, time.UTC)
	lines := make([]measure.LogLine, len(texts))
	for i, s := range texts {
		lines[i] = measure.LogLine{Time: t0.Add(time.Duration(i) * 500 * time.Microsecond), Text: s}
	}
	return lines
}

var pullLines = []string{
	"Trying to pull registry.cachebench.svc.cluster.local:5000/base/debian:bookworm...",
	"Getting image source signatures",
	"Copying blob sha256:82f4e0e503415c61444e5095ef12c3f7d551c39479664bdc23cead703593b08c",
	"Copying config sha256:757caf892b9b9b5012e64682506e171d449ceda8515f951a750c5b94e945000b",
	"Writing manifest to image destination",
}

func concat(parts ...[]string) []string {
	var all []string
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}

// Buildah writes STEP lines to stdout and pull progress to stderr; the two
// streams are stamped apart, so a pull can be logged just before the STEP
// line of the FROM it belongs to. A pulled base image is not a local hit.
func TestReadLogBaseImageSource(t *testing.T) {
	from := []string{"STEP 1/2: FROM registry.cachebench.svc.cluster.local:5000/base/debian:bookworm"}
	run := []string{"STEP 2/2: RUN true", "COMMIT bench/smoke"}
	tests := []struct {
		name  string
		lines []string
		local int
	}{
		{"pull after its FROM", concat(from, pullLines, run), 0},
		{"pull logged before its FROM", concat(pullLines, from, run), 0},
		{"base image in the store", concat(from, run), 1},
		{"second stage's pull logged before its FROM", concat(
			[]string{"[1/2] STEP 1/2: FROM golang AS build"},
			pullLines,
			[]string{"[1/2] STEP 2/2: RUN go build ."},
			pullLines,
			[]string{"[2/2] STEP 1/2: FROM debian", "[2/2] STEP 2/2: COPY --from=build /out /out", "COMMIT bench/smoke"},
		), 0},
		{"second stage's base image in the store", concat(
			[]string{"[1/2] STEP 1/2: FROM golang AS build"},
			pullLines,
			[]string{"[1/2] STEP 2/2: RUN go build .", "[2/2] STEP 1/2: FROM debian", "[2/2] STEP 2/2: COPY --from=build /out /out", "COMMIT bench/smoke"},
		), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := readLog(logAt(tt.lines...)).LocalCacheHits; got != tt.local {
				t.Errorf("local cache hits %d, want %d", got, tt.local)
			}
		})
	}
}
