package gitserver

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

func TestTarFSIsReproducible(t *testing.T) {
	fsys := fstest.MapFS{"Dockerfile": {Data: []byte("FROM x\n")}, "app/main.py": {Data: []byte("print(1)\n")}}
	a, err := tarFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := tarFS(fsys)
	if !bytes.Equal(a, b) {
		t.Fatal("packing twice gave different bytes: the repository's commit would change")
	}
	tr := tar.NewReader(bytes.NewReader(a))
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		names = append(names, h.Name)
	}
	if len(names) != 2 || names[0] != "Dockerfile" || names[1] != "app/main.py" {
		t.Fatalf("entries %v", names)
	}
}

func TestTarFSKeepsTheExecutableBit(t *testing.T) {
	data, err := tarFS(fstest.MapFS{"run.sh": {Data: []byte("#!/bin/sh\n"), Mode: 0o755}, "README": {Data: []byte("x"), Mode: 0o600}})
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(data))
	modes := map[string]int64{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		modes[h.Name] = h.Mode
	}
	if modes["run.sh"] != 0o755 || modes["README"] != 0o644 {
		t.Fatalf("modes %v, want run.sh 0755 and README 0644", modes)
	}
}

func TestURL(t *testing.T) {
	s := &Server{Host: "git.cachebench.svc.cluster.local"}
	if got := s.URL("small"); got != "git://git.cachebench.svc.cluster.local/small.git" {
		t.Fatal(got)
	}
}

// TestChangeScripts runs the scripts the daemon's container runs, on this
// host's git: a repository is committed, a round's branch made from main,
// and a change committed on it that leaves main and every other file alone.
func TestChangeScripts(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git on this host") // the container always has it
	}
	root := t.TempDir()
	run := func(stdin []byte, script string, args ...string) string {
		t.Helper()
		cmd := exec.Command("sh", append([]string{"-c", script, "script"}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_ROOT="+root, "TMPDIR="+t.TempDir(), "GIT_CONFIG_GLOBAL=/dev/null")
		cmd.Stdin = bytes.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	data, err := tarFS(fstest.MapFS{"go.mod": {Data: []byte("module x\n")}, "cmd/main.go": {Data: []byte("package main\n")}, "run.sh": {Data: []byte("#!/bin/sh\n"), Mode: 0o755}})
	if err != nil {
		t.Fatal(err)
	}
	main1 := run(data, commitScript, "app")
	run(nil, branchScript, "app", "rounds/r1")
	c1 := run(nil, appendScript, "app", "rounds/r1", "cmd/main.go", "// cachebench change 1")
	c2 := run(nil, appendScript, "app", "rounds/r1", "cmd/main.go", "")
	git := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("git", append([]string{"--git-dir", root + "/app.git"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if got := git("rev-parse", "main"); got != main1 {
		t.Errorf("main moved to %s, want %s", got, main1)
	}
	if got := git("rev-parse", "rounds/r1"); got != c2 || c1 == c2 || c1 == main1 {
		t.Errorf("branch at %s; commits main %s, first change %s, second %s", got, main1, c1, c2)
	}
	if got, want := git("show", "rounds/r1:cmd/main.go"), "package main\n// cachebench change 1"; got != want {
		t.Errorf("changed file:\n%q\nwant\n%q", got, want)
	}
	if got := git("diff", "--stat", main1, c2, "--", "go.mod", "run.sh"); got != "" {
		t.Errorf("other files changed: %s", got)
	}
	if got := git("ls-tree", "rounds/r1", "run.sh"); !strings.HasPrefix(got, "100755") {
		t.Errorf("run.sh lost its executable bit: %s", got)
	}
	// A push that changes no file: a new commit with the same tree, on top.
	if got := run(nil, headScript, "app", "rounds/r1"); got != c2 {
		t.Errorf("head of rounds/r1 is %s, want %s", got, c2)
	}
	e1 := run(nil, emptyCommitScript, "app", "rounds/r1", "push 1")
	if e1 == c2 || git("rev-parse", "rounds/r1") != e1 || git("rev-parse", e1+"^") != c2 {
		t.Errorf("empty commit %s: branch at %s, parent %s, want parent %s", e1, git("rev-parse", "rounds/r1"), git("rev-parse", e1+"^"), c2)
	}
	if got := run(nil, diffScript, "app", c2, e1); got != "" {
		t.Errorf("the empty commit changed files: %s", got)
	}
	if got := run(nil, diffScript, "app", main1, e1); got != "cmd/main.go" {
		t.Errorf("files changed since main: %q, want cmd/main.go", got)
	}
	// A new round starts again from main.
	run(nil, branchScript, "app", "rounds/r1")
	if got := git("rev-parse", "rounds/r1"); got != main1 {
		t.Errorf("reset branch at %s, want main's %s", got, main1)
	}
	cmd := exec.Command("sh", "-c", appendScript, "script", "app", "rounds/r1", "missing.go", "x")
	cmd.Env = append(os.Environ(), "GIT_ROOT="+root)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "no file missing.go") {
		t.Errorf("a missing file: err %v, output %s", err, out)
	}
}

// TestCommitStartsNoGC commits a tree with more loose objects than git's
// gc.auto threshold (6,700), as manyfiles has: git would start a detached
// gc that deletes loose objects while the script clones them.
func TestCommitStartsNoGC(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git on this host") // the container always has it
	}
	files := fstest.MapFS{}
	for i := range 12000 {
		files[fmt.Sprintf("src/f%05d.js", i)] = &fstest.MapFile{Data: []byte(fmt.Sprintf("export const n = %d;\n", i))}
	}
	data, err := tarFS(files)
	if err != nil {
		t.Fatal(err)
	}
	root, trace := t.TempDir(), filepath.Join(t.TempDir(), "trace2.json")
	cmd := exec.Command("sh", "-c", commitScript, "script", "many")
	cmd.Env = append(os.Environ(), "GIT_ROOT="+root, "TMPDIR="+t.TempDir(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TRACE2_EVENT="+trace)
	cmd.Stdin = bytes.NewReader(data)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	events, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	// A gc child appears in the trace as an argv of "git", "gc", "--auto".
	if gc := regexp.MustCompile(`"argv":\["git","gc"[^]]*\]`).Find(events); gc != nil {
		t.Errorf("the commit started %s", gc)
	}
	out, err := exec.Command("git", "--git-dir", root+"/many.git", "ls-tree", "-r", "--name-only", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(out), "\n"); n != len(files) {
		t.Errorf("the commit has %d files, want %d", n, len(files))
	}
}
