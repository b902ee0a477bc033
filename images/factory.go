// Package images is the offline image factory: it builds every image a
// benchmark needs from pinned sources (Go modules from the module proxy,
// Debian packages from the mirror) and caches each result by a key derived
// from its inputs, so that a second run builds nothing.
//
// Layout of the cache folder:
//
//	bin/<module>@<version>-<key>/     Go binaries of one upstream module
//	rootfs/<name>-<key>.tar.gz        Debian root filesystems
//	images/<name>-<key>.tar           image archives (docker save format)
//	node/<key>.tar                    kind node root filesystem (docker import)
//	tmp/                              work in progress, removed when done
package images

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cachebench/cachebench/log"
	"github.com/cachebench/cachebench/versions"
)

// recipeRevision changes whenever the way images are assembled changes, so
// that archives made by an older recipe are not taken for current ones.
const recipeRevision = "3"

// Factory builds and caches images.
type Factory struct {
	// bases are the base images to build and push, by logical name; nil
	// means all.
	bases      []string
	triggers   bool
	kubernetes string
	nodeImage  string
	// noNode: the cluster exists already (--kubeconfig), so no node image
	// is built, nor pinned.
	noNode     bool
	cacheDir   string
	mirror     string
	log        log.Logger
	minFreeGiB uint64
	slots      map[Slot]int
	sched      *scheduler
	apt        aptProxyState
	// checked remembers which cached files were found whole (cached).
	checked sync.Map
	// inputs are, for each step of the timing table, the steps it waits
	// for (for its critical path).
	inputs map[string][]string
}

// Option configures a Factory.
type Option func(*Factory) error

// WithCacheDir sets the cache folder (default: DefaultCacheDir()).
func WithCacheDir(dir string) Option {
	return func(f *Factory) error {
		if dir == "" {
			return errors.New("cache dir is empty")
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return fmt.Errorf("cache dir %q: %w", dir, err)
		}
		f.cacheDir = abs
		return nil
	}
}

// WithBases limits the workloads' base images to those named ("debian",
// "golang", "node"): a benchmark builds and pushes only what its workloads
// use.
func WithBases(names ...string) Option {
	return func(f *Factory) error {
		for _, n := range names {
			if _, ok := baseRepos[n]; !ok {
				return fmt.Errorf("unknown base image %q", n)
			}
		}
		f.bases = append([]string{}, names...)
		return nil
	}
}

// WithTriggers adds Tekton Triggers' images (runs started by push events).
func WithTriggers(on bool) Option {
	return func(f *Factory) error { f.triggers = on; return nil }
}

// WithLogger sets where progress goes.
func WithLogger(l log.Logger) Option {
	return func(f *Factory) error { f.log = l; return nil }
}

// WithDebianMirror sets the Debian mirror URL (default http://deb.debian.org/debian).
func WithDebianMirror(url string) Option {
	return func(f *Factory) error {
		if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
			return fmt.Errorf("debian mirror %q: want an http:// or https:// URL", url)
		}
		f.mirror = url
		return nil
	}
}

// WithKubernetesVersion sets the node's Kubernetes version; "" is the
// mode's default: offline versions.Kubernetes (the control-plane images
// besides Kubernetes' own, etcd, CoreDNS and pause, are those kubeadm
// v1.34 lists, so only v1.34 patch releases can be built), online the
// node image OnlineNodeImage picks.
func WithKubernetesVersion(v string) Option {
	return func(f *Factory) error {
		if v != "" && !kubernetesVersionRe.MatchString(v) {
			return fmt.Errorf("kubernetes version %q: want v1.<minor>.<patch>, e.g. %s", v, versions.Kubernetes)
		}
		f.kubernetes = v
		return nil
	}
}

var kubernetesVersionRe = regexp.MustCompile(`^v1\.[0-9]+\.[0-9]+$`)

// offlineMinor is the Kubernetes minor release the offline images fit.
const offlineMinor = "v1.34."

// WithNodeImage sets the kind node image of an online run (default: the
// one OnlineNodeImage picks); it is checked in its registry like the
// other official images.
func WithNodeImage(ref string) Option {
	return func(f *Factory) error { f.nodeImage = ref; return nil }
}

// WithoutNodeImage leaves the node image out of the set: the cluster
// exists already (--kubeconfig), its nodes are not the harness's.
func WithoutNodeImage() Option {
	return func(f *Factory) error { f.noNode = true; return nil }
}

// WithSlots sets how many steps of a kind run at once (default: 4
// downloads, one compile per two cores).
func WithSlots(slots map[Slot]int) Option {
	return func(f *Factory) error {
		for k, n := range slots {
			if n < 1 {
				return fmt.Errorf("slots for %s: %d, want at least 1", k, n)
			}
			f.slots[k] = n
		}
		return nil
	}
}

// WithMinFreeGiB sets how much free disk a cold build insists on.
func WithMinFreeGiB(n uint64) Option {
	return func(f *Factory) error { f.minFreeGiB = n; return nil }
}

// DefaultCacheDir is $CACHEBENCH_CACHE, else $XDG_CACHE_HOME/cachebench,
// else ~/.cache/cachebench: outside any checkout, so clean clones share it.
func DefaultCacheDir() string {
	if d := os.Getenv("CACHEBENCH_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "cachebench")
	}
	return filepath.Join(os.TempDir(), "cachebench-cache")
}

// NewFactory returns a Factory with its cache folder created.
func NewFactory(opts ...Option) (*Factory, error) {
	f := &Factory{
		cacheDir:   DefaultCacheDir(),
		mirror:     "http://deb.debian.org/debian",
		log:        log.NoOp(),
		minFreeGiB: 25,
		slots:      defaultSlots(),
	}
	for _, o := range opts {
		if err := o(f); err != nil {
			return nil, fmt.Errorf("image factory: %w", err)
		}
	}
	f.sched = newScheduler(f.slots, f.log)
	for _, sub := range []string{"bin", "rootfs", "images", "node", "tmp"} {
		if err := os.MkdirAll(filepath.Join(f.cacheDir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("image factory: create cache folder: %w", err)
		}
	}
	return f, nil
}

// Timings returns how long each step of this factory's builds took.
func (f *Factory) Timings() []Timing { return f.sched.Timings() }

// CriticalPath is the chain of the steps built that decided when the build
// ended (see CriticalPath), none when everything was cached.
func (f *Factory) CriticalPath() []Timing { return CriticalPath(f.Timings(), f.inputs) }

// offlineKubernetes is the Kubernetes version of the node image built
// offline.
func (f *Factory) offlineKubernetes() string { return cmp.Or(f.kubernetes, versions.Kubernetes) }

// CacheDir returns the cache folder.
func (f *Factory) CacheDir() string { return f.cacheDir }

// Key derives a short cache key from the inputs of a build.
func Key(inputs ...string) string {
	h := sha256.New()
	io.WriteString(h, "cachebench-recipe-"+recipeRevision+"\n")
	for _, in := range inputs {
		// Length-prefixed, so that no two input lists hash alike.
		fmt.Fprintf(h, "%d:%s\n", len(in), in)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// tempDir makes a work folder under the cache (same file system as the
// results, so that a finished build is moved in place atomically).
func (f *Factory) tempDir(prefix string) (string, error) {
	return os.MkdirTemp(filepath.Join(f.cacheDir, "tmp"), prefix+"-")
}

// checkDisk refuses to start a cold build that would run out of space midway.
func (f *Factory) checkDisk() error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(f.cacheDir, &st); err != nil {
		return fmt.Errorf("check free space of %s: %w", f.cacheDir, err)
	}
	free := st.Bavail * uint64(st.Bsize) >> 30
	if free < f.minFreeGiB {
		return fmt.Errorf("only %d GiB free under %s; a cold image build needs about %d GiB (Go build cache, module cache, images): free some space or set CACHEBENCH_CACHE to a larger disk", free, f.cacheDir, f.minFreeGiB)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// sealSuffix names the file beside a cached result that holds its digest.
const sealSuffix = ".sha256"

// seal records the digest of a finished result beside it, so that a later
// run can tell a whole file from one cut short or damaged.
func seal(path string) error {
	sum, err := fileDigest(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path+sealSuffix, []byte(sum+"\n"), 0o644)
}

// sealInto seals a finished file and moves it, with its seal, to its place
// in the cache: the seal first, so that the file is never there without it.
func (f *Factory) sealInto(tmp, path string) error {
	if err := seal(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp+sealSuffix, path+sealSuffix); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	f.checked.Store(path, true)
	return nil
}

// cached reports whether the cache holds path whole: it exists and has the
// digest sealed beside it. A file without its seal, or whose bytes differ
// from it, is removed (the log names it) so that it is built again, never
// used. Each file is checked once per factory.
func (f *Factory) cached(path string) bool {
	if ok, done := f.checked.Load(path); done {
		return ok.(bool)
	}
	ok := f.checkSeal(path)
	f.checked.Store(path, ok)
	return ok
}

func (f *Factory) checkSeal(path string) bool {
	if !exists(path) {
		return false
	}
	want, err := os.ReadFile(path + sealSuffix)
	if err != nil {
		f.log.Warnf("%s has no digest beside it (a build cut short?): building it again", path)
		os.Remove(path)
		return false
	}
	got, err := fileDigest(path)
	if err != nil || got != strings.TrimSpace(string(want)) {
		f.log.Warnf("%s does not match its digest (%s): building it again", path, strings.TrimSpace(string(want)))
		os.Remove(path)
		os.Remove(path + sealSuffix)
		return false
	}
	return true
}

func fileDigest(path string) (string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// run runs a command and, when it fails, returns an error holding the tail
// of its output, which is what a user needs to see first.
func (f *Factory) run(ctx context.Context, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out tailBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	f.log.Debugf("run: %s %s", name, strings.Join(args, " "))
	// Long builds (Kubernetes takes minutes) say that they are alive (the
	// scheduler's status line says so too, for every step at once).
	done := make(chan struct{})
	defer close(done)
	go func(start time.Time) {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				f.log.Debugf("  ... %s %s still running (%s)", name, firstArgs(args), time.Since(start).Round(time.Second))
			}
		}
	}(time.Now())
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s %s: %w\n%s", name, firstArgs(args), err, out.String())
	}
	return nil
}

func firstArgs(args []string) string {
	if len(args) > 3 {
		return strings.Join(args[:3], " ") + " ..."
	}
	return strings.Join(args, " ")
}

// tailBuffer keeps the last 8 KiB written to it.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 8<<10 {
		t.b = t.b[len(t.b)-8<<10:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(bytes.TrimSpace(t.b)) }
