package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cachebench/cachebench/internal/gomod"
	"github.com/cachebench/cachebench/versions"
)

// nodeRootfs holds what kind runs inside a node (see kind's images/base):
// systemd, containerd and runc, CNI plugins, and the tools kind and kubeadm call.
var nodeRootfs = Rootfs{Name: "kind-node", Packages: []string{
	"systemd", "systemd-sysv", "dbus", "containerd", "runc", "containernetworking-plugins",
	"conntrack", "iptables", "nftables", "iproute2", "ethtool", "util-linux", "mount", "kmod",
	"libseccomp2", "pigz", "e2fsprogs", "bash", "ca-certificates", "curl", "jq", "procps", "socat",
}}

// bridgeCNI is the node's network: kindnetd is an image we would have to
// build too, and one node needs no more than a bridge. The subnet is the
// node CIDR kube-controller-manager gives the first node of kind's 10.244.0.0/16.
const bridgeCNI = `{
  "cniVersion": "1.0.0",
  "name": "cachebench",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "10.244.0.0/24"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`

// NodeImage returns the reference of the kind node image, building it (or
// importing its cached root filesystem) when Docker lacks it. The images in
// preload are put into the node's containerd, as kubeadm finds no registry.
//
// The archives to preload are named up front (their paths follow from their
// specs' keys) and awaited only when the node's root filesystem is ready
// for them, so that it is made while they build.
func (f *Factory) NodeImage(ctx context.Context, preload []Spec, built func() ([]Archive, error)) (string, error) {
	kindDir, err := gomod.Download(ctx, "sigs.k8s.io/kind", versions.Kind)
	if err != nil {
		return "", err
	}
	filesDir := filepath.Join(kindDir, "images", "base", "files")
	filesHash, err := hashTree(filesDir)
	if err != nil {
		return "", fmt.Errorf("node image: read kind's node files: %w", err)
	}
	goVersion, err := gomod.GoVersion(ctx)
	if err != nil {
		return "", err
	}
	inputs := []string{"node", versions.Kind, filesHash, f.rootfsKey(nodeRootfs), kubernetesBuild(f.offlineKubernetes()).key(goVersion), bridgeCNI, hostPathOnDisk}
	for _, spec := range preload {
		path, err := f.archivePath(ctx, spec)
		if err != nil {
			return "", err
		}
		// The archive's name carries its key; its folder is only where the cache is.
		inputs = append(inputs, filepath.Base(path))
	}
	key := Key(inputs...)
	ref := LocalPrefix + "/kind-node:" + f.offlineKubernetes() + "-" + key
	if dockerHasImage(ctx, ref) {
		f.sched.record(Timing{Step: "node image", Kind: "node", Cached: true})
		return ref, nil
	}
	tarPath := filepath.Join(f.cacheDir, "node", key+".tar")
	if !f.cached(tarPath) {
		if err := f.checkDisk(); err != nil {
			return "", err
		}
		if err := f.buildNodeTar(ctx, filesDir, built, tarPath); err != nil {
			return "", fmt.Errorf("node image: %w", err)
		}
	}
	start := time.Now()
	f.log.Infof("importing node image %s into Docker", ref)
	err = f.run(ctx, "", nil, "docker", "import",
		"--change", `ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]`,
		// (kind's image also sets STOPSIGNAL; docker import cannot, and kind
		// removes nodes with "docker rm -f", which needs none.)
		"--change", "ENV container=docker",
		tarPath, ref)
	if err != nil {
		return "", fmt.Errorf("node image: %w", err)
	}
	f.log.Infof("node image imported in %s", time.Since(start).Round(time.Second))
	f.sched.record(Timing{Step: "node image: docker import", Kind: "node", BuildSeconds: time.Since(start).Seconds(), Bytes: treeSize(tarPath)})
	return ref, nil
}

func dockerHasImage(ctx context.Context, ref string) bool {
	return exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", ref).Run() == nil
}

func (f *Factory) buildNodeTar(ctx context.Context, filesDir string, built func() ([]Archive, error), dst string) error {
	start := time.Now()
	tmp, err := f.tempDir("node")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	root := filepath.Join(tmp, "rootfs")
	if err := f.RootfsDir(ctx, nodeRootfs, root); err != nil {
		return err
	}
	// Time spent waiting for what other recipes build (Kubernetes' binaries,
	// the images to preload) is not this step's.
	var waited time.Duration
	wait := func(fn func() error) error {
		start := time.Now()
		err := fn()
		waited += time.Since(start)
		return err
	}
	var preload []Archive
	afterRootfs := time.Now() // the root filesystem has its own row
	steps := []struct {
		what string
		do   func() error
	}{
		{"copy kind's node files", func() error { return copyKindFiles(filesDir, root) }},
		{"configure containerd", func() error { return configureContainerd(root) }},
		{"configure systemd", func() error { return f.configureSystemd(ctx, root) }},
		{"write the CRI base spec", func() error { return f.writeCRIBaseSpec(ctx, root) }},
		{"install Kubernetes", func() error {
			if err := wait(func() error { _, err := f.Binaries(ctx, kubernetesBuild(f.offlineKubernetes())); return err }); err != nil {
				return err
			}
			return f.installKubernetes(ctx, root)
		}},
		{"preload images", func() error {
			if err := wait(func() (err error) { preload, err = built(); return err }); err != nil {
				return err
			}
			return f.preload(ctx, root, tmp, preload)
		}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
	}
	f.log.Infof("packing node root filesystem")
	out := filepath.Join(tmp, "node.tar")
	if err := f.run(ctx, "", nil, "tar", "--numeric-owner", "--xattrs", "-C", root, "-cf", out, "."); err != nil {
		return err
	}
	if err := f.sealInto(out, dst); err != nil {
		return err
	}
	took := time.Since(afterRootfs)
	f.log.Infof("node root filesystem ready in %s (%s of it waiting for Kubernetes and the images to preload)", time.Since(start).Round(time.Second), waited.Round(time.Second))
	f.sched.record(Timing{Step: "node root filesystem", Kind: "node", BuildSeconds: (took - waited).Seconds(), WaitSeconds: waited.Seconds(), Bytes: treeSize(dst)})
	return nil
}

// copyKindFiles does what the COPY lines of kind's base Dockerfile do.
func copyKindFiles(src, root string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		dst := filepath.Join(root, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(rel, "usr/local/bin/") || strings.HasPrefix(rel, "kind/bin/") {
			mode = 0o755
		}
		os.Remove(dst)
		return os.WriteFile(dst, data, mode)
	})
}

// configureContainerd adapts kind's containerd setup to Debian's containerd
// and to our hosts. restrict_oom_score_adj: lowering a process's
// oom_score_adj needs CAP_SYS_RESOURCE, which our nodes lack; with kind's
// default (false) every pod sandbox fails in runc ("can't get final child's
// PID from pipe: EOF").
func configureContainerd(root string) error {
	cfgPath := filepath.Join(root, "etc/containerd/config.toml")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		return err
	}
	const from, to = "restrict_oom_score_adj = false", "restrict_oom_score_adj = true"
	if !bytes.Contains(cfg, []byte(from)) {
		return fmt.Errorf("%s no longer says %q: check kind's containerd config", cfgPath, from)
	}
	if err := os.WriteFile(cfgPath, bytes.Replace(cfg, []byte(from), []byte(to), 1), 0o644); err != nil {
		return err
	}
	links := map[string]string{
		"usr/local/bin/containerd": "/usr/bin/containerd", // kind's unit runs this path
		"opt/cni/bin":              "/usr/lib/cni",        // Debian's CNI plugins
	}
	for l, target := range links {
		p := filepath.Join(root, l)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		os.RemoveAll(p)
		if err := os.Symlink(target, p); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "etc/cni/net.d"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(root, "etc/cni/net.d/10-cachebench-bridge.conflist"), []byte(bridgeCNI), 0o644)
}

// configureSystemd trims systemd to what a node needs, as kind's base does.
func (f *Factory) configureSystemd(ctx context.Context, root string) error {
	for _, pattern := range []string{
		"lib/systemd/system/sysinit.target.wants/systemd-tmpfiles-setup.service",
		"lib/systemd/system/multi-user.target.wants/*",
		"etc/systemd/system/*.wants/*",
		"lib/systemd/system/local-fs.target.wants/*",
		"lib/systemd/system/sockets.target.wants/*udev*",
		"lib/systemd/system/sockets.target.wants/*initctl*",
		"lib/systemd/system/basic.target.wants/*",
	} {
		matches, _ := filepath.Glob(filepath.Join(root, pattern))
		for _, m := range matches {
			if err := os.Remove(m); err != nil {
				return err
			}
		}
	}
	journald := filepath.Join(root, "etc/systemd/journald.conf")
	fh, err := os.OpenFile(journald, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintln(fh, "ReadKMsg=no")
	if err := fh.Close(); err != nil {
		return err
	}
	if err := f.run(ctx, "", nil, "chroot", root, "systemctl", "enable", "kubelet.service", "containerd.service", "undo-mount-hacks.service"); err != nil {
		return err
	}
	if err := f.run(ctx, "", nil, "chroot", root, "systemctl", "mask", "systemd-binfmt.service"); err != nil {
		return err
	}
	dropIn := filepath.Join(root, "etc/systemd/system/kubelet.service.d/20-hostpath-on-disk.conf")
	if err := os.MkdirAll(filepath.Dir(dropIn), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(dropIn, []byte(hostPathOnDisk), 0o644); err != nil {
		return err
	}
	return os.MkdirAll(filepath.Join(root, "etc/kubernetes/manifests"), 0o755)
}

// hostPathOnDisk keeps the node's volumes on disk. Without
// local-path-provisioner's manifest kind makes the controller-manager's
// host-path provisioner the default StorageClass, which puts every volume
// (the registries' data, workspaces, cache volumes) under /tmp/hostpath_pv,
// and /tmp is a tmpfs in kind's nodes: the volumes would take the
// machine's memory, and its deleter, in the controller-manager's container,
// never reaches the node's folders. /var is a volume of the node container
// on the host's disk, removed with the node.
const hostPathOnDisk = `[Service]
ExecStartPre=/bin/sh -c 'mkdir -p /var/lib/hostpath_pv /tmp/hostpath_pv && { mountpoint -q /tmp/hostpath_pv || mount --bind /var/lib/hostpath_pv /tmp/hostpath_pv; }'
`

// writeCRIBaseSpec makes /etc/containerd/cri-base.json from containerd's
// default spec, with kind's product-files hook and without rlimits.
func (f *Factory) writeCRIBaseSpec(ctx context.Context, root string) error {
	out, err := exec.CommandContext(ctx, "chroot", root, "ctr", "oci", "spec").Output()
	if err != nil {
		return fmt.Errorf("ctr oci spec: %w", err)
	}
	var spec map[string]any
	if err := json.Unmarshal(out, &spec); err != nil {
		return err
	}
	hooks, _ := spec["hooks"].(map[string]any)
	if hooks == nil {
		hooks = map[string]any{}
	}
	cc, _ := hooks["createContainer"].([]any)
	hooks["createContainer"] = append(cc, map[string]any{"path": "/kind/bin/mount-product-files.sh"})
	spec["hooks"] = hooks
	if proc, ok := spec["process"].(map[string]any); ok {
		delete(proc, "rlimits")
	}
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(root, "etc/containerd/cri-base.json"), data, 0o644)
}

func (f *Factory) installKubernetes(ctx context.Context, root string) error {
	dir, err := f.Binaries(ctx, kubernetesBuild(f.offlineKubernetes()))
	if err != nil {
		return err
	}
	for _, b := range []string{"kubelet", "kubeadm", "kubectl"} {
		data, err := os.ReadFile(filepath.Join(dir, b))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(root, "usr/bin", b), data, 0o755); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "kind"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(root, "kind/version"), []byte(f.offlineKubernetes()+"\n"), 0o644)
}

// preload imports image archives into the node's containerd store with a
// containerd of the host's (Debian's, the same version as the node's) that
// keeps its state in the node root filesystem. Images stay packed; the
// node's containerd unpacks them on first use.
func (f *Factory) preload(ctx context.Context, root, tmp string, archives []Archive) error {
	if len(archives) == 0 {
		return nil
	}
	if _, err := exec.LookPath("containerd"); err != nil {
		return fmt.Errorf("containerd not found on the host (Debian's docker.io installs it): %w", err)
	}
	state := filepath.Join(tmp, "ctrd")
	if err := os.MkdirAll(state, 0o755); err != nil {
		return err
	}
	sock := filepath.Join(state, "containerd.sock")
	cfg := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = %q
[ttrpc]
  address = %q
[plugins."io.containerd.internal.v1.opt"]
  path = %q
`, filepath.Join(root, "var/lib/containerd"), filepath.Join(state, "run"), sock, sock+".ttrpc", filepath.Join(state, "opt"))
	cfgPath := filepath.Join(state, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return err
	}
	var logBuf tailBuffer
	daemon := exec.Command("containerd", "--config", cfgPath)
	daemon.Stdout, daemon.Stderr = &logBuf, &logBuf
	if err := daemon.Start(); err != nil {
		return fmt.Errorf("start containerd: %w", err)
	}
	defer func() {
		daemon.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { daemon.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			daemon.Process.Kill()
			<-done
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !exists(sock) {
		if time.Now().After(deadline) {
			return fmt.Errorf("containerd did not listen on %s within 30 s:\n%s", sock, logBuf.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, a := range archives {
		f.log.Infof("preloading %s into the node image", strings.Join(a.Refs, ", "))
		if err := f.run(ctx, "", nil, "ctr", "--address", sock, "--namespace", "k8s.io",
			"images", "import", "--all-platforms", "--no-unpack", "--digests", a.Path); err != nil {
			return err
		}
	}
	return nil
}

// hashTree hashes the names, modes and contents of every file under dir.
func hashTree(dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s %d\n", rel, len(data))
		h.Write(data)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), err
}
