package images

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

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
		if exists(dst) {
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
		if err := os.Rename(out, dst); err != nil {
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

// mmdebstrapSlot runs mmdebstrap holding a network slot: it mostly waits
// for packages to download.
func (f *Factory) mmdebstrapSlot(ctx context.Context, r Rootfs, target string) (Timing, error) {
	t := Timing{Step: "rootfs " + r.Name, Kind: "rootfs"}
	var took time.Duration
	waited, err := f.sched.with(ctx, Network, t.Step, func() error {
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
	args = append(args, versions.Debian, target, f.mirror)
	if err := f.run(ctx, "", nil, "mmdebstrap", args...); err != nil {
		return fmt.Errorf("debian rootfs %s: %w", r.Name, err)
	}
	f.log.Infof("made root filesystem %q in %s", r.Name, time.Since(start).Round(time.Second))
	return nil
}
