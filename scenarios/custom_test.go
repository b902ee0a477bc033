package scenarios

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTree writes files (path -> content; a path ending in "*" is made
// executable) under a new directory named dirName and returns its path.
func writeTree(t *testing.T, dirName string, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), dirName)
	for p, content := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(p, "*") {
			p, mode = strings.TrimSuffix(p, "*"), 0o755
		}
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadWorkloadDir(t *testing.T) {
	dir := writeTree(t, "My-App", map[string]string{
		"Dockerfile":   "FROM golang:1.26-bookworm AS build\nCOPY . /src\nRUN /src/build.sh\nFROM debian:bookworm-slim\nCOPY --from=build /out /out\nFROM build AS again\n",
		"build.sh*":    "#!/bin/sh\n",
		"src/main.go":  "package main\n",
		".git/HEAD":    "ref: refs/heads/main\n",
		".git/objects": "",
	})
	w, err := LoadWorkloadDir(dir, DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if w.Name != "my-app" || w.Dockerfile != "Dockerfile" || w.Context != "." {
		t.Errorf("name %q, dockerfile %q, context %q", w.Name, w.Dockerfile, w.Context)
	}
	if strings.Join(w.Images, " ") != "golang:1.26-bookworm debian:bookworm-slim" {
		t.Errorf("images %v", w.Images)
	}
	if _, ok := w.files[".git/HEAD"]; ok {
		t.Error(".git was read as a source")
	}
	if f := w.files["build.sh"]; f == nil || f.Mode != 0o755 {
		t.Errorf("build.sh: %+v, want mode 0755", f)
	}

	wl, err := w.Workload(map[string]BaseSource{
		"golang:1.26-bookworm": {Logical: "golang", Repo: "base/golang:1.26.8-bookworm"},
		"debian:bookworm-slim": {Logical: "debian", Repo: "base/debian:bookworm"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(wl.Bases, " ") != "golang debian" || wl.Name != "my-app" {
		t.Errorf("workload %s bases %v", wl.Name, wl.Bases)
	}
	df, err := fs.ReadFile(wl.Files, "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(df), "FROM ${BASE_REGISTRY}/base/golang:1.26.8-bookworm AS build") ||
		!strings.Contains(string(df), "FROM ${BASE_REGISTRY}/base/debian:bookworm\n") {
		t.Errorf("Dockerfile as committed:\n%s", df)
	}
	if src, _ := fs.ReadFile(wl.Files, "src/main.go"); string(src) != "package main\n" {
		t.Errorf("src/main.go = %q", src)
	}
	if _, err := w.Workload(map[string]BaseSource{}); err == nil || !strings.Contains(err.Error(), "golang:1.26-bookworm") {
		t.Errorf("no source for a base: err = %v", err)
	}
}

func TestLoadWorkloadDirRefuses(t *testing.T) {
	ok := map[string]string{"Dockerfile": "FROM debian:bookworm\n", "docker/app.Dockerfile": "FROM debian:12\n", "ctx/a": "a"}
	tests := []struct {
		name    string
		dirName string
		files   map[string]string
		spec    func(dir string) string
		opts    DirOptions
		wantErr string
	}{
		{"a name kubernetes refuses", "My_App", ok, nil, DirOptions{}, `name "my_app"`},
		{"a built-in workload's name", "small", ok, nil, DirOptions{}, "built-in workload's name; name it with NAME="},
		{"NAME=DIR names it", "My_App", ok, func(d string) string { return "app=" + d }, DirOptions{}, ""},
		{"no such directory", "x", ok, func(d string) string { return d + "/nope" }, DirOptions{}, "no such file"},
		{"no Dockerfile", "x", map[string]string{"a": "a"}, nil, DirOptions{}, "give the Dockerfile's path inside the directory with --dockerfile"},
		{"Dockerfile elsewhere", "x", ok, nil, DirOptions{Dockerfile: "docker/app.Dockerfile", Context: "ctx"}, ""},
		{"Dockerfile outside", "x", ok, nil, DirOptions{Dockerfile: "../Dockerfile"}, "must be a path inside"},
		{"context missing", "x", ok, nil, DirOptions{Context: "nope"}, "context nope is not a directory"},
		{"only scratch", "x", map[string]string{"Dockerfile": "FROM scratch\nCOPY a /a\n"}, nil, DirOptions{}, "builds FROM no image"},
		{"an ARG without value", "x", map[string]string{"Dockerfile": "ARG BASE\nFROM $BASE\n"}, nil, DirOptions{}, "--build-arg BASE="},
		{"the ARG given", "x", map[string]string{"Dockerfile": "ARG BASE\nFROM $BASE\n"}, nil, DirOptions{BuildArgs: []string{"BASE=debian:12"}}, ""},
		{"a Dockerfile that does not parse", "x", map[string]string{"Dockerfile": "FROM debian\nONBUILD\n"}, nil, DirOptions{}, "Dockerfile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, tt.dirName, tt.files)
			spec := dir
			if tt.spec != nil {
				spec = tt.spec(dir)
			}
			_, err := LoadWorkloadDir(spec, tt.opts)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
