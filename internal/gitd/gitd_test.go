package gitd

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

func sources(t *testing.T, files map[string]string, exec ...string) io.Reader {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	var names []string
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		mode := int64(0o644)
		if slices.Contains(exec, n) {
			mode = 0o755
		}
		tw.WriteHeader(&tar.Header{Name: n, Mode: mode, Size: int64(len(files[n])), Typeflag: tar.TypeReg})
		tw.Write([]byte(files[n]))
	}
	tw.Close()
	return &b
}

var appFiles = map[string]string{
	"Dockerfile":        "FROM debian\nCOPY . /app\n",
	"app/main.py":       "print('hi')\n",
	"app/run.sh":        "#!/bin/sh\nexec python3 main.py\n",
	"app-config.txt":    "a file whose name sorts between app and app/\n",
	"deep/er/still.txt": "nested\n",
}

// serve starts the daemon on a loopback port and returns its git:// URL
// of repo.
func serve(t *testing.T, root, repo string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go ServeListener(ctx, root, ln, os.Stderr)
	return "git://" + ln.Addr().String() + "/" + repo + ".git"
}

// TestCommitServeClone: the sources committed, served and cloned come out
// as they went in, executable bits included, and later commits on a branch
// are what a clone of that branch gets.
func TestCommitServeClone(t *testing.T) {
	root := t.TempDir()
	first, err := Commit(root, "app", sources(t, appFiles, "app/run.sh"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := Commit(root, "app", sources(t, appFiles, "app/run.sh"))
	if err != nil || again != first {
		t.Fatalf("the same sources gave commits %s and %s (%v): want the same", first, again, err)
	}
	url := serve(t, root, "app")
	dir := filepath.Join(t.TempDir(), "src")
	got, err := Clone(context.Background(), url, "main", dir)
	if err != nil {
		t.Fatal(err)
	}
	if got != first {
		t.Errorf("cloned %s, want %s", got, first)
	}
	for name, want := range appFiles {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(b) != want {
			t.Errorf("%s: %q, %v", name, b, err)
		}
	}
	if info, err := os.Stat(filepath.Join(dir, "app/run.sh")); err != nil || info.Mode()&0o111 == 0 {
		t.Errorf("app/run.sh lost its executable bit: %v %v", info.Mode(), err)
	}

	if err := Branch(root, "app", "rounds/r1"); err != nil {
		t.Fatal(err)
	}
	changed, err := AppendLine(root, "app", "rounds/r1", "app/main.py", "# change 1")
	if err != nil {
		t.Fatal(err)
	}
	if head, err := Head(root, "app", "rounds/r1"); err != nil || head != changed {
		t.Errorf("head of the branch %s (%v), want %s", head, err, changed)
	}
	if head, _ := Head(root, "app", "main"); head != first {
		t.Errorf("main moved to %s", head)
	}
	files, err := ChangedFiles(root, "app", first, changed)
	if err != nil || !slices.Equal(files, []string{"app/main.py"}) {
		t.Errorf("changed files %v (%v), want app/main.py", files, err)
	}
	empty, err := EmptyCommit(root, "app", "rounds/r1", "push with no change")
	if err != nil {
		t.Fatal(err)
	}
	if files, _ := ChangedFiles(root, "app", changed, empty); len(files) != 0 {
		t.Errorf("an empty commit changed %v", files)
	}
	g, _ := open(root, "app")
	if c, err := g.CommitObject(plumbing.NewHash(empty)); err != nil || len(c.ParentHashes) != 1 || c.ParentHashes[0].String() != changed {
		t.Errorf("the empty commit's parents: %v (%v), want %s", c.ParentHashes, err, changed)
	}
	dir2 := filepath.Join(t.TempDir(), "src")
	if got, err := Clone(context.Background(), url, "rounds/r1", dir2); err != nil || got != empty {
		t.Fatalf("clone of the branch: %s, %v; want %s", got, err, empty)
	}
	if b, _ := os.ReadFile(filepath.Join(dir2, "app/main.py")); string(b) != appFiles["app/main.py"]+"# change 1\n" {
		t.Errorf("the branch's main.py: %q", b)
	}
	if _, err := AppendLine(root, "app", "rounds/r1", "no/such/file", "x"); err == nil || !strings.Contains(err.Error(), "no/such/file") {
		t.Errorf("a missing file: %v", err)
	}
	// An empty line is a change too; the other files and their modes stay.
	blank, err := AppendLine(root, "app", "rounds/r1", "app/main.py", "")
	if err != nil || blank == empty {
		t.Fatalf("append an empty line: %s, %v", blank, err)
	}
	if files, _ := ChangedFiles(root, "app", first, blank); !slices.Equal(files, []string{"app/main.py"}) {
		t.Errorf("files changed since main: %v, want app/main.py", files)
	}
	dir3 := filepath.Join(t.TempDir(), "src")
	if _, err := Clone(context.Background(), url, "rounds/r1", dir3); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir3, "app/main.py")); string(b) != appFiles["app/main.py"]+"# change 1\n\n" {
		t.Errorf("main.py after an empty line: %q", b)
	}
	if info, err := os.Stat(filepath.Join(dir3, "app/run.sh")); err != nil || info.Mode()&0o111 == 0 {
		t.Errorf("app/run.sh lost its executable bit on the branch: %v", err)
	}
	// A new round starts again from main.
	if err := Branch(root, "app", "rounds/r1"); err != nil {
		t.Fatal(err)
	}
	if head, _ := Head(root, "app", "rounds/r1"); head != first {
		t.Errorf("reset branch at %s, want main's %s", head, first)
	}
}

// TestGitAgrees: git itself reads our repositories (fsck, the tree hash of
// the same files) and clones from the daemon, and the daemon refuses
// pushes and paths outside its root.
func TestGitAgrees(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git here")
	}
	root := t.TempDir()
	commit, err := Commit(root, "app", sources(t, appFiles, "app/run.sh"))
	if err != nil {
		t.Fatal(err)
	}
	gitc := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	bare := filepath.Join(root, "app.git")
	gitc(bare, "fsck", "--strict")
	// The same files committed by git have the same tree.
	work := t.TempDir()
	for name, data := range appFiles {
		os.MkdirAll(filepath.Dir(filepath.Join(work, name)), 0o755)
		mode := os.FileMode(0o644)
		if name == "app/run.sh" {
			mode = 0o755
		}
		os.WriteFile(filepath.Join(work, name), []byte(data), mode)
	}
	gitc(work, "init", "-q")
	gitc(work, "add", "-A")
	if want, got := gitc(work, "write-tree"), gitc(bare, "rev-parse", commit+"^{tree}"); got != want {
		t.Errorf("tree %s, git makes %s of the same files", got, want)
	}
	url := serve(t, root, "app")
	clone := filepath.Join(t.TempDir(), "c")
	gitc("", "clone", "-q", "--branch", "main", url, clone)
	if got := gitc(clone, "rev-parse", "HEAD"); got != commit {
		t.Errorf("git cloned %s, want %s", got, commit)
	}
	// Pushes and other paths are refused.
	os.WriteFile(filepath.Join(clone, "new"), []byte("x"), 0o644)
	gitc(clone, "add", "new")
	gitc(clone, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x")
	push := exec.Command("git", "push", "-q", url, "HEAD:main")
	push.Dir = clone
	if out, err := push.CombinedOutput(); err == nil {
		t.Errorf("a push was accepted: %s", out)
	}
	for _, bad := range []string{"../app", "nothere"} {
		out, err := exec.Command("git", "ls-remote", strings.TrimSuffix(url, "app.git")+bad+".git").CombinedOutput()
		if err == nil {
			t.Errorf("ls-remote of %s: %s", bad, out)
		}
	}
	if head, _ := Head(root, "app", "main"); head != commit {
		t.Errorf("main moved to %s after a refused push", head)
	}
}

// TestFiles: a commit's files come out as the tar they went in, executable
// bits kept, and a change's commit holds the change.
func TestFiles(t *testing.T) {
	root := t.TempDir()
	first, err := Commit(root, "app", sources(t, appFiles, "app/run.sh"))
	if err != nil {
		t.Fatal(err)
	}
	read := func(commit string) (map[string]string, map[string]int64) {
		t.Helper()
		var b bytes.Buffer
		if err := Files(root, "app", commit, &b); err != nil {
			t.Fatal(err)
		}
		files, modes := map[string]string{}, map[string]int64{}
		tr := tar.NewReader(&b)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(tr)
			files[h.Name], modes[h.Name] = string(data), h.Mode
		}
		return files, modes
	}
	files, modes := read(first)
	if len(files) != len(appFiles) {
		t.Errorf("%d files, want %d: %v", len(files), len(appFiles), files)
	}
	for name, want := range appFiles {
		if files[name] != want {
			t.Errorf("%s: %q, want %q", name, files[name], want)
		}
	}
	if modes["app/run.sh"] != 0o755 || modes["app/main.py"] != 0o644 {
		t.Errorf("modes %o and %o, want 755 and 644", modes["app/run.sh"], modes["app/main.py"])
	}
	if err := Branch(root, "app", "r1"); err != nil {
		t.Fatal(err)
	}
	changed, err := AppendLine(root, "app", "r1", "app/main.py", "# change")
	if err != nil {
		t.Fatal(err)
	}
	if files, _ := read(changed); files["app/main.py"] != appFiles["app/main.py"]+"# change\n" {
		t.Errorf("the change's main.py: %q", files["app/main.py"])
	}
	if err := Files(root, "app", strings.Repeat("0", 40), io.Discard); err == nil {
		t.Error("a commit the repository lacks gave files")
	}
}
