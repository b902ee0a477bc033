package scenarios

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
)

// The miss reasons the cases share.
const (
	follows = WhyFollows
	newBase = whyBase
)

// builtinArgs are the build arguments every built-in workload gets.
var builtinArgs = []string{BaseRegistryArg + "=registry.test:5000"}

// TestExpectCacheInstructions checks what is listed for the built-in
// workloads: every instruction after a FROM, its text as a builder logs it
// (line continuations included), under its stage.
func TestExpectCacheInstructions(t *testing.T) {
	want := map[string][]string{
		"gobuild": {
			"build: WORKDIR /src",
			"build: ENV CGO_ENABLED=0 GOFLAGS=-trimpath",
			"build: COPY go.mod go.sum ./",
			"build: RUN go mod download && go build github.com/prometheus/client_golang/prometheus/promhttp github.com/spf13/cobra",
			"build: COPY . .",
			"build: ARG BUILD_ID=dev",
			`build: RUN go build -ldflags "-X main.buildID=${BUILD_ID}" -o /out/server ./cmd/server`,
			"1: COPY --from=build /out/server /usr/local/bin/server",
			`1: ENTRYPOINT ["/usr/local/bin/server"]`,
		},
		"node": {
			"0: WORKDIR /app",
			"0: COPY package.json package-lock.json ./",
			"0: RUN npm ci --no-audit --no-fund",
			"0: COPY tsconfig.json ./",
			"0: COPY src/ ./src/",
			"0: ARG BUILD_ID=dev",
			`0: RUN printf 'export const buildId = "%s";\n' "${BUILD_ID}" >src/build-id.ts && npm run build`,
			`0: CMD ["node", "dist/server.js"]`,
		},
		"manyfiles": {
			"0: COPY src/ /src/",
			"0: RUN cd /src && find . -type f | sort | xargs sha256sum >/src.sha256 && wc -l </src.sha256",
			`0: CMD ["cat", "/src.sha256"]`,
		},
		"small": {
			"0: RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 && rm -rf /var/lib/apt/lists/*",
			"0: COPY app/ /app/",
			`0: CMD ["python3", "/app/main.py"]`,
		},
	}
	for name, want := range want {
		got := expectBuiltin(t, name, ChangeNone, nil)
		var lines []string
		for _, e := range got {
			lines = append(lines, e.Stage+": "+e.Instruction)
		}
		if !slices.Equal(lines, want) {
			t.Errorf("%s: got\n\t%s\nwant\n\t%s", name, strings.Join(lines, "\n\t"), strings.Join(want, "\n\t"))
		}
	}
}

// TestExpectCacheWorkloads runs the built-in workloads through every change.
// want has one entry per instruction (see TestExpectCacheInstructions for
// the lists): "" for a hit, else why it misses.
func TestExpectCacheWorkloads(t *testing.T) {
	tests := []struct {
		workload string
		change   Change
		changed  []string
		want     []string
	}{
		{"gobuild", ChangeNone, nil, []string{"", "", "", "", "", "", "", "", ""}},
		{"gobuild", ChangeStamp, nil, []string{"", "", "", "", "", "",
			"the stamp argument BUILD_ID is declared before it",
			"copies from stage build, which changed", follows}},
		{"gobuild", ChangeSource, []string{"cmd/server/main.go"}, []string{"", "", "", "",
			"copies cmd/server/main.go, which the change edited", follows, follows,
			"copies from stage build, which changed", follows}},
		{"gobuild", ChangeDeps, []string{"go.mod"}, []string{"", "",
			"copies go.mod, which the change edited", follows, follows, follows, follows,
			"copies from stage build, which changed", follows}},
		{"gobuild", ChangeBase, nil, []string{newBase, follows, follows, follows, follows, follows, follows,
			newBase, follows}},

		{"node", ChangeNone, nil, []string{"", "", "", "", "", "", "", ""}},
		{"node", ChangeStamp, nil, []string{"", "", "", "", "", "",
			"the stamp argument BUILD_ID is declared before it", follows}},
		{"node", ChangeSource, []string{"src/server.ts"}, []string{"", "", "", "",
			"copies src/server.ts, which the change edited", follows, follows, follows}},
		{"node", ChangeDeps, []string{"package.json"}, []string{"",
			"copies package.json, which the change edited", follows, follows, follows, follows, follows, follows}},
		{"node", ChangeBase, nil, []string{newBase, follows, follows, follows, follows, follows, follows, follows}},

		{"manyfiles", ChangeNone, nil, []string{"", "", ""}},
		// manyfiles has no stamp argument and no dependency manifest.
		{"manyfiles", ChangeStamp, nil, []string{"", "", ""}},
		{"manyfiles", ChangeSource, []string{"src/m042/f04217.js"}, []string{
			"copies src/m042/f04217.js, which the change edited", follows, follows}},
		{"manyfiles", ChangeDeps, nil, []string{"", "", ""}},
		{"manyfiles", ChangeBase, nil, []string{newBase, follows, follows}},

		{"small", ChangeNone, nil, []string{"", "", ""}},
		{"small", ChangeStamp, nil, []string{"", "", ""}},
		{"small", ChangeSource, []string{"app/main.py"}, []string{"",
			"copies app/main.py, which the change edited", follows}},
		{"small", ChangeDeps, nil, []string{"", "", ""}},
		{"small", ChangeBase, nil, []string{newBase, follows, follows}},
		// A file the Dockerfile does not copy changes nothing.
		{"small", ChangeSource, []string{"README.md"}, []string{"", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.workload+"/"+string(tt.change), func(t *testing.T) {
			got := expectBuiltin(t, tt.workload, tt.change, tt.changed)
			checkWhy(t, got, tt.want)
		})
	}
}

// TestExpectCacheCause checks each instruction's own cause of a miss,
// which stays known after a miss: a copied edited file, the stamp, a stage's
// new base or changed stage; "" where only following a miss would make it
// miss.
func TestExpectCacheCause(t *testing.T) {
	for _, tt := range []struct {
		workload string
		change   Change
		changed  []string
		want     []string
	}{
		{"gobuild", ChangeStamp, nil, []string{"", "", "", "", "", "",
			"the stamp argument BUILD_ID is declared before it",
			"copies from stage build, which changed", ""}},
		// COPY . . copies go.mod too.
		{"gobuild", ChangeDeps, []string{"go.mod"}, []string{"", "",
			"copies go.mod, which the change edited", "", "copies go.mod, which the change edited", "", "",
			"copies from stage build, which changed", ""}},
		{"gobuild", ChangeBase, nil, []string{newBase, "", "", "", "", "", "", newBase, ""}},
		{"node", ChangeDeps, []string{"package.json"}, []string{"",
			"copies package.json, which the change edited", "", "", "", "", "", ""}},
		{"node", ChangeNone, nil, []string{"", "", "", "", "", "", "", ""}},
	} {
		t.Run(tt.workload+"/"+string(tt.change), func(t *testing.T) {
			var got []string
			for _, e := range expectBuiltin(t, tt.workload, tt.change, tt.changed) {
				got = append(got, e.Cause)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(quoteAll(got), "\n\t"), strings.Join(quoteAll(tt.want), "\n\t"))
			}
		})
	}
}

// expectBuiltin predicts the cache use of a built-in workload, loaded as
// the benchmark loads it.
func expectBuiltin(t *testing.T, name string, change Change, changed []string) []ExpectedInstruction {
	t.Helper()
	ws, err := SelectWorkloads([]string{name})
	if err != nil {
		t.Fatal(err)
	}
	w := ws[0]
	dockerfile, err := fs.ReadFile(w.Files, w.Dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ExpectCache(dockerfile, append(slices.Clone(builtinArgs), w.BuildArgs...), w.Context, change, changed, w.StampArg)
	if err != nil {
		t.Fatalf("ExpectCache: %v", err)
	}
	return got
}

// checkWhy compares the predictions with want, one entry per instruction:
// "" for a hit, else the reason of the miss.
func checkWhy(t *testing.T, got []ExpectedInstruction, want []string) {
	t.Helper()
	var why []string
	for _, e := range got {
		if e.Cached != (e.Why == "") {
			t.Errorf("%s: Cached %v with Why %q", e.Instruction, e.Cached, e.Why)
		}
		why = append(why, e.Why)
	}
	if !slices.Equal(why, want) {
		t.Errorf("got\n\t%s\nwant\n\t%s", render(got), strings.Join(quoteAll(want), "\n\t"))
	}
}

func render(got []ExpectedInstruction) string {
	var lines []string
	for _, e := range got {
		lines = append(lines, fmt.Sprintf("%s: %-40.40s %q", e.Stage, e.Instruction, e.Why))
	}
	return strings.Join(lines, "\n\t")
}

func quoteAll(s []string) []string {
	var out []string
	for _, v := range s {
		out = append(out, fmt.Sprintf("%q", v))
	}
	return out
}

// multiStage has a named stage, an unnamed one built on it, a stage from
// another image and a final stage from scratch copying from stages by name
// and by index; its context is svc/ in the repository.
const multiStage = `FROM golang:1.26 AS deps
WORKDIR /src
COPY go.* ./
RUN go mod download
FROM deps
COPY *.go ./
COPY internal/ ./internal/
RUN go build -o /app .
FROM alpine:3 AS tools
RUN apk add --no-cache ca-certificates
FROM scratch
COPY --from=tools /etc/ssl/certs /etc/ssl/certs
COPY --from=1 /app /app
COPY /docs/README.md /README.md
`

func TestExpectCacheDockerfiles(t *testing.T) {
	tests := []struct {
		name       string
		dockerfile string
		context    string
		change     Change
		changed    []string
		stampArg   string
		want       []string
	}{
		{
			name:       "glob source in a sub-directory context",
			dockerfile: multiStage, context: "svc", change: ChangeSource, changed: []string{"svc/main.go"},
			want: []string{"", "", "",
				"copies svc/main.go, which the change edited", follows, follows,
				"",
				"", "copies from stage 1, which changed", follows},
		},
		{
			name:       "glob dependency file invalidates the stage built on it",
			dockerfile: multiStage, context: "svc", change: ChangeDeps, changed: []string{"svc/go.sum"},
			want: []string{"", "copies svc/go.sum, which the change edited", follows,
				"builds on stage deps, which changed", follows, follows,
				"",
				"", "copies from stage 1, which changed", follows},
		},
		{
			name:       "directory source",
			dockerfile: multiStage, context: "./svc/", change: ChangeSource, changed: []string{"svc/internal/db/db.go"},
			want: []string{"", "", "",
				"", "copies svc/internal/db/db.go, which the change edited", follows,
				"",
				"", "copies from stage 1, which changed", follows},
		},
		{
			name:       "a file outside the context affects nothing",
			dockerfile: multiStage, context: "svc", change: ChangeSource, changed: []string{"main.go", "docs/README.md"},
			want: []string{"", "", "", "", "", "", "", "", "", ""},
		},
		{
			name:       "absolute source is rooted at the context",
			dockerfile: multiStage, context: "svc", change: ChangeSource, changed: []string{"svc/docs/README.md"},
			want: []string{"", "", "", "", "", "", "", "", "",
				"copies svc/docs/README.md, which the change edited"},
		},
		{
			name:       "base change spares scratch but not what it copies",
			dockerfile: multiStage, context: "svc", change: ChangeBase,
			want: []string{newBase, follows, follows,
				"builds on stage deps, which changed", follows, follows,
				newBase,
				"copies from stage tools, which changed", follows, follows},
		},
		{
			name:       "changed files count only for source and deps",
			dockerfile: multiStage, context: "svc", change: ChangeNone, changed: []string{"svc/main.go"},
			want: []string{"", "", "", "", "", "", "", "", "", ""},
		},
		{
			name: "stamp declared among other arguments, inherited by a child stage",
			dockerfile: `FROM debian:bookworm AS prep
RUN apt-get update
ARG VERSION=1 BUILD_ID
FROM prep
COPY --from=prep /etc/os-release /tmp/
RUN echo "$BUILD_ID"
CMD ["true"]
`,
			context: ".", change: ChangeStamp, stampArg: "BUILD_ID",
			want: []string{"", "",
				"", "the stamp argument BUILD_ID is declared before it", follows},
		},
		{
			name: "stamp argument declared in another stage only",
			dockerfile: `FROM debian:bookworm AS a
ARG BUILD_ID
FROM debian:bookworm
RUN echo "$BUILD_ID"
`,
			context: ".", change: ChangeStamp, stampArg: "BUILD_ID",
			want: []string{"", ""},
		},
		{
			name: "ADD from a URL and COPY --from an image",
			dockerfile: `FROM debian:bookworm
ADD https://example.com/app.tar.gz /tmp/
COPY --from=busybox:1 /bin/busybox /bin/
ADD app.tar.gz /srv/
`,
			context: ".", change: ChangeSource, changed: []string{"app.tar.gz"},
			want: []string{"", "", "copies app.tar.gz, which the change edited"},
		},
		{
			name:       "whole context",
			dockerfile: "FROM debian:bookworm\nWORKDIR /x\nCOPY ./ .\n",
			context:    "app", change: ChangeSource, changed: []string{"app/deep/down/file.txt"},
			want: []string{"", "copies app/deep/down/file.txt, which the change edited"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ExpectCache([]byte(tt.dockerfile), nil, tt.context, tt.change, tt.changed, tt.stampArg)
			if err != nil {
				t.Fatalf("ExpectCache: %v", err)
			}
			checkWhy(t, got, tt.want)
		})
	}
}

func TestExpectCacheStages(t *testing.T) {
	got, err := ExpectCache([]byte(multiStage), nil, "svc", ChangeNone, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	var stages []string
	for _, e := range got {
		stages = append(stages, e.Stage)
	}
	want := []string{"deps", "deps", "deps", "1", "1", "1", "tools", "3", "3", "3"}
	if !slices.Equal(stages, want) {
		t.Errorf("stages %q, want %q", stages, want)
	}
}

func TestExpectCacheErrors(t *testing.T) {
	tests := []struct {
		name       string
		dockerfile string
		buildArgs  []string
		context    string
		change     Change
		changed    []string
		want       string
	}{
		{name: "no FROM", dockerfile: "RUN true\n", want: "parse Dockerfile: no FROM instruction"},
		{name: "malformed FROM", dockerfile: "FROM debian AS\nRUN true\n", want: "parse Dockerfile: "},
		{name: "COPY without a destination", dockerfile: "FROM debian\nCOPY a\n", want: "parse Dockerfile: "},
		{name: "unknown change", dockerfile: "FROM debian\n", change: "rebase", want: `unknown change pattern "rebase"`},
		{name: "bad build argument", dockerfile: "FROM debian\n", buildArgs: []string{"NOVALUE"}, want: `build argument "NOVALUE"`},
		{name: "context outside the repository", dockerfile: "FROM debian\n", context: "../x", change: ChangeSource, want: "outside the repository"},
		{
			name: "bad pattern", dockerfile: "FROM debian\nCOPY [a /x\n", change: ChangeSource, changed: []string{"a"},
			want: "stage 0: COPY [a /x: source [a: syntax error in pattern",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			change, context := tt.change, tt.context
			if change == "" {
				change = ChangeNone
			}
			if context == "" {
				context = "."
			}
			_, err := ExpectCache([]byte(tt.dockerfile), tt.buildArgs, context, change, tt.changed, "")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
