package bench

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cachebench/cachebench/builders/buildkit"
	"github.com/cachebench/cachebench/builders/kaniko"
	"github.com/cachebench/cachebench/measure"
	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/scenarios"
)

func expectFor(t *testing.T, workload string, c scenarios.Change) []scenarios.ExpectedInstruction {
	t.Helper()
	ws, err := scenarios.SelectWorkloads([]string{workload})
	if err != nil {
		t.Fatal(err)
	}
	w := ws[0]
	df, err := fs.ReadFile(w.Files, w.Dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	var changed []string
	if f := w.ChangedFile(c); f != "" {
		changed = []string{f}
	}
	e, err := scenarios.ExpectCache(df, []string{"BASE_REGISTRY=upstream:5000"}, w.Context, c, changed, w.StampArg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestCacheFindingsOnRealLogs judges recorded warm runs of node (stamped,
// with a registry cache) against the stamp change: kaniko and BuildKit
// both did what the change predicts, and BuildKit's RUN line, logged with
// the stamp's value put in, still matches the Dockerfile's.
func TestCacheFindingsOnRealLogs(t *testing.T) {
	for _, tt := range []struct {
		log    string
		read   func([]measure.LogLine) results.BuildLog
		change scenarios.Change
		want   []string
	}{
		{"kaniko-node-registry-warm1.log", kaniko.Kaniko{}.ReadLog, scenarios.ChangeStamp, nil},
		{"buildkit-node-registry-warm1.log", buildkit.BuildKit{}.ReadLog, scenarios.ChangeStamp, nil},
		// The same logs judged as if nothing had changed: the stamped
		// build ran, which a rebuild of the same commit should not.
		{"kaniko-node-registry-warm1.log", kaniko.Kaniko{}.ReadLog, scenarios.ChangeNone, []string{`"RUN printf 'export const buildId = \"%s\";\\n' \"${BUILD_ID}\" >src/build-id.ts && npm run build" ran`}},
		{"buildkit-node-registry-warm1.log", buildkit.BuildKit{}.ReadLog, scenarios.ChangeNone, []string{`"RUN printf 'export const buildId = \"%s\";\\n' \"${BUILD_ID}\" >src/build-id.ts && npm run build" ran`}},
		// ... and as if the dependency manifest had changed: npm ci came
		// from the cache, which the change should have made it run; judged
		// on that cached layer, the stamped build should then have been
		// served too.
		{"kaniko-node-registry-warm1.log", kaniko.Kaniko{}.ReadLog, scenarios.ChangeDeps, []string{
			`"RUN npm ci --no-audit --no-fund" came from the cache; expected to run (follows a missed instruction)`,
			`"RUN printf 'export const buildId = \"%s\";\\n' \"${BUILD_ID}\" >src/build-id.ts && npm run build" ran`}},
	} {
		t.Run(tt.log+"/"+string(tt.change), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "builders", "testdata", tt.log))
			if err != nil {
				t.Fatal(err)
			}
			b := tt.read(measure.ParseTimestamped(string(data)))
			if len(b.Instructions) == 0 {
				t.Fatal("no instructions read from the log")
			}
			got := CacheFindings(expectFor(t, "node", tt.change), b.Instructions)
			if len(got) != len(tt.want) {
				t.Fatalf("findings:\n%s\nwant %d:\n%s", strings.Join(got, "\n"), len(tt.want), strings.Join(tt.want, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("finding %d:\n%s\nwant it to start\n%s", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestCacheFindingsMatchesInOrder(t *testing.T) {
	expected := []scenarios.ExpectedInstruction{
		{Instruction: "RUN make", Cached: true},
		{Instruction: "COPY . .", Cached: false, Why: "copies main.go, which the change edited", Cause: "copies main.go, which the change edited"},
		{Instruction: "RUN make", Cached: false, Why: "follows a missed instruction"},
	}
	logged := []results.InstructionCache{{Instruction: "RUN make", Cached: true}, {Instruction: "RUN make", Cached: true}, {Instruction: "RUN other", Cached: true}}
	got := CacheFindings(expected, logged)
	want := []string{`"RUN make" came from the cache; expected to run (follows a missed instruction)`}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestCacheFindingsJudgesOnWhatRan checks that each instruction is judged
// on what the builder did before it in its stage: one surprise is one
// finding, and an instruction with a cause of its own is still judged.
func TestCacheFindingsJudgesOnWhatRan(t *testing.T) {
	edited := "copies main.go, which the change edited"
	hit := func(s ...string) []results.InstructionCache {
		var out []results.InstructionCache
		for _, i := range s {
			out = append(out, results.InstructionCache{Instruction: strings.TrimPrefix(i, "-"), Cached: !strings.HasPrefix(i, "-")})
		}
		return out
	}
	for _, tt := range []struct {
		name     string
		expected []scenarios.ExpectedInstruction
		logged   []results.InstructionCache // "-X": X ran
		want     []string
	}{
		{"a miss where all hit: the rest follow it",
			[]scenarios.ExpectedInstruction{{Instruction: "RUN a", Cached: true}, {Instruction: "RUN b", Cached: true}, {Instruction: "RUN c", Cached: true}},
			hit("-RUN a", "-RUN b", "-RUN c"),
			[]string{`"RUN a" ran; expected from the cache`}},
		{"a hit where all miss: the rest stand on it",
			[]scenarios.ExpectedInstruction{
				{Instruction: "COPY . .", Why: edited, Cause: edited},
				{Instruction: "RUN b", Why: scenarios.WhyFollows},
				{Instruction: "RUN c", Why: scenarios.WhyFollows}},
			hit("COPY . .", "RUN b", "RUN c"),
			[]string{`"COPY . ." came from the cache; expected to run (` + edited + ")"}},
		{"after a surprise hit, a cause of its own still counts, and the next stands on the hit",
			[]scenarios.ExpectedInstruction{
				{Instruction: "RUN a", Why: "the base image has a new digest", Cause: "the base image has a new digest"},
				{Instruction: "COPY . .", Why: scenarios.WhyFollows, Cause: edited},
				{Instruction: "RUN c", Why: scenarios.WhyFollows}},
			hit("RUN a", "COPY . .", "-RUN c"),
			[]string{
				`"RUN a" came from the cache; expected to run (the base image has a new digest)`,
				`"COPY . ." came from the cache; expected to run (` + edited + ")",
				`"RUN c" ran; expected from the cache`}},
		{"an instruction not looked up counts as predicted",
			[]scenarios.ExpectedInstruction{
				{Instruction: "RUN a", Cached: true},
				{Instruction: "COPY . .", Why: edited, Cause: edited},
				{Instruction: "RUN c", Why: scenarios.WhyFollows}},
			hit("RUN a", "RUN c"),
			[]string{`"RUN c" came from the cache; expected to run (follows a missed instruction)`}},
		{"stages are judged apart",
			[]scenarios.ExpectedInstruction{
				{Stage: "build", Instruction: "RUN a", Cached: true},
				{Stage: "1", Instruction: "RUN b", Cached: true}},
			hit("-RUN a", "RUN b"),
			[]string{`"RUN a" ran; expected from the cache`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := CacheFindings(tt.expected, tt.logged); !slices.Equal(got, tt.want) {
				t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(tt.want, "\n\t"))
			}
		})
	}
}

func TestChangeLineByFileKind(t *testing.T) {
	for file, want := range map[string]string{
		"cmd/server/main.go": "// cachebench change r-1",
		"go.mod":             "// cachebench change r-1",
		"app/main.py":        "# cachebench change r-1",
		"requirements.txt":   "# cachebench change r-1",
		"pom.xml":            "<!-- cachebench change r-1 -->",
		"package.json":       "",
		"src/m000/f00000.js": "// cachebench change r-1",
	} {
		if got := scenarios.ChangeLine(file, "r-1"); got != want {
			t.Errorf("%s: %q, want %q", file, got, want)
		}
	}
}
