package standin

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/cachebench/cachebench/cluster/tekton"
	"github.com/cachebench/cachebench/cluster/triggers"
	"github.com/cachebench/cachebench/images"
	"github.com/cachebench/cachebench/versions"
)

// Published is what the stand-in serves: each official reference (by tag)
// with its digest here, and the node image by digest.
type Published struct {
	Digests   map[string]string // official reference -> digest
	NodeImage string            // kindest/node, by the stand-in's digest
}

// Image is one official image of the stand-in and the spec that makes it.
type Image struct {
	Ref  string // official reference, with its tag
	Spec images.Spec
}

const (
	runcPath = "/usr/sbin/runc"
	// nodeTag is the node image kind v0.33.0 publishes for cgroup v1 hosts,
	// which the stand-in serves with the node built offline (whose
	// Kubernetes is versions.Kubernetes: the record says which ran).
	nodeTag = "docker.io/kindest/node:v1.34.11"
)

// Catalog lists the stand-in's images, each laid out as its upstream's
// Dockerfile makes it (see ONLINE.md in the steering folder, and each
// comment below): which binaries where, the environment, the storage
// configuration, entrypoints.
func Catalog(cat *images.Catalog) []Image {
	retag := func(ref, spec string) Image {
		s := cat.SpecNamed(spec)
		s.Name, s.Refs = "standin-"+s.Name, []string{ref}
		return Image{Ref: ref, Spec: s}
	}
	var out []Image
	// BuildKit (moby/buildkit Dockerfile, stage buildkit-linux): buildkitd,
	// buildctl and buildkit-runc in /usr/bin, no runc; a shell.
	bk := retag(versions.BuildKitImage, "buildkit")
	bk.Spec.Files = append(bk.Spec.Files,
		images.File{Path: "/usr/sbin/.wh.runc", Data: []byte{}},
		images.File{Path: "/usr/bin/.wh.runc", Data: []byte{}},
	)
	rootfs := *bk.Spec.Rootfs
	bk.Spec.Extra = func(ctx context.Context, f *images.Factory, tmp string) ([]images.File, error) {
		tgz, err := f.RootfsTar(ctx, rootfs)
		if err != nil {
			return nil, err
		}
		runc := filepath.Join(tmp, "buildkit-runc")
		if err := extract(tgz, strings.TrimPrefix(runcPath, "/"), runc); err != nil {
			return nil, err
		}
		return []images.File{{Path: "/usr/bin/buildkit-runc", Src: runc, Mode: 0o755}}, nil
	}
	bk.Spec.ExtraInput = "runc as /usr/bin/buildkit-runc, no runc"
	bk.Spec.Config.Entrypoint = []string{"/usr/bin/buildkitd"}
	bk.Spec.Config.Volumes = map[string]struct{}{"/var/lib/buildkit": {}}
	out = append(out, bk)

	// Buildah (containers/image_build buildah/Containerfile): Fedora's
	// buildah with crun, fuse-overlayfs configured as storage.conf's mount
	// program, a shared image store, BUILDAH_ISOLATION=chroot.
	out = append(out, Image{Ref: versions.BuildahImage, Spec: images.Spec{
		Name: "standin-buildah", Refs: []string{versions.BuildahImage},
		Rootfs: &images.Rootfs{Name: "buildah-crun", Packages: []string{"buildah", "crun", "fuse-overlayfs", "uidmap", "ca-certificates"}},
		Files: []images.File{
			{Path: "/etc/containers/storage.conf", Data: []byte(buildahStorageConf)},
			{Path: "/etc/containers/containers.conf", Data: []byte("[engine]\ncgroup_manager = \"cgroupfs\"\n# Fedora's containers-common runs crun.\nruntime = \"crun\"\n")},
			{Path: "/var/lib/shared/overlay-images/images.lock", Data: []byte{}},
			{Path: "/var/lib/shared/overlay-layers/layers.lock", Data: []byte{}},
			{Path: "/var/lib/shared/vfs-images/images.lock", Data: []byte{}},
			{Path: "/var/lib/shared/vfs-layers/layers.lock", Data: []byte{}},
		},
		Config: v1.Config{
			Env:     []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "BUILDAH_ISOLATION=chroot"},
			Volumes: map[string]struct{}{"/var/lib/containers": {}, "/home/build/.local/share/containers": {}},
		},
	}})

	// Docker (docker-library's <version>/dind/Dockerfile): dockerd and the
	// CLI, moby's dind script in /usr/local/bin, the entrypoint
	// dockerd-entrypoint.sh, DOCKER_TLS_CERTDIR=/certs and a volume on
	// /var/lib/docker. The binaries stay where Debian's docker.io puts
	// them (on PATH either way); what a step can trip on is the dind
	// script, which mounts a tmpfs over /tmp.
	dk := retag(versions.DockerImage, "docker")
	dk.Spec.Files = append(dk.Spec.Files,
		images.File{Path: "/usr/local/bin/dind", Data: []byte(dindScript), Mode: 0o755},
		images.File{Path: "/usr/local/bin/dockerd-entrypoint.sh", Data: []byte(dockerdEntrypoint), Mode: 0o755},
	)
	dk.Spec.Config.Env = append(dk.Spec.Config.Env, "DOCKER_TLS_CERTDIR=/certs")
	dk.Spec.Config.Entrypoint = []string{"dockerd-entrypoint.sh"}
	dk.Spec.Config.Volumes = map[string]struct{}{"/var/lib/docker": {}}
	out = append(out, dk)

	// kaniko (deploy/Dockerfile): /kaniko/executor and /kaniko/warmer, no
	// shell: the offline images are laid out so already.
	out = append(out, retag(versions.KanikoExecutor, "kaniko-executor"), retag(versions.KanikoWarmer, "kaniko-warmer"))

	// distribution's library image: /bin/registry.
	out = append(out, retag(versions.RegistryImage, "registry"))
	// Toxiproxy's: /toxiproxy, started with -host=0.0.0.0.
	tp := retag(versions.ToxiproxyImage, "toxiproxy")
	tp.Spec.Config = v1.Config{Entrypoint: []string{"/toxiproxy"}, Cmd: []string{"-host=0.0.0.0"}}
	out = append(out, tp)

	// Tekton's and Triggers' images, under the registry their releases
	// name; the default shell image (a busybox).
	for cmd := range cat.TektonImages {
		out = append(out, retag(tektonImage(cmd), "tekton-"+cmd))
	}
	for cmd := range cat.TriggersImages {
		out = append(out, retag(triggersImage(cmd), "tekton-triggers-"+cmd))
	}
	out = append(out, retag(shellImage, "shell"))

	// The bases: bookworm-slim has no CA bundle (Docker's debian image);
	// bookworm has one.
	out = append(out,
		Image{Ref: versions.DebianBaseImage, Spec: images.Spec{
			Name: "standin-debian-slim", Refs: []string{versions.DebianBaseImage},
			Rootfs: &images.Rootfs{Name: "debian-minbase"},
			Config: v1.Config{Cmd: []string{"bash"}, Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
		}},
		retag("docker.io/library/debian:bookworm", "base-debian"),
		retag(versions.GolangBaseImage, "base-golang"),
		retag(versions.NodeBaseImage, "base-node"),
	)
	return out
}

// buildahStorageConf is /etc/containers/storage.conf as the official
// image's Containerfile edits it: fuse-overlayfs as the mount program, the
// shared store, mountopt nodev,fsync=0.
const buildahStorageConf = `[storage]
driver = "overlay"
runroot = "/run/containers/storage"
graphroot = "/var/lib/containers/storage"

[storage.options]
additionalimagestores = [
"/var/lib/shared",
]

[storage.options.overlay]
mount_program = "/usr/bin/fuse-overlayfs"
mountopt = "nodev,fsync=0"
`

// dindScript stands in for moby's hack/dind, which readies a privileged
// container for a Docker daemon and then runs its arguments. It does what
// matters to a step that runs it: /tmp becomes a new, empty tmpfs unless
// it is a mount already, and the root mount becomes shared. (The cgroup v2
// nesting it also does has nothing to do on these cgroup v1 hosts.)
const dindScript = `#!/bin/sh
set -e
export container=docker
if ! mountpoint -q /sys/kernel/security; then
  mount -t securityfs securityfs /sys/kernel/security 2>/dev/null || echo "dind: no securityfs" >&2
fi
mountpoint -q /tmp || mount -t tmpfs tmpfs /tmp
mount --make-rshared /
exec "$@"
`

// dockerdEntrypoint stands in for the image's entrypoint, which makes TLS
// certificates under DOCKER_TLS_CERTDIR and serves on 2376 with them; the
// harness runs its own command, so here it only starts the daemon.
const dockerdEntrypoint = `#!/bin/sh
set -e
exec dind dockerd --host=unix:///var/run/docker.sock "$@"
`

const shellImage = "cgr.dev/chainguard/busybox:latest"

func tektonImage(cmd string) string {
	return "ghcr.io/tektoncd/pipeline/" + cmd + ":" + versions.Tekton
}

func triggersImage(cmd string) string {
	return "ghcr.io/tektoncd/triggers/" + cmd + ":" + versions.Triggers
}

// extract copies one file out of a gzip tarball.
func extract(tgz, want, dst string) error {
	fh, err := os.Open(tgz)
	if err != nil {
		return err
	}
	defer fh.Close()
	gz, err := gzip.NewReader(fh)
	if err != nil {
		return err
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return fmt.Errorf("%s has no %s", tgz, want)
		}
		if err != nil {
			return err
		}
		if strings.TrimPrefix(h.Name, "./") == want && h.Typeflag == tar.TypeReg {
			out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
			if err != nil {
				return err
			}
			if _, err := io.Copy(out, tr); err != nil {
				out.Close()
				return err
			}
			return out.Close()
		}
	}
}

// Populate builds (or finds in the cache) every image of the stand-in,
// pushes each to its registry, serves Tekton's and Triggers' release
// manifests naming their images by digest, and the node image under
// kindest/node, with the manifest kind applies as its CNI.
func (s *Server) Populate(ctx context.Context, f *images.Factory, cat *images.Catalog, nodeImage string) (*Published, error) {
	pub := &Published{Digests: map[string]string{}}
	var specs []images.Spec
	list := Catalog(cat)
	for _, img := range list {
		specs = append(specs, img.Spec)
	}
	archives, err := f.BuildAll(ctx, specs)
	if err != nil {
		return nil, err
	}
	for i, img := range list {
		tag, err := name.NewTag(img.Ref)
		if err != nil {
			return nil, err
		}
		im, err := tarball.ImageFromPath(archives[i].Path, &tag)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", img.Ref, err)
		}
		d, err := s.push(ctx, img.Ref, im)
		if err != nil {
			return nil, err
		}
		pub.Digests[img.Ref] = d
	}
	if nodeImage != "" {
		if pub.NodeImage, err = s.pushNode(ctx, nodeImage); err != nil {
			return nil, err
		}
	}
	pinned := func(ref string) string { return ref + "@" + pub.Digests[ref] }
	tk := tekton.Images{Commands: map[string]string{}, Shell: pinned(shellImage)}
	for cmd := range cat.TektonImages {
		tk.Commands[cmd] = pinned(tektonImage(cmd))
	}
	release, err := tekton.RenderFromModule(ctx, versions.Tekton, tk)
	if err != nil {
		return nil, err
	}
	s.Publish(ReleasePath(versions.TektonReleaseURL), release)
	tr := map[string]string{}
	for cmd := range cat.TriggersImages {
		tr[cmd] = pinned(triggersImage(cmd))
	}
	r, err := triggers.RenderFromModule(ctx, versions.Triggers, tr)
	if err != nil {
		return nil, err
	}
	s.Publish(ReleasePath(versions.TriggersReleaseURL), r.Controller)
	s.Publish(ReleasePath(versions.TriggersInterceptorsURL), r.Interceptors)
	return pub, nil
}

// push writes img under its official reference into that registry's
// stand-in and returns its digest.
func (s *Server) push(ctx context.Context, ref string, img v1.Image) (string, error) {
	tag, err := name.NewTag(ref)
	if err != nil {
		return "", err
	}
	host := tag.RegistryStr()
	if host == name.DefaultRegistry {
		host = "docker.io"
	}
	port := s.Port(host)
	if port == 0 {
		return "", fmt.Errorf("%s: the stand-in has no registry %s", ref, host)
	}
	dst, err := name.NewTag(fmt.Sprintf("127.0.0.1:%d/%s:%s", port, tag.RepositoryStr(), tag.TagStr()), name.Insecure)
	if err != nil {
		return "", err
	}
	if err := remote.Write(dst, img, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("push %s to the stand-in: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	s.log.Printf("serving %s@%s", ref, d)
	return d.String(), nil
}

// defaultCNI is what kind applies as the node image's CNI
// (/kind/manifests/default-cni.yaml): the stand-in's node is the one built
// offline, whose bridge CNI is already configured on the node, so the
// manifest only says so.
const defaultCNI = `apiVersion: v1
kind: ConfigMap
metadata:
  name: cachebench-standin-cni
  namespace: kube-system
data:
  note: the node's bridge CNI is configured in /etc/cni/net.d; pod subnet {{ .PodSubnet }}
`

// pushNode serves the node image built offline (a Docker image) as
// kindest/node, with kind's CNI manifest, and returns it by digest.
func (s *Server) pushNode(ctx context.Context, local string) (string, error) {
	tmp, err := os.MkdirTemp(s.Dir, "node-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	archive := filepath.Join(tmp, "node.tar")
	if out, err := exec.CommandContext(ctx, "docker", "save", "-o", archive, local).CombinedOutput(); err != nil {
		return "", fmt.Errorf("docker save %s: %v: %s", local, err, out)
	}
	tag, err := name.NewTag(local)
	if err != nil {
		return "", err
	}
	img, err := tarball.ImageFromPath(archive, &tag)
	if err != nil {
		return "", err
	}
	cni, err := fileLayer("kind/manifests/default-cni.yaml", defaultCNI)
	if err != nil {
		return "", err
	}
	if img, err = mutate.AppendLayers(img, cni); err != nil {
		return "", err
	}
	d, err := s.push(ctx, nodeTag, img)
	if err != nil {
		return "", err
	}
	return nodeTag + "@" + d, nil
}

// fileLayer is a layer of one file.
func fileLayer(path, content string) (v1.Layer, error) {
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() {
			tw := tar.NewWriter(pw)
			err := tw.WriteHeader(&tar.Header{Name: path, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg})
			if err == nil {
				_, err = io.WriteString(tw, content)
			}
			if err == nil {
				err = tw.Close()
			}
			pw.CloseWithError(err)
		}()
		return pr, nil
	})
}
