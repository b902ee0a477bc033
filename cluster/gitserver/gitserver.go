// Package gitserver deploys an in-cluster git daemon serving the workloads'
// sources, each committed into its own repository, so that the benchmark's
// clone task fetches over the network as a real pipeline would.
package gitserver

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/cachebench/cachebench/cluster/kube"
	"github.com/cachebench/cachebench/log"
)

const (
	name_     = "git"
	container = "daemon"
	port      = 9418
)

// Repo is one repository: a name and the files of its only commit.
type Repo struct {
	Name  string
	Files fs.FS
}

// Server is a deployed git daemon.
type Server struct {
	Namespace string
	Host      string

	clients *kube.Clients
	pod     string
}

// URL is the clone URL of a repository, as pods see it.
func (s *Server) URL(repo string) string { return "git://" + s.Host + "/" + repo + ".git" }

// The scripts below run in the daemon's container (GIT_ROOT unset: the
// repositories are under /srv/git), and in tests on this host's git.

// commitScript turns the source tarball on stdin into the bare repository
// $1 with one commit, replacing one left by an earlier benchmark. Dates and
// names are fixed, so a source gives the same commit every time.
const commitScript = `set -eu
root=${GIT_ROOT:-/srv/git}
repo=$1
export GIT_AUTHOR_NAME=cachebench GIT_AUTHOR_EMAIL=cachebench@localhost
export GIT_COMMITTER_NAME=cachebench GIT_COMMITTER_EMAIL=cachebench@localhost
export GIT_AUTHOR_DATE=2025-01-01T00:00:00Z GIT_COMMITTER_DATE=2025-01-01T00:00:00Z
work=${TMPDIR:-/tmp}/work/$repo
rm -rf "$work" "$root/$repo.git"
mkdir -p "$work"
tar -xf - -C "$work"
git -C "$work" init -q -b main
# Else the commit of a large tree (manyfiles) starts a detached gc that
# packs and deletes loose objects while the clone below copies them, and
# takes CPU from the first measured runs.
git -C "$work" config gc.auto 0
git -C "$work" add -A
git -C "$work" commit -q -m "$repo workload"
git clone -q --bare "$work" "$root/$repo.git"
rm -rf "$work"
git -C "$root/$repo.git" rev-parse HEAD
`

// Deploy deploys the git daemon in ns, using image (which needs git, tar
// and a shell), waits until it serves, then commits each of repos into it:
// the sources go through the API server's exec stream, so their size is
// not bound by any object's.
func Deploy(ctx context.Context, c *kube.Clients, ns, image string, repos []Repo, l log.Logger) (*Server, error) {
	start := time.Now()
	if len(repos) == 0 {
		return nil, fmt.Errorf("deploy git server: no repositories")
	}
	daemon := kube.Server{
		Name: name_, Namespace: ns, Selector: kube.Labels(name_),
		Container: corev1.Container{
			Name: container, Image: image,
			Command:        []string{"git", "daemon", "--reuseaddr", "--export-all", "--base-path=/srv/git", "--port=9418", "/srv/git"},
			Ports:          []corev1.ContainerPort{{Name: "git", ContainerPort: port}},
			ReadinessProbe: kube.TCPReady(port),
			VolumeMounts:   []corev1.VolumeMount{{Name: "repos", MountPath: "/srv/git"}},
		},
		Volumes: []corev1.Volume{{Name: "repos", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
	}
	if err := c.Deploy(ctx, daemon, daemon.Service(name_, "git", port, port)); err != nil {
		return nil, fmt.Errorf("deploy git server: %w", err)
	}
	pod, err := c.RunningPod(ctx, ns, daemon.PodSelector())
	if err != nil {
		return nil, fmt.Errorf("deploy git server: %w", err)
	}
	s := &Server{Namespace: ns, Host: fmt.Sprintf("%s.%s.svc.cluster.local", name_, ns), clients: c, pod: pod}
	var names []string
	for _, r := range repos {
		data, err := tarFS(r.Files)
		if err != nil {
			return nil, fmt.Errorf("deploy git server: pack %s: %w", r.Name, err)
		}
		if _, err := c.Exec(ctx, ns, pod, container, []string{"sh", "-c", commitScript, "commit", r.Name}, bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("deploy git server: commit %s: %w", r.Name, err)
		}
		names = append(names, fmt.Sprintf("%s (%d KiB)", r.Name, len(data)>>10))
	}
	l.Infof("git server ready at git://%s with %s in %s", s.Host, strings.Join(names, ", "), time.Since(start).Round(100*time.Millisecond))
	return s, nil
}

// branchScript points branch $2 of repository $1 at main's commit,
// creating or resetting it.
const branchScript = `set -eu
git -C "${GIT_ROOT:-/srv/git}/$1.git" update-ref "refs/heads/$2" refs/heads/main
`

// appendScript commits, on branch $2 of repository $1, file $3 with line
// $4 appended, and prints the new commit. It works on the bare repository
// with a temporary index, so no checkout of the sources is needed however
// many files they hold.
const appendScript = `set -eu
export GIT_DIR="${GIT_ROOT:-/srv/git}/$1.git" GIT_INDEX_FILE="/tmp/index-$$"
export GIT_AUTHOR_NAME=cachebench GIT_AUTHOR_EMAIL=cachebench@localhost
export GIT_COMMITTER_NAME=cachebench GIT_COMMITTER_EMAIL=cachebench@localhost
branch=$2 file=$3 line=$4
trap 'rm -f "$GIT_INDEX_FILE"' EXIT
mode=$(git ls-tree "$branch" -- "$file" | cut -d' ' -f1)
[ -n "$mode" ] || { echo "no file $file on branch $branch" >&2; exit 1; }
git read-tree "$branch"
blob=$( { git cat-file blob "$branch:$file"; printf '%s\n' "$line"; } | git hash-object -w --stdin)
git update-index --cacheinfo "$mode,$blob,$file"
commit=$(git commit-tree "$(git write-tree)" -p "$branch" -m "change $file")
git update-ref "refs/heads/$branch" "$commit"
echo "$commit"
`

// Branch points branch of repo at the main branch's commit, creating it or
// resetting it: a round's changes start from the workload's own commit.
func (s *Server) Branch(ctx context.Context, repo, branch string) error {
	if _, err := s.clients.Exec(ctx, s.Namespace, s.pod, container, []string{"sh", "-c", branchScript, "branch", repo, branch}, nil); err != nil {
		return fmt.Errorf("git server: branch %s of %s: %w", branch, repo, err)
	}
	return nil
}

// AppendLine commits on branch of repo the file with line appended (a
// line of its own, possibly empty) and returns the new commit.
func (s *Server) AppendLine(ctx context.Context, repo, branch, file, line string) (string, error) {
	out, err := s.clients.Exec(ctx, s.Namespace, s.pod, container, []string{"sh", "-c", appendScript, "append", repo, branch, file, line}, nil)
	if err != nil {
		return "", fmt.Errorf("git server: commit a change of %s on %s of %s: %w", file, branch, repo, err)
	}
	return strings.TrimSpace(out), nil
}

// emptyCommitScript commits on branch $2 of repository $1 a commit with
// its parent's tree and message $3, and prints it: a push that changes no
// file.
const emptyCommitScript = `set -eu
export GIT_DIR="${GIT_ROOT:-/srv/git}/$1.git"
export GIT_AUTHOR_NAME=cachebench GIT_AUTHOR_EMAIL=cachebench@localhost
export GIT_COMMITTER_NAME=cachebench GIT_COMMITTER_EMAIL=cachebench@localhost
commit=$(git commit-tree "$2^{tree}" -p "$2" -m "$3")
git update-ref "refs/heads/$2" "$commit"
echo "$commit"
`

// headScript prints the commit branch $2 of repository $1 points at.
const headScript = `set -eu
git -C "${GIT_ROOT:-/srv/git}/$1.git" rev-parse --verify "refs/heads/$2"
`

// diffScript prints the files that differ between commits $2 and $3 of
// repository $1, one per line.
const diffScript = `set -eu
git -C "${GIT_ROOT:-/srv/git}/$1.git" diff --name-only "$2" "$3"
`

// ChangedFiles lists the files that differ between two commits of repo.
func (s *Server) ChangedFiles(ctx context.Context, repo, from, to string) ([]string, error) {
	out, err := s.clients.Exec(ctx, s.Namespace, s.pod, container, []string{"sh", "-c", diffScript, "diff", repo, from, to}, nil)
	if err != nil {
		return nil, fmt.Errorf("git server: diff %s..%s of %s: %w", from, to, repo, err)
	}
	return strings.Fields(out), nil
}

// EmptyCommit commits on branch of repo a commit that changes no file and
// returns it.
func (s *Server) EmptyCommit(ctx context.Context, repo, branch, message string) (string, error) {
	out, err := s.clients.Exec(ctx, s.Namespace, s.pod, container, []string{"sh", "-c", emptyCommitScript, "empty", repo, branch, message}, nil)
	if err != nil {
		return "", fmt.Errorf("git server: commit on %s of %s: %w", branch, repo, err)
	}
	return strings.TrimSpace(out), nil
}

// Head returns the commit branch of repo points at.
func (s *Server) Head(ctx context.Context, repo, branch string) (string, error) {
	out, err := s.clients.Exec(ctx, s.Namespace, s.pod, container, []string{"sh", "-c", headScript, "head", repo, branch}, nil)
	if err != nil {
		return "", fmt.Errorf("git server: head of %s of %s: %w", branch, repo, err)
	}
	return strings.TrimSpace(out), nil
}

// tarFS packs the files of fsys in a reproducible tar (sorted, fixed times).
func tarFS(fsys fs.FS) ([]byte, error) {
	var paths []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, err
		}
		// git keeps a file's executable bit, and only that.
		mode := int64(0o644)
		if info, err := fs.Stat(fsys, p); err == nil && info.Mode()&0o111 != 0 {
			mode = 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Name: p, Mode: mode, Size: int64(len(data)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
