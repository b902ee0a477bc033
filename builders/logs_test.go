package builders_test

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/cachebench/cachebench/builders/buildah"
	"github.com/cachebench/cachebench/builders/buildkit"
	"github.com/cachebench/cachebench/builders/docker"
	"github.com/cachebench/cachebench/builders/kaniko"
	"github.com/cachebench/cachebench/measure"
	"github.com/cachebench/cachebench/results"
)

// Instruction texts shared by several logs.
const (
	smallApt  = "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 && rm -rf /var/lib/apt/lists/*"
	webappApt = "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends jq && rm -rf /var/lib/apt/lists/*"
	webappGo  = "RUN CGO_ENABLED=0 go build -trimpath -o /out/hello ."
	nodeNpm   = "RUN npm ci --no-audit --no-fund"
)

// The logs under testdata were recorded from real runs in a kind cluster
// (workload small; RUN instructions' apt output thinned out).
func TestBuilderLogs(t *testing.T) {
	tests := []struct {
		file                        string
		read                        func([]measure.LogLine) results.BuildLog
		hits, misses, local, pushes int
		phases                      map[string]float64
	}{
		// Registry cache imported into an empty state directory: both steps
		// cached, the base image never loaded, the cache exported again.
		{"buildkit-registry-warm1.log", buildkit.BuildKit{}.ReadLog, 2, 0, 0, 1,
			map[string]float64{"base-image": 0.3, "cache-lookup": 0.3, "push": 0.6, "cache-push": 0.8}},
		// State directory warmed with the base image: FROM is CACHED.
		{"buildkit-pv-warm-cold0.log", buildkit.BuildKit{}.ReadLog, 0, 2, 1, 0,
			map[string]float64{"base-image": 0.1, "commands": 8.8, "snapshot": 8.0, "push": 1.0}},
		{"buildah-registry-cold0.log", buildah.Buildah{}.ReadLog, 0, 3, 0, 3,
			map[string]float64{"base-image": 9.48, "commands": 16.14, "cache-push": 4.99, "snapshot": 0.97, "push": 1.11}},
		{"buildah-registry-warm1.log", buildah.Buildah{}.ReadLog, 3, 0, 0, 0,
			map[string]float64{"base-image": 7.16, "cache-lookup": 4.80, "snapshot": 0.16, "push": 0.73}},
		// Base image pulled into the volume by the warm-up pod.
		{"buildah-pv-warm-cold0.log", buildah.Buildah{}.ReadLog, 0, 3, 1, 0,
			map[string]float64{"base-image": 0.13, "commands": 13.24, "snapshot": 0.11, "push": 6.57}},
		// Docker 20.10 (Debian's docker.io): its BuildKit's progress, and
		// the pushes timed by the kubelet's timestamps. The first run of a
		// round finds no inline cache to import and goes on; the image is
		// pushed, then again as the cache.
		{"docker-registry-cold0.log", docker.Docker{}.ReadLog, 0, 2, 0, 1,
			map[string]float64{"base-image": 7.7, "cache-lookup": 0, "commands": 3.7, "snapshot": 0, "cache-push": 0.84, "push": 6.63}},
		// A fresh daemon, its cache imported: both steps CACHED, their
		// layers (the base's among them) pulled under the COPY; the base
		// is not the daemon's own.
		{"docker-registry-warm1.log", docker.Docker{}.ReadLog, 2, 0, 0, 1,
			map[string]float64{"base-image": 0, "cache-lookup": 0.2, "snapshot": 0, "cache-push": 0.33, "push": 0.33}},
		// /var/lib/docker warmed with the base: its FROM neither resolves
		// nor loads a blob (Docker 20.10 prints no CACHED for it).
		{"docker-pv-warm-cold0.log", docker.Docker{}.ReadLog, 0, 2, 1, 0,
			map[string]float64{"base-image": 0, "commands": 3.4, "snapshot": 0.3, "push": 7.73}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b := readTestLog(t, tt.file, tt.read)
			if !b.Read || b.CacheHits != tt.hits || b.CacheMisses != tt.misses || b.LocalCacheHits != tt.local || b.CachePushes != tt.pushes {
				t.Errorf("hits %d misses %d local %d pushes %d, want %d %d %d %d", b.CacheHits, b.CacheMisses, b.LocalCacheHits, b.CachePushes, tt.hits, tt.misses, tt.local, tt.pushes)
			}
			got := map[string]float64{}
			for _, p := range b.Phases {
				got[p.Name] = p.Seconds
			}
			for name, want := range tt.phases {
				if math.Abs(got[name]-want) > 0.02 {
					t.Errorf("phase %s = %.3f s, want %.2f (all: %v)", name, got[name], want, got)
				}
			}
			for name, v := range got {
				if _, ok := tt.phases[name]; !ok && v > 0.02 {
					t.Errorf("unexpected phase %s = %.3f s", name, v)
				}
			}
		})
	}
}

func hit(instr string) results.InstructionCache {
	return results.InstructionCache{Instruction: instr, Cached: true}
}

func miss(instr string) results.InstructionCache {
	return results.InstructionCache{Instruction: instr}
}

// The logs are real build logs (see TestBuilderLogs); the node and webapp
// ones come from run issue10-first, whose Dockerfiles are in
// scenarios/workloads.
func TestInstructionsFromLogs(t *testing.T) {
	tests := []struct {
		file string
		read func([]measure.LogLine) results.BuildLog
		want []results.InstructionCache
	}{
		// kaniko looks up RUN instructions only (no --cache-copy-layers), all of a
		// stage's before running it, and none after the first miss.
		{"kaniko-gobuild-registry-warm.log", kaniko.Kaniko{}.ReadLog, []results.InstructionCache{
			hit("RUN go mod download"),
			miss(`RUN CGO_ENABLED=0 go build -trimpath -ldflags "-X main.buildID=${BUILD_ID}" -o /out/server ./cmd/server`),
		}},
		// The message is JSON-decoded; kaniko logs the RUN before
		// expanding the build argument.
		{"kaniko-node-registry-warm1.log", kaniko.Kaniko{}.ReadLog, []results.InstructionCache{
			hit(nodeNpm),
			miss(`RUN printf 'export const buildId = "%s";\n' "${BUILD_ID}" >src/build-id.ts && npm run build`),
		}},
		// Two stages, each looked up on its own: the COPY steps between
		// the RUNs of the second stage are not.
		{"kaniko-webapp-registry-warm1.log", kaniko.Kaniko{}.ReadLog, []results.InstructionCache{
			hit(webappGo), hit(webappApt), hit("RUN /scripts/check.sh"),
		}},
		// After its stage's first miss kaniko stops asking: check.sh ran
		// and was pushed to the cache but never looked up.
		{"kaniko-webapp-registry-cold0.log", kaniko.Kaniko{}.ReadLog, []results.InstructionCache{
			miss(webappGo), miss(webappApt),
		}},
		// --cache=false: no lookups.
		{"kaniko-node-none-warm1.log", kaniko.Kaniko{}.ReadLog, nil},
		// A step served by the remote cache whose layer the next step (a
		// miss) needs is never CACHED: BuildKit pulls and extracts its
		// blobs under it and ends it DONE. It did not run.
		{"buildkit-gobuild-source-registry-warm1.log", buildkit.BuildKit{}.ReadLog, []results.InstructionCache{
			hit("COPY go.mod go.sum ./"), hit("WORKDIR /src"),
			hit("RUN go mod download && go build github.com/prometheus/client_golang/prometheus/promhttp github.com/spf13/cobra"),
			miss("COPY . ."), miss(`RUN go build -ldflags "-X main.buildID=change-first" -o /out/server ./cmd/server`),
			miss("COPY --from=build /out/server /usr/local/bin/server"),
		}},

		{"buildkit-registry-warm1.log", buildkit.BuildKit{}.ReadLog, []results.InstructionCache{
			hit(smallApt), hit("COPY app/ /app/"),
		}},
		{"buildkit-pv-warm-cold0.log", buildkit.BuildKit{}.ReadLog, []results.InstructionCache{
			miss(smallApt), miss("COPY app/ /app/"),
		}},
		// Vertices in the order BuildKit first printed them (WORKDIR after
		// the COPYs); COPY src/ is CACHED, then DONE as its layer is pulled
		// for the last step, which missed. BuildKit logs the RUN with the
		// build argument expanded.
		{"buildkit-node-registry-warm1.log", buildkit.BuildKit{}.ReadLog, []results.InstructionCache{
			hit("COPY package.json package-lock.json ./"),
			hit(nodeNpm),
			hit("COPY tsconfig.json ./"),
			hit("WORKDIR /app"),
			hit("COPY src/ ./src/"),
			miss(`RUN printf 'export const buildId = "%s";\n' "issue10-first-10" >src/build-id.ts && npm run build`),
		}},
		// Multi-stage: "[stage-1 3/5] COPY --from=build ...".
		{"buildkit-webapp-registry-warm1.log", buildkit.BuildKit{}.ReadLog, []results.InstructionCache{
			hit(webappApt),
			hit(webappGo),
			hit("COPY --from=build /out/hello /usr/local/bin/hello"),
			hit("WORKDIR /src"),
			hit("COPY go.mod main.go ./"),
			hit("COPY scripts/ /scripts/"),
			hit("RUN /scripts/check.sh"),
		}},

		// Buildah looks up every step, CMD too.
		{"buildah-registry-warm1.log", buildah.Buildah{}.ReadLog, []results.InstructionCache{
			hit(smallApt), hit("COPY app/ /app/"), hit(`CMD ["python3", "/app/main.py"]`),
		}},
		{"buildah-registry-cold0.log", buildah.Buildah{}.ReadLog, []results.InstructionCache{
			miss(smallApt), miss("COPY app/ /app/"), miss(`CMD ["python3", "/app/main.py"]`),
		}},
		{"buildah-pv-warm-cold0.log", buildah.Buildah{}.ReadLog, []results.InstructionCache{
			miss(smallApt), miss("COPY app/ /app/"), miss(`CMD ["python3", "/app/main.py"]`),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b := readTestLog(t, tt.file, tt.read)
			if !reflect.DeepEqual(b.Instructions, tt.want) {
				t.Errorf("instructions:\n%s\nwant:\n%s", formatInstructions(b.Instructions), formatInstructions(tt.want))
			}
			// Every counted hit and miss is one entry.
			hits := 0
			for _, in := range b.Instructions {
				if in.Cached {
					hits++
				}
			}
			if hits != b.CacheHits || len(b.Instructions)-hits != b.CacheMisses {
				t.Errorf("%d hits and %d misses listed, counters say %d and %d", hits, len(b.Instructions)-hits, b.CacheHits, b.CacheMisses)
			}
		})
	}
}

// readTestLog parses a recorded builder log of testdata with read.
func readTestLog(t *testing.T, file string, read func([]measure.LogLine) results.BuildLog) results.BuildLog {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	return read(measure.ParseTimestamped(string(data)))
}

func formatInstructions(list []results.InstructionCache) string {
	s := ""
	for _, in := range list {
		outcome := "ran   "
		if in.Cached {
			outcome = "cached"
		}
		s += "  " + outcome + " " + in.Instruction + "\n"
	}
	return s
}
