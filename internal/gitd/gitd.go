// Package gitd is the git server of the benchmark and the clone of its
// pipelines, in one static program: it serves the workloads' repositories
// read-only over the git protocol (git://), makes the commits the harness
// asks for, and clones one branch into a pipeline's workspace. It needs no
// git, no shell and no distribution in its image.
//
// It imports the standard library and go-git only: cachebench compiles
// this file, from its own copy (Source), into the git image, online and
// offline alike.
package gitd

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/format/pktline"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/revlist"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/server"
)

// Binary is where the program is in its image.
const Binary = "/git-server"

// Main runs one command: serve, commit, branch, append, empty, head, diff,
// files or clone (see usage), and exits.
func Main() {
	if err := Run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "git-server:", err)
		os.Exit(1)
	}
}

// Run runs one command.
func Run(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	root := os.Getenv("GIT_ROOT")
	if root == "" {
		root = "/srv/git"
	}
	cmd, args := args[0], args[1:]
	want := func(n int) error {
		if len(args) != n {
			return fmt.Errorf("%s takes %d arguments, got %d\n%s", cmd, n, len(args), usage)
		}
		return nil
	}
	print := func(s string, err error) error {
		if err == nil {
			fmt.Fprintln(stdout, s)
		}
		return err
	}
	switch cmd {
	case "serve":
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		listen := fs.String("listen", ":9418", "address to serve git:// on")
		if err := fs.Parse(args); err != nil {
			return err
		}
		return Serve(context.Background(), root, *listen, os.Stderr)
	case "commit":
		if err := want(1); err != nil {
			return err
		}
		return print(Commit(root, args[0], stdin))
	case "branch":
		if err := want(2); err != nil {
			return err
		}
		return Branch(root, args[0], args[1])
	case "append":
		if err := want(4); err != nil {
			return err
		}
		return print(AppendLine(root, args[0], args[1], args[2], args[3]))
	case "empty":
		if err := want(3); err != nil {
			return err
		}
		return print(EmptyCommit(root, args[0], args[1], args[2]))
	case "head":
		if err := want(2); err != nil {
			return err
		}
		return print(Head(root, args[0], args[1]))
	case "diff":
		if err := want(3); err != nil {
			return err
		}
		files, err := ChangedFiles(root, args[0], args[1], args[2])
		return print(strings.Join(files, "\n"), err)
	case "files":
		if err := want(2); err != nil {
			return err
		}
		return Files(root, args[0], args[1], stdout)
	case "clone":
		if err := want(4); err != nil {
			return err
		}
		commit, err := Clone(context.Background(), args[0], args[1], args[2])
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, commit)
		return os.WriteFile(args[3], []byte(commit), 0o644)
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

const usage = `usage (repositories under $GIT_ROOT, default /srv/git):
  serve [-listen :9418]              serve every repository read-only over git://
  commit REPO <tar                   make REPO with one commit of the tar's files on main
  branch REPO BRANCH                 point BRANCH at main's commit
  append REPO BRANCH FILE LINE       commit FILE with LINE appended on BRANCH
  empty REPO BRANCH MESSAGE          commit no change on BRANCH
  head REPO BRANCH                   print BRANCH's commit
  diff REPO FROM TO                  print the files that differ between two commits
  files REPO COMMIT                  write the commit's files as a tar to standard output
  clone URL BRANCH DIR COMMIT-FILE   clone BRANCH of URL into DIR, write its commit to COMMIT-FILE`

// signature is the author and committer of every commit: fixed, so that
// the same sources give the same commit. Changes get the time they are
// made, so that each is a new commit.
func signature(when time.Time) object.Signature {
	return object.Signature{Name: "cachebench", Email: "cachebench@localhost", When: when}
}

var fixedTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

var repoName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

func repoDir(root, repo string) (string, error) {
	if !repoName.MatchString(repo) || strings.Contains(repo, "..") {
		return "", fmt.Errorf("repository name %q: want lower-case letters, digits, '.', '_' and '-'", repo)
	}
	return filepath.Join(root, repo+".git"), nil
}

func open(root, repo string) (*git.Repository, error) {
	dir, err := repoDir(root, repo)
	if err != nil {
		return nil, err
	}
	r, err := git.PlainOpen(dir)
	if err != nil {
		return nil, fmt.Errorf("repository %s: %w", repo, err)
	}
	return r, nil
}

// Commit makes repo a bare repository whose main branch has one commit of
// the files of the tar archive in r (regular files; mode 0755 marks an
// executable), replacing any repository of that name, and returns it.
func Commit(root, repo string, r io.Reader) (string, error) {
	dir, err := repoDir(root, repo)
	if err != nil {
		return "", err
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	g, err := git.PlainInit(dir, true)
	if err != nil {
		return "", err
	}
	files := map[string]object.TreeEntry{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("read the sources: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return "", err
		}
		mode := filemode.Regular
		if h.Mode&0o111 != 0 {
			mode = filemode.Executable
		}
		hash, err := writeBlob(g.Storer, data)
		if err != nil {
			return "", err
		}
		p := path.Clean(strings.TrimPrefix(h.Name, "./"))
		files[p] = object.TreeEntry{Name: path.Base(p), Mode: mode, Hash: hash}
	}
	tree, err := writeTree(g.Storer, files)
	if err != nil {
		return "", err
	}
	commit, err := writeCommit(g.Storer, tree, nil, repo+" workload\n", fixedTime)
	if err != nil {
		return "", err
	}
	main := plumbing.NewBranchReferenceName("main")
	if err := g.Storer.SetReference(plumbing.NewHashReference(main, commit)); err != nil {
		return "", err
	}
	if err := g.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, main)); err != nil {
		return "", err
	}
	return commit.String(), nil
}

func writeBlob(s storer.EncodedObjectStorer, data []byte) (plumbing.Hash, error) {
	obj := s.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	obj.SetSize(int64(len(data)))
	w, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(data); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return s.SetEncodedObject(obj)
}

// writeTree writes the trees of files (path -> entry) and returns the
// root's hash.
func writeTree(s storer.EncodedObjectStorer, files map[string]object.TreeEntry) (plumbing.Hash, error) {
	children := map[string][]object.TreeEntry{} // directory -> entries
	dirs := map[string]bool{".": true}
	for p, e := range files {
		children[path.Dir(p)] = append(children[path.Dir(p)], e)
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	// Deepest directories first, so that a tree's subtrees exist when it
	// is written.
	var order []string
	for d := range dirs {
		order = append(order, d)
	}
	sort.Slice(order, func(i, j int) bool {
		if di, dj := depth(order[i]), depth(order[j]); di != dj {
			return di > dj
		}
		return order[i] < order[j]
	})
	var root plumbing.Hash
	for _, d := range order {
		entries := children[d]
		// git orders a tree's entries by name, a directory's name as if it
		// ended in "/".
		sort.Slice(entries, func(i, j int) bool { return sortName(entries[i]) < sortName(entries[j]) })
		obj := s.NewEncodedObject()
		if err := (&object.Tree{Entries: entries}).Encode(obj); err != nil {
			return plumbing.ZeroHash, err
		}
		hash, err := s.SetEncodedObject(obj)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if d == "." {
			root = hash
			continue
		}
		parent := path.Dir(d)
		children[parent] = append(children[parent], object.TreeEntry{Name: path.Base(d), Mode: filemode.Dir, Hash: hash})
	}
	return root, nil
}

func depth(dir string) int {
	if dir == "." {
		return 0
	}
	return strings.Count(dir, "/") + 1
}

func sortName(e object.TreeEntry) string {
	if e.Mode == filemode.Dir {
		return e.Name + "/"
	}
	return e.Name
}

func writeCommit(s storer.EncodedObjectStorer, tree plumbing.Hash, parents []plumbing.Hash, message string, when time.Time) (plumbing.Hash, error) {
	c := &object.Commit{Author: signature(when), Committer: signature(when), Message: message, TreeHash: tree, ParentHashes: parents}
	obj := s.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return s.SetEncodedObject(obj)
}

// Branch points branch of repo at main's commit, creating or resetting it:
// a round's changes start from the workload's own commit.
func Branch(root, repo, branch string) error {
	g, err := open(root, repo)
	if err != nil {
		return err
	}
	main, err := g.Reference(plumbing.NewBranchReferenceName("main"), true)
	if err != nil {
		return fmt.Errorf("repository %s: main: %w", repo, err)
	}
	return g.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(branch), main.Hash()))
}

// Head returns the commit branch of repo points at.
func Head(root, repo, branch string) (string, error) {
	g, err := open(root, repo)
	if err != nil {
		return "", err
	}
	ref, err := g.Reference(plumbing.NewBranchReferenceName(branch), true)
	if err != nil {
		return "", fmt.Errorf("repository %s: branch %s: %w", repo, branch, err)
	}
	return ref.Hash().String(), nil
}

// AppendLine commits on branch of repo the file with line appended (a line
// of its own, possibly empty) and returns the new commit.
func AppendLine(root, repo, branch, file, line string) (string, error) {
	return change(root, repo, branch, "change "+file+"\n", func(g *git.Repository, tree *object.Tree) (plumbing.Hash, error) {
		f, err := tree.File(file)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("no file %s on branch %s: %w", file, branch, err)
		}
		content, err := f.Contents()
		if err != nil {
			return plumbing.ZeroHash, err
		}
		blob, err := writeBlob(g.Storer, []byte(content+line+"\n"))
		if err != nil {
			return plumbing.ZeroHash, err
		}
		return replace(g.Storer, tree, strings.Split(path.Clean(file), "/"), blob)
	})
}

// EmptyCommit commits on branch of repo a commit that changes no file and
// returns it.
func EmptyCommit(root, repo, branch, message string) (string, error) {
	return change(root, repo, branch, message+"\n", func(_ *git.Repository, tree *object.Tree) (plumbing.Hash, error) {
		return tree.Hash, nil
	})
}

// change commits on branch the tree edit makes of the branch's tree.
func change(root, repo, branch, message string, edit func(*git.Repository, *object.Tree) (plumbing.Hash, error)) (string, error) {
	g, err := open(root, repo)
	if err != nil {
		return "", err
	}
	name := plumbing.NewBranchReferenceName(branch)
	ref, err := g.Reference(name, true)
	if err != nil {
		return "", fmt.Errorf("repository %s: branch %s: %w", repo, branch, err)
	}
	parent, err := g.CommitObject(ref.Hash())
	if err != nil {
		return "", err
	}
	tree, err := parent.Tree()
	if err != nil {
		return "", err
	}
	newTree, err := edit(g, tree)
	if err != nil {
		return "", fmt.Errorf("repository %s: %w", repo, err)
	}
	commit, err := writeCommit(g.Storer, newTree, []plumbing.Hash{parent.Hash}, message, time.Now().UTC())
	if err != nil {
		return "", err
	}
	if err := g.Storer.SetReference(plumbing.NewHashReference(name, commit)); err != nil {
		return "", err
	}
	return commit.String(), nil
}

// replace writes tree with the file at parts replaced by blob (keeping its
// mode), and the trees above it, and returns the new tree's hash.
func replace(s storer.EncodedObjectStorer, tree *object.Tree, parts []string, blob plumbing.Hash) (plumbing.Hash, error) {
	entries := append([]object.TreeEntry(nil), tree.Entries...)
	for i, e := range entries {
		if e.Name != parts[0] {
			continue
		}
		if len(parts) == 1 {
			entries[i].Hash = blob
		} else {
			sub, err := object.GetTree(s, e.Hash)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			if entries[i].Hash, err = replace(s, sub, parts[1:], blob); err != nil {
				return plumbing.ZeroHash, err
			}
		}
		obj := s.NewEncodedObject()
		if err := (&object.Tree{Entries: entries}).Encode(obj); err != nil {
			return plumbing.ZeroHash, err
		}
		return s.SetEncodedObject(obj)
	}
	return plumbing.ZeroHash, fmt.Errorf("no %s in the tree", parts[0])
}

// ChangedFiles lists the files that differ between two commits of repo.
func ChangedFiles(root, repo, from, to string) ([]string, error) {
	g, err := open(root, repo)
	if err != nil {
		return nil, err
	}
	var trees [2]*object.Tree
	for i, c := range []string{from, to} {
		commit, err := g.CommitObject(plumbing.NewHash(c))
		if err != nil {
			return nil, fmt.Errorf("repository %s: commit %s: %w", repo, c, err)
		}
		if trees[i], err = commit.Tree(); err != nil {
			return nil, err
		}
	}
	changes, err := object.DiffTree(trees[0], trees[1])
	if err != nil {
		return nil, err
	}
	var files []string
	for _, c := range changes {
		name := c.To.Name
		if name == "" {
			name = c.From.Name
		}
		files = append(files, name)
	}
	sort.Strings(files)
	return files, nil
}

// Files writes the files of commit of repo to w as a tar archive (regular
// files, mode 0755 for an executable), in the tree's order.
func Files(root, repo, commit string, w io.Writer) error {
	g, err := open(root, repo)
	if err != nil {
		return err
	}
	c, err := g.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		return fmt.Errorf("repository %s: commit %s: %w", repo, commit, err)
	}
	tree, err := c.Tree()
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	err = tree.Files().ForEach(func(f *object.File) error {
		mode := int64(0o644)
		if f.Mode == filemode.Executable {
			mode = 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Name: f.Name, Mode: mode, Size: f.Size, Typeflag: tar.TypeReg, ModTime: fixedTime}); err != nil {
			return err
		}
		r, err := f.Reader()
		if err != nil {
			return err
		}
		defer r.Close()
		_, err = io.Copy(tw, r)
		return err
	})
	if err != nil {
		return fmt.Errorf("repository %s: files of %s: %w", repo, commit, err)
	}
	return tw.Close()
}

// Serve serves the repositories under root read-only over the git protocol
// on listen, until ctx ends. Every fetch is logged to logTo.
func Serve(ctx context.Context, root, listen string, logTo io.Writer) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	return ServeListener(ctx, root, ln, logTo)
}

// ServeListener is Serve on a listener of the caller's.
func ServeListener(ctx context.Context, root string, ln net.Listener, logTo io.Writer) error {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	fmt.Fprintf(logTo, "serving %s on %s\n", root, ln.Addr())
	loader := server.NewFilesystemLoader(osfs.New(root, osfs.WithBoundOS()))
	srv := server.NewServer(loader)
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		go func() {
			defer closeGracefully(conn)
			start := time.Now()
			repo, err := serveConn(ctx, loader, srv, conn)
			if err != nil {
				fmt.Fprintf(logTo, "%s %s: %v\n", conn.RemoteAddr(), repo, err)
				return
			}
			fmt.Fprintf(logTo, "%s fetched %s in %s\n", conn.RemoteAddr(), repo, time.Since(start).Round(time.Millisecond))
		}()
	}
}

// serveConn answers one git:// request: "git-upload-pack /<repo>.git\0host=...\0".
// Pushes (git-receive-pack) are refused: builds read, only the harness
// writes, by the commands above.
func serveConn(ctx context.Context, loader server.Loader, srv transport.Transport, conn net.Conn) (string, error) {
	conn.SetDeadline(time.Now().Add(10 * time.Minute))
	in := bufio.NewReader(conn)
	sc := pktline.NewScanner(in)
	if !sc.Scan() {
		return "", fmt.Errorf("no request: %v", sc.Err())
	}
	service, rest, _ := bytes.Cut(sc.Bytes(), []byte(" "))
	repoPath, _, _ := bytes.Cut(rest, []byte{0})
	repo := string(repoPath)
	if string(service) != transport.UploadPackServiceName {
		writeError(conn, "only fetches are served here")
		return repo, fmt.Errorf("refused %s", service)
	}
	name := strings.TrimSuffix(strings.TrimPrefix(repo, "/"), ".git")
	if !repoName.MatchString(name) || strings.Contains(name, "..") {
		writeError(conn, "no such repository")
		return repo, errors.New("bad repository path")
	}
	ep, err := transport.NewEndpoint("git://server/" + name + ".git")
	if err != nil {
		return repo, err
	}
	sess, err := srv.NewUploadPackSession(ep, nil)
	if err != nil {
		writeError(conn, "no such repository")
		return repo, err
	}
	defer sess.Close()
	refs, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil {
		return repo, err
	}
	if err := refs.Encode(conn); err != nil {
		return repo, err
	}
	req := packp.NewUploadPackRequest()
	if err := req.Decode(in); err != nil {
		if errors.Is(err, io.EOF) {
			return repo, nil // a client that only listed the references
		}
		return repo, err
	}
	if req.IsEmpty() {
		return repo, nil
	}
	if len(req.Shallows) > 0 || req.Depth != nil && !req.Depth.IsZero() {
		writeError(conn, "shallow clones are not served: clone whole")
		return repo, errors.New("refused a shallow clone")
	}
	st, err := loader.Load(ep)
	if err != nil {
		return repo, err
	}
	haves, err := revlist.Objects(st, req.Haves, nil)
	if err != nil {
		return repo, err
	}
	objs, err := revlist.Objects(st, req.Wants, haves)
	if err != nil {
		return repo, err
	}
	// The pack without deltas: the sources are small and the network
	// local, and go-git's delta search costs seconds per ten thousand
	// files.
	pr, pw := io.Pipe()
	go func() {
		_, err := packfile.NewEncoder(pw, st, false).Encode(objs, 0)
		pw.CloseWithError(err)
	}()
	return repo, packp.NewUploadPackResponseWithPackfile(req, pr).Encode(conn)
}

// closeGracefully ends the answer and reads what the client still sends
// (a "done" after the pack): closing with unread input makes the kernel
// reset the connection, and the client loses the end of the pack.
func closeGracefully(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.CloseWrite()
		tc.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.Copy(io.Discard, tc)
	}
	conn.Close()
}

func writeError(w io.Writer, msg string) {
	e := pktline.NewEncoder(w)
	e.EncodeString("ERR " + msg + "\n")
}

// Clone clones branch of url into dir (emptied first), with its history,
// and returns the commit it checked out.
func Clone(ctx context.Context, url, branch, dir string) (string, error) {
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	g, err := git.PlainCloneContext(ctx, dir, false, &git.CloneOptions{
		URL:           url,
		ReferenceName: plumbing.NewBranchReferenceName(branch),
		SingleBranch:  true,
		NoCheckout:    true,
	})
	if err != nil {
		return "", fmt.Errorf("clone branch %s of %s: %w", branch, url, err)
	}
	head, err := g.Head()
	if err != nil {
		return "", err
	}
	commit, err := g.CommitObject(head.Hash())
	if err != nil {
		return "", err
	}
	tree, err := commit.Tree()
	if err != nil {
		return "", err
	}
	if err := writeFiles(tree, dir); err != nil {
		return "", fmt.Errorf("check out %s: %w", head.Hash(), err)
	}
	return head.Hash().String(), nil
}

// writeFiles writes the files of tree under dir, executable bits kept.
// (go-git's own checkout also writes an index, file by file, which takes
// seconds per thousand files; nothing in a build reads it.)
func writeFiles(tree *object.Tree, dir string) error {
	made := map[string]bool{}
	return tree.Files().ForEach(func(f *object.File) error {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if d := filepath.Dir(p); !made[d] {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
			made[d] = true
		}
		mode := os.FileMode(0o644)
		if f.Mode == filemode.Executable {
			mode = 0o755
		}
		r, err := f.Reader()
		if err != nil {
			return err
		}
		defer r.Close()
		out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, r); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}
