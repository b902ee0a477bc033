package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cachebench/cachebench/internal/pkgcache/server"
	"github.com/cachebench/cachebench/versions"
)

// Rootfs is a Debian root filesystem made by mmdebstrap from packages.
type Rootfs struct {
	Name     string   // names the cache file
	Packages []string // installed on top of the minbase variant
}

// mmdebstrapArgs are the options every rootfs is made with. Documentation and
// locales are left out: images are smaller and nothing here reads them.
var mmdebstrapArgs = []string{
	"--variant=minbase",
	"--skip=output/dev", // no device nodes in image layers; runtimes provide /dev
	"--dpkgopt=path-exclude=/usr/share/man/*",
	"--dpkgopt=path-exclude=/usr/share/doc/*",
	"--dpkgopt=path-include=/usr/share/doc/*/copyright",
	"--dpkgopt=path-exclude=/usr/share/locale/*",
	"--dpkgopt=path-exclude=/usr/share/info/*",
}

func (r Rootfs) packages() []string {
	p := append([]string(nil), r.Packages...)
	sort.Strings(p)
	return p
}

func (f *Factory) rootfsKey(r Rootfs) string {
	return Key(append([]string{"mmdebstrap", versions.Debian, f.mirror, strings.Join(mmdebstrapArgs, " ")}, r.packages()...)...)
}

// RootfsTar returns a gzip tarball of the root filesystem, made when missing
// (once, however many images ask for it at the same time).
func (f *Factory) RootfsTar(ctx context.Context, r Rootfs) (string, error) {
	dst := filepath.Join(f.cacheDir, "rootfs", r.Name+"-"+f.rootfsKey(r)+".tar.gz")
	step := "rootfs " + r.Name
	return f.sched.once(ctx, dst, func() (string, error) {
		if f.cached(dst) {
			f.sched.record(Timing{Step: step, Kind: "rootfs", Cached: true, Bytes: treeSize(dst)})
			return dst, nil
		}
		tmp, err := f.tempDir("rootfs")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(tmp)
		out := filepath.Join(tmp, "rootfs.tar.gz")
		t, err := f.mmdebstrapSlot(ctx, r, out)
		if err != nil {
			return "", err
		}
		if err := f.sealInto(out, dst); err != nil {
			return "", err
		}
		t.Bytes = treeSize(dst)
		f.sched.record(t)
		return dst, nil
	})
}

// RootfsDir makes the root filesystem in dir (which must not exist yet).
func (f *Factory) RootfsDir(ctx context.Context, r Rootfs, dir string) error {
	t, err := f.mmdebstrapSlot(ctx, r, dir)
	if err == nil {
		t.Bytes = treeSize(dir)
		f.sched.record(t)
	}
	return err
}

// mmdebstrapSlot runs mmdebstrap holding a root filesystem slot.
func (f *Factory) mmdebstrapSlot(ctx context.Context, r Rootfs, target string) (Timing, error) {
	t := Timing{Step: rootfsStep(r), Kind: "rootfs"}
	var took time.Duration
	waited, err := f.sched.with(ctx, Unpack, t.Step, func() error {
		start := time.Now()
		err := f.mmdebstrap(ctx, r, target)
		took = time.Since(start)
		return err
	})
	// mmdebstrap downloads and unpacks in one go: all of it counts as download.
	t.WaitSeconds, t.DownloadSeconds = waited.Seconds(), took.Seconds()
	return t, err
}

func (f *Factory) mmdebstrap(ctx context.Context, r Rootfs, target string) error {
	if _, err := exec.LookPath("mmdebstrap"); err != nil {
		return fmt.Errorf("mmdebstrap not found: run host/install-docker.sh (as root), or apt-get install mmdebstrap")
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("making a Debian root filesystem needs root (mmdebstrap in root mode): run as root")
	}
	start := time.Now()
	f.log.Infof("making Debian %s root filesystem %q (%d packages)", versions.Debian, r.Name, len(r.Packages))
	args := append([]string{}, mmdebstrapArgs...)
	if len(r.Packages) > 0 {
		args = append(args, "--include="+strings.Join(r.packages(), ","))
	}
	proxy, err := f.aptProxy()
	if err != nil {
		return fmt.Errorf("debian rootfs %s: %w", r.Name, err)
	}
	// Through the environment, which apt's http method reads, rather than
	// --aptopt, which mmdebstrap writes into the root filesystem. Not part
	// of the key: the proxy changes where packages come from, not which.
	args = append(args, versions.Debian, target, f.mirror)
	if err := f.run(ctx, "", []string{"http_proxy=" + proxy, debianPath}, "mmdebstrap", args...); err != nil {
		return fmt.Errorf("debian rootfs %s: %w", r.Name, err)
	}
	f.log.Infof("made root filesystem %q in %s", r.Name, time.Since(start).Round(time.Second))
	return nil
}

// debianPath is the search path of Debian's own programs. mmdebstrap runs
// helpers by name (mmtarfilter, a Python script, once per package): a PATH
// that puts a version manager's shims first (pyenv's python3 here) costs
// seconds per package, and they expect Debian's interpreters anyway.
const debianPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// aptProxy starts, on first use, the package cache (cluster/pkgcache) on
// loopback as apt's HTTP proxy for every root filesystem this factory
// makes: each package list and each package comes from the mirror once,
// however many root filesystems install it side by side. Its store is a
// folder of this factory run, removed by Close.
func (f *Factory) aptProxy() (string, error) {
	f.apt.once.Do(func() {
		dir, err := f.tempDir("apt")
		if err != nil {
			f.apt.err = err
			return
		}
		cache, err := server.New(server.Config{CacheDir: dir}, &f.apt.tally)
		if err != nil {
			f.apt.err = err
			return
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			f.apt.err = fmt.Errorf("apt proxy: %w", err)
			return
		}
		f.apt.srv = &http.Server{Handler: cache}
		go f.apt.srv.Serve(ln)
		f.apt.dir, f.apt.url = dir, "http://"+ln.Addr().String()
	})
	return f.apt.url, f.apt.err
}

// aptProxyState is the factory's apt proxy, started by aptProxy.
type aptProxyState struct {
	once  sync.Once
	srv   *http.Server
	dir   string
	url   string
	err   error
	tally aptTally
}

// aptTally counts what the apt proxy served, from its log lines.
type aptTally struct {
	mu               sync.Mutex
	fetched, again   int
	fetchedB, againB int64
}

func (t *aptTally) Write(p []byte) (int, error) {
	var l server.LogLine
	if json.Unmarshal(p, &l) == nil {
		t.mu.Lock()
		switch l.Result {
		case server.Fill, server.Pass:
			t.fetched++
			t.fetchedB += l.Bytes
		case server.Hit:
			t.again++
			t.againB += l.Bytes
		}
		t.mu.Unlock()
	}
	return len(p), nil
}

// Close stops what the factory started for its builds (the apt proxy) and
// removes its store.
func (f *Factory) Close() error {
	if f.apt.srv == nil {
		return nil
	}
	err := f.apt.srv.Close()
	t := &f.apt.tally
	t.mu.Lock()
	f.log.Infof("Debian packages: %d downloads from the mirror (%.0f MB), %d served again from the first download (%.0f MB)", t.fetched, float64(t.fetchedB)/1e6, t.again, float64(t.againB)/1e6)
	t.mu.Unlock()
	return errors.Join(err, os.RemoveAll(f.apt.dir))
}
