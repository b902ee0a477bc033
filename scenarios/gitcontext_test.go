package scenarios

import (
	"slices"
	"testing"
	"testing/fstest"
)

func TestGitCopies(t *testing.T) {
	const from = "FROM debian:bookworm\n"
	tests := []struct {
		name       string
		dockerfile string
		ignore     string // the .dockerignore at the root; "" for none
		context    string
		want       []string
	}{
		{"the whole context", from + "COPY . .\n", "", ".", []string{"line 2: COPY . ."}},
		{"the whole context, as ./", from + "WORKDIR /src\nCOPY ./ /src/\n", "", ".", []string{"line 3: COPY ./ /src/"}},
		{"a wildcard", from + "COPY * /src/\n", "", ".", []string{"line 2: COPY * /src/"}},
		{"ADD", from + "ADD . /src\n", "", ".", []string{"line 2: ADD . /src"}},
		{"every stage", from + "COPY . .\nFROM debian:bookworm\nCOPY . /x\n", "", ".", []string{"line 2: COPY . .", "line 4: COPY . /x"}},
		{"ignored", from + "COPY . .\n", "# not the clone's\n.git\n", ".", nil},
		{"ignored at any depth", from + "COPY . .\n", "**/.git\n", ".", nil},
		{"ignored, then let back in", from + "COPY . .\n", ".git\n!.git/index\n", ".", []string{"line 2: COPY . ."}},
		{"an ignore file for other things", from + "COPY . .\n", "node_modules\n*.md\n", ".", []string{"line 2: COPY . ."}},
		{"named sources", from + "COPY go.mod go.sum ./\nCOPY cmd/ ./cmd/\n", "", ".", nil},
		{"from a stage", "FROM debian:bookworm AS b\nRUN true\nFROM debian:bookworm\nCOPY --from=b . .\n", "", ".", nil},
		{"a remote ADD", from + "ADD https://example.com/x.tar.gz /x\n", "", ".", nil},
		{"a context below the root", from + "COPY . .\n", "", "svc", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := fstest.MapFS{"Dockerfile": {Data: []byte(tt.dockerfile)}}
			if tt.ignore != "" {
				files[".dockerignore"] = &fstest.MapFile{Data: []byte(tt.ignore)}
			}
			w := Workload{Name: "app", Files: files, Dockerfile: "Dockerfile", Context: tt.context}
			got, err := w.GitCopies()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("GitCopies() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestGitCopiesBuiltin: of the built-in workloads only gobuild copies its
// whole context; its COPY . . is followed by the stamped compile, which
// misses anyway.
func TestGitCopiesBuiltin(t *testing.T) {
	ws, err := Workloads()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		got, err := w.GitCopies()
		if err != nil {
			t.Fatalf("%s: %v", w.Name, err)
		}
		want := 0
		if w.Name == "gobuild" {
			want = 1
		}
		if len(got) != want {
			t.Errorf("%s: GitCopies() = %q, want %d", w.Name, got, want)
		}
	}
}

func TestGitCopiesNoDockerfile(t *testing.T) {
	w := Workload{Name: "app", Files: fstest.MapFS{}, Dockerfile: "Dockerfile", Context: "."}
	if _, err := w.GitCopies(); err == nil {
		t.Fatal("GitCopies() of a workload without its Dockerfile: no error")
	}
}
