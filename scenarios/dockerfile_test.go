package scenarios

import (
	"strconv"
	"strings"
	"testing"
)

func TestBaseImages(t *testing.T) {
	tests := []struct {
		name       string
		dockerfile string
		buildArgs  []string
		want       []string // image@line
		wantErr    string
	}{
		{
			name:       "one stage",
			dockerfile: "FROM debian:bookworm-slim\nRUN true\n",
			want:       []string{"debian:bookworm-slim@1"},
		},
		{
			name: "stage alias and scratch are not images",
			dockerfile: `# comment
FROM golang:1.26-bookworm AS Build
RUN go version
FROM build AS test
FROM scratch
COPY --from=build /x /x
`,
			want: []string{"golang:1.26-bookworm@2"},
		},
		{
			name:       "ARG default, then a build argument overrides it",
			dockerfile: "ARG REG=docker.io\nARG TAG=bookworm\nFROM ${REG}/library/debian:$TAG\n",
			buildArgs:  []string{"TAG=trixie"},
			want:       []string{"docker.io/library/debian:trixie@3"},
		},
		{
			name:       "ARG default built from an earlier ARG",
			dockerfile: "ARG V=1.26\nARG IMG=golang:${V}-bookworm\nFROM $IMG\n",
			want:       []string{"golang:1.26-bookworm@3"},
		},
		{
			name:       "platform flag and line continuation",
			dockerfile: "FROM --platform=$BUILDPLATFORM \\\n  debian:bookworm AS x\n",
			want:       []string{"debian:bookworm@1"},
		},
		{
			name:       "an ARG without value",
			dockerfile: "ARG BASE\nFROM ${BASE}\n",
			wantErr:    "BASE has no value: give it with --build-arg BASE=",
		},
		{
			name:       "no FROM",
			dockerfile: "RUN true\n",
			wantErr:    "FROM",
		},
		{
			name:       "bad build argument",
			dockerfile: "FROM debian\n",
			buildArgs:  []string{"NOVALUE"},
			wantErr:    `build argument "NOVALUE": want KEY=VALUE`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BaseImages([]byte(tt.dockerfile), tt.buildArgs)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var gotS []string
			for _, f := range got {
				gotS = append(gotS, f.Image+"@"+itoa(f.Line))
			}
			if strings.Join(gotS, " ") != strings.Join(tt.want, " ") {
				t.Errorf("got %v, want %v", gotS, tt.want)
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestRewriteBases(t *testing.T) {
	in := `# syntax=docker/dockerfile:1
ARG TAG=bookworm
FROM --platform=$BUILDPLATFORM \
    golang:1.26-${TAG} AS build
RUN go build -o /out/app .
FROM build AS test
FROM debian:${TAG}-slim
COPY --from=build /out/app /app
`
	repos := map[string]string{"golang:1.26-bookworm": "base/golang:1.26.8-bookworm", "debian:bookworm-slim": "base/debian:bookworm"}
	out, err := RewriteBases([]byte(in), nil, repos)
	if err != nil {
		t.Fatal(err)
	}
	want := `
ARG TAG=bookworm
ARG BASE_REGISTRY
FROM --platform=$BUILDPLATFORM ${BASE_REGISTRY}/base/golang:1.26.8-bookworm AS build

RUN go build -o /out/app .
FROM build AS test
FROM ${BASE_REGISTRY}/base/debian:bookworm
COPY --from=build /out/app /app
`
	if string(out) != want {
		t.Errorf("rewritten:\n%s\nwant:\n%s", out, want)
	}
	// What the builders will see: the same stages, every base from the registry argument.
	bases, err := BaseImages(out, []string{"BASE_REGISTRY=upstream:5000"})
	if err != nil {
		t.Fatal(err)
	}
	if len(bases) != 2 || bases[0].Image != "upstream:5000/base/golang:1.26.8-bookworm" || bases[1].Image != "upstream:5000/base/debian:bookworm" {
		t.Errorf("bases after the rewrite: %+v", bases)
	}
	if _, err := RewriteBases([]byte("FROM alpine:3\n"), nil, repos); err == nil || !strings.Contains(err.Error(), "alpine:3") {
		t.Errorf("an image without a repository: err = %v", err)
	}
}
