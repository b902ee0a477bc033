package measure

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/cachebench/cachebench/results"
)

// Instruction texts shared by several logs.
const (
	smallApt  = "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 && rm -rf /var/lib/apt/lists/*"
	webappApt = "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends jq && rm -rf /var/lib/apt/lists/*"
	webappGo  = "RUN CGO_ENABLED=0 go build -trimpath -o /out/hello ."
	nodeNpm   = "RUN npm ci --no-audit --no-fund"
)

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
		read func([]LogLine) results.BuildLog
		want []results.InstructionCache
	}{
		// kaniko looks up RUN instructions only (no --cache-copy-layers), all of a
		// stage's before running it, and none after the first miss.
		{"kaniko-gobuild-registry-warm.log", Kaniko, []results.InstructionCache{
			hit("RUN go mod download"),
			miss(`RUN CGO_ENABLED=0 go build -trimpath -ldflags "-X main.buildID=${BUILD_ID}" -o /out/server ./cmd/server`),
		}},
		// The message is JSON-decoded; kaniko logs the RUN before
		// expanding the build argument.
		{"kaniko-node-registry-warm1.log", Kaniko, []results.InstructionCache{
			hit(nodeNpm),
			miss(`RUN printf 'export const buildId = "%s";\n' "${BUILD_ID}" >src/build-id.ts && npm run build`),
		}},
		// Two stages, each looked up on its own: the COPY steps between
		// the RUNs of the second stage are not.
		{"kaniko-webapp-registry-warm1.log", Kaniko, []results.InstructionCache{
			hit(webappGo), hit(webappApt), hit("RUN /scripts/check.sh"),
		}},
		// After its stage's first miss kaniko stops asking: check.sh ran
		// and was pushed to the cache but never looked up.
		{"kaniko-webapp-registry-cold0.log", Kaniko, []results.InstructionCache{
			miss(webappGo), miss(webappApt),
		}},
		// --cache=false: no lookups.
		{"kaniko-node-none-warm1.log", Kaniko, nil},
		// A step served by the remote cache whose layer the next step (a
		// miss) needs is never CACHED: BuildKit pulls and extracts its
		// blobs under it and ends it DONE. It did not run.
		{"buildkit-gobuild-source-registry-warm1.log", BuildKit, []results.InstructionCache{
			hit("COPY go.mod go.sum ./"), hit("WORKDIR /src"),
			hit("RUN go mod download && go build github.com/prometheus/client_golang/prometheus/promhttp github.com/spf13/cobra"),
			miss("COPY . ."), miss(`RUN go build -ldflags "-X main.buildID=change-first" -o /out/server ./cmd/server`),
			miss("COPY --from=build /out/server /usr/local/bin/server"),
		}},

		{"buildkit-registry-warm1.log", BuildKit, []results.InstructionCache{
			hit(smallApt), hit("COPY app/ /app/"),
		}},
		{"buildkit-pv-warm-cold0.log", BuildKit, []results.InstructionCache{
			miss(smallApt), miss("COPY app/ /app/"),
		}},
		// Vertices in the order BuildKit first printed them (WORKDIR after
		// the COPYs); COPY src/ is CACHED, then DONE as its layer is pulled
		// for the last step, which missed. BuildKit logs the RUN with the
		// build argument expanded.
		{"buildkit-node-registry-warm1.log", BuildKit, []results.InstructionCache{
			hit("COPY package.json package-lock.json ./"),
			hit(nodeNpm),
			hit("COPY tsconfig.json ./"),
			hit("WORKDIR /app"),
			hit("COPY src/ ./src/"),
			miss(`RUN printf 'export const buildId = "%s";\n' "issue10-first-10" >src/build-id.ts && npm run build`),
		}},
		// Multi-stage: "[stage-1 3/5] COPY --from=build ...".
		{"buildkit-webapp-registry-warm1.log", BuildKit, []results.InstructionCache{
			hit(webappApt),
			hit(webappGo),
			hit("COPY --from=build /out/hello /usr/local/bin/hello"),
			hit("WORKDIR /src"),
			hit("COPY go.mod main.go ./"),
			hit("COPY scripts/ /scripts/"),
			hit("RUN /scripts/check.sh"),
		}},

		// Buildah looks up every step, CMD too.
		{"buildah-registry-warm1.log", Buildah, []results.InstructionCache{
			hit(smallApt), hit("COPY app/ /app/"), hit(`CMD ["python3", "/app/main.py"]`),
		}},
		{"buildah-registry-cold0.log", Buildah, []results.InstructionCache{
			miss(smallApt), miss("COPY app/ /app/"), miss(`CMD ["python3", "/app/main.py"]`),
		}},
		{"buildah-pv-warm-cold0.log", Buildah, []results.InstructionCache{
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

// Early kaniko releases said "No cached layer found, executing command...",
// naming no command: still a miss, but there is nothing to list.
func TestKanikoLookupWithoutCommand(t *testing.T) {
	b := Kaniko(ParseTimestamped(`{"level":"info","msg":"No cached layer found, executing command..."}`))
	if b.CacheMisses != 1 || b.Instructions != nil {
		t.Fatalf("misses %d, instructions %v", b.CacheMisses, b.Instructions)
	}
}

// readTestLog parses a recorded builder log of testdata with read.
func readTestLog(t *testing.T, file string, read func([]LogLine) results.BuildLog) results.BuildLog {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	return read(ParseTimestamped(string(data)))
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
