package scenarios

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestImageFiles(t *testing.T) {
	const from = "FROM debian:bookworm\n"
	commit := []string{"Dockerfile", "app/greet.sh", "app/lib/util.sh", "app.txt", "go.mod", "go.sum", "notes.md", "svc/main.go", "data.tar.gz"}
	tests := []struct {
		name       string
		dockerfile string
		ignore     string
		context    string
		// want is path in the image -> source, "+" after the source when a
		// later instruction may rewrite it, "|IN" when the image decides
		// whether the path is a directory (IN is then the file's path).
		want    []string
		skipped []string
	}{
		{"a directory's contents", from + "COPY app/ /app/\n", "", ".",
			[]string{"/app/greet.sh=app/greet.sh", "/app/lib/util.sh=app/lib/util.sh"}, nil},
		{"a directory without slashes", from + "COPY app /srv\n", "", ".",
			[]string{"/srv/greet.sh=app/greet.sh", "/srv/lib/util.sh=app/lib/util.sh"}, nil},
		{"a file to a path", from + "COPY app.txt /app.txt\n", "", ".",
			[]string{"/app.txt=app.txt|/app.txt/app.txt"}, nil},
		{"files to a directory, relative to WORKDIR", from + "WORKDIR /src\nWORKDIR sub\nCOPY go.mod go.sum ./\n", "", ".",
			[]string{"/src/sub/go.mod=go.mod", "/src/sub/go.sum=go.sum"}, nil},
		{"a pattern", from + "COPY *.md /docs/\n", "", ".",
			[]string{"/docs/notes.md=notes.md"}, nil},
		{"the whole context, less what is ignored", from + "COPY . /w\n", "*.md\napp/lib\nsvc\n*.tar.gz\n", ".",
			[]string{"/w/Dockerfile=Dockerfile", "/w/app.txt=app.txt", "/w/app/greet.sh=app/greet.sh", "/w/go.mod=go.mod", "/w/go.sum=go.sum"}, nil},
		{"a RUN after the copy", from + "COPY app.txt /a/\nRUN sed -i s/x/y/ /a/app.txt\nCOPY go.mod /a/\n", "", ".",
			[]string{"/a/app.txt=app.txt+", "/a/go.mod=go.mod"}, nil},
		{"a later copy wins", from + "COPY app.txt /x\nCOPY go.mod /x\n", "", ".",
			[]string{"/x=go.mod|/x/go.mod"}, nil},
		{"only the last stage", "FROM debian:bookworm AS build\nCOPY . /src\nRUN make\nFROM debian:bookworm\nCOPY --from=build /out /out\nCOPY app.txt /\n", "", ".",
			[]string{"/app.txt=app.txt"}, nil},
		{"a stage built on another", "FROM debian:bookworm AS deps\nCOPY go.mod /src/\nFROM deps\nCOPY app.txt /src/\n", "", ".",
			[]string{"/src/go.mod=go.mod", "/src/app.txt=app.txt"}, nil},
		{"a context below the root", from + "COPY . /srv/\n", "", "svc",
			[]string{"/srv/main.go=svc/main.go"}, nil},
		{"what it cannot follow", from + "ARG D=/x\nCOPY app.txt $D\nADD data.tar.gz /d/\nCOPY --exclude=*.md . /e\nWORKDIR $D\nCOPY go.mod .\n", "", ".",
			nil, []string{"line 3: COPY app.txt $D", "line 4: ADD data.tar.gz /d/", "line 5: COPY --exclude=*.md . /e", "line 7: COPY go.mod ."}},
		{"a remote ADD and a heredoc copy nothing", from + "ADD https://example.com/a /a\nCOPY <<EOF /b\nhello\nEOF\n", "", ".", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := fstest.MapFS{"Dockerfile": {Data: []byte(tt.dockerfile)}}
			if tt.ignore != "" {
				files[strings.TrimPrefix(tt.context+"/.dockerignore", "./")] = &fstest.MapFile{Data: []byte(tt.ignore)}
			}
			w := Workload{Name: "app", Files: files, Dockerfile: "Dockerfile", Context: tt.context}
			got, skipped, err := w.ImageFiles(commit)
			if err != nil {
				t.Fatal(err)
			}
			var gotS []string
			for _, f := range got {
				s := f.Path + "=" + f.Source
				if f.RewrittenBy != "" {
					s += "+"
				}
				if f.InDir != "" {
					s += "|" + f.InDir
				}
				if f.Line == 0 || f.Instruction == "" {
					t.Errorf("%s: no instruction", s)
				}
				gotS = append(gotS, s)
			}
			slices.Sort(gotS)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(gotS, want) {
				t.Errorf("files\n got %q\nwant %q", gotS, want)
			}
			if !slices.Equal(skipped, tt.skipped) {
				t.Errorf("skipped\n got %q\nwant %q", skipped, tt.skipped)
			}
		})
	}
}

// TestBuiltinWorkloadsCopyTheirFiles: the image check has files to check in
// every built-in workload whose last stage copies from the context.
func TestBuiltinWorkloadsCopyTheirFiles(t *testing.T) {
	ws, err := SelectWorkloads([]string{"small", "smoke", "node", "manyfiles"})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		name := w.Name
		var commit []string
		err := fs.WalkDir(w.Files, ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				commit = append(commit, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		files, skipped, err := w.ImageFiles(commit)
		if err != nil || len(skipped) > 0 {
			t.Fatalf("%s: %v, skipped %q", name, err, skipped)
		}
		if len(files) == 0 {
			t.Errorf("%s: no file to check", name)
		}
		if src := w.ChangedFile(ChangeSource); src != "" && !slices.ContainsFunc(files, func(f ImageFile) bool { return f.Source == src }) {
			t.Errorf("%s: its source change's file %s is not among the checked: %v", name, src, fmt.Sprint(files))
		}
	}
}
