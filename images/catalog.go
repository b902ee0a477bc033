package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/crypto/x509roots/fallback/bundle"
	"golang.org/x/sync/errgroup"

	"github.com/cachebench/cachebench/internal/gitd"
	"github.com/cachebench/cachebench/internal/gomod"
	"github.com/cachebench/cachebench/internal/pkgcache/server"
	"github.com/cachebench/cachebench/versions"
)

// LocalPrefix names the images cachebench builds; nothing is ever pulled
// from it, which is why every Tekton step names its command explicitly.
const LocalPrefix = "cachebench.local"

// Root filesystems, one per set of Debian packages.
var (
	debianRootfs = Rootfs{Name: "debian", Packages: []string{"ca-certificates"}}
	// Debian bookworm's Node.js (18) and npm, for the node workload.
	nodejsRootfs = Rootfs{Name: "nodejs", Packages: []string{"ca-certificates", "nodejs", "npm"}}
	// Tekton's resolvers run under tini, and its git resolver runs git.
	gitRootfs       = Rootfs{Name: "git", Packages: []string{"ca-certificates", "git", "tini"}}
	kubeProxyRootfs = Rootfs{Name: "kube-proxy", Packages: []string{"iptables", "nftables", "conntrack", "kmod", "ipset"}}
)

// Binary places one binary of an upstream build into an image.
type Binary struct {
	Build GoBuild
	Name  string // file name in the build output
	Dest  string // absolute path in the image
}

// Spec describes one image: its layers and its config. Everything that
// shapes the result is part of its key.
type Spec struct {
	Name     string
	Refs     []string
	Rootfs   *Rootfs  // bottom layer; nil means the image starts from scratch
	Static   bool     // add the static base (CA bundle, passwd with nonroot, /tmp)
	Binaries []Binary // one layer
	Files    []File   // one more layer (Data-only files are part of the key)
	// Extra adds files computed at build time (a compiled C program, a Go
	// toolchain); its string is part of the key.
	Extra      func(ctx context.Context, f *Factory, tmp string) ([]File, error)
	ExtraInput string
	Config     v1.Config
}

// Archive is a built image archive.
type Archive struct {
	Name string
	Refs []string
	Path string
}

func (f *Factory) specKey(ctx context.Context, s Spec) (string, error) {
	goVersion, err := gomod.GoVersion(ctx)
	if err != nil {
		return "", err
	}
	cfg, _ := json.Marshal(s.Config)
	in := []string{"image", s.Name, strings.Join(s.Refs, ","), fmt.Sprint(s.Static), string(cfg), s.ExtraInput}
	if s.Rootfs != nil {
		in = append(in, "rootfs", f.rootfsKey(*s.Rootfs))
	}
	if s.Static {
		in = append(in, "ca", caBundleKey)
	}
	for _, b := range s.Binaries {
		in = append(in, "bin", b.Build.key(goVersion), b.Name, b.Dest)
	}
	for _, fl := range s.Files {
		in = append(in, "file", fl.Path, fmt.Sprint(fl.Mode), string(fl.Data), fl.Link, fmt.Sprint(fl.Dir), fl.Src)
	}
	return Key(in...), nil
}

// archivePath is where the archive of s is cached.
func (f *Factory) archivePath(ctx context.Context, s Spec) (string, error) {
	key, err := f.specKey(ctx, s)
	if err != nil {
		return "", err
	}
	return filepath.Join(f.cacheDir, "images", s.Name+"-"+key+".tar"), nil
}

// Build returns the archive of s, building it when the cache lacks it.
func (f *Factory) Build(ctx context.Context, s Spec) (Archive, error) {
	path, err := f.archivePath(ctx, s)
	if err != nil {
		return Archive{}, err
	}
	a := Archive{Name: s.Name, Refs: s.Refs, Path: path}
	_, err = f.sched.once(ctx, path, func() (string, error) { return path, f.build(ctx, s, path) })
	return a, err
}

func (f *Factory) build(ctx context.Context, s Spec, path string) error {
	t := Timing{Step: "image " + s.Name, Kind: "image"}
	if f.cached(path) {
		t.Cached, t.Bytes = true, treeSize(path)
		f.sched.record(t)
		return nil
	}
	if err := f.checkDisk(); err != nil {
		return err
	}
	// The inputs other images share (root filesystems, Go builds) come
	// first, side by side (a rootfs download beside a compile): the time
	// spent waiting for them is not this image's.
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	if s.Rootfs != nil {
		g.Go(func() error {
			_, err := f.RootfsTar(gctx, *s.Rootfs)
			return err
		})
	}
	for _, b := range s.Binaries {
		g.Go(func() error {
			_, err := f.Binaries(gctx, b.Build)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("image %s: %w", s.Name, err)
	}
	t.WaitSeconds = time.Since(start).Seconds()
	start = time.Now()
	tmp, err := f.tempDir("image-" + s.Name)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	img, err := f.assemble(ctx, s, tmp)
	if err != nil {
		return fmt.Errorf("image %s: %w", s.Name, err)
	}
	refs := map[name.Reference]v1.Image{}
	for _, r := range s.Refs {
		tag, err := name.NewTag(r)
		if err != nil {
			return fmt.Errorf("image %s: reference %q: %w", s.Name, r, err)
		}
		refs[tag] = img
	}
	out := filepath.Join(tmp, "image.tar")
	if err := tarball.MultiRefWriteToFile(out, refs); err != nil {
		return fmt.Errorf("image %s: write archive: %w", s.Name, err)
	}
	if err := f.sealInto(out, path); err != nil {
		return err
	}
	t.BuildSeconds, t.Bytes = time.Since(start).Seconds(), treeSize(path)
	f.sched.record(t)
	f.log.Infof("image %s ready in %s", s.Name, dur(t.BuildSeconds))
	return nil
}

func (f *Factory) assemble(ctx context.Context, s Spec, tmp string) (v1.Image, error) {
	img := empty.Image
	var layers []v1.Layer
	if s.Rootfs != nil {
		tgz, err := f.RootfsTar(ctx, *s.Rootfs)
		if err != nil {
			return nil, err
		}
		l, err := tarball.LayerFromFile(tgz)
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
	}
	if s.Static {
		l, err := f.writeLayer(filepath.Join(tmp, "static.tar.gz"), staticBase())
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
	}
	if len(s.Binaries) > 0 {
		var files []File
		for _, b := range s.Binaries {
			dir, err := f.Binaries(ctx, b.Build)
			if err != nil {
				return nil, err
			}
			files = append(files, File{Path: b.Dest, Src: filepath.Join(dir, b.Name), Mode: 0o755})
		}
		l, err := f.writeLayer(filepath.Join(tmp, "bin.tar.gz"), files)
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
	}
	files := append([]File(nil), s.Files...)
	if s.Extra != nil {
		extra, err := s.Extra(ctx, f, tmp)
		if err != nil {
			return nil, err
		}
		files = append(files, extra...)
	}
	if len(files) > 0 {
		l, err := f.writeLayer(filepath.Join(tmp, "files.tar.gz"), files)
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
	}
	img, err := mutate.AppendLayers(img, layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = "amd64", "linux"
	cf.Created = v1.Time{Time: epoch}
	cf.Config = s.Config
	return mutate.ConfigFile(img, cf)
}

// staticBase holds what static Go binaries expect of a distro: a CA bundle,
// users (65532 is the "nonroot" user Tekton's deployments run as), /tmp.
// No Debian: an image of static binaries needs no root filesystem, nor root
// to make one.
func staticBase() []File {
	return []File{
		{Path: "/etc/ssl/certs/ca-certificates.crt", Data: caBundle},
		{Path: "/etc/passwd", Data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{Path: "/etc/group", Data: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{Path: "/etc/nsswitch.conf", Data: []byte("hosts: files dns\n")},
		{Path: "/tmp", Dir: true, Mode: 0o1777},
		{Path: "/home/nonroot", Dir: true},
		{Path: "/root", Dir: true, Mode: 0o700},
	}
}

// caBundle is the CA bundle of images without a Debian root filesystem:
// Mozilla's roots, as the pinned module golang.org/x/crypto/x509roots/fallback
// carries them, in PEM. caBundleKey names its content in cache keys.
var caBundle, caBundleKey = func() ([]byte, string) {
	var b bytes.Buffer
	for r := range bundle.Roots() {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: r.Certificate})
	}
	sum := sha256.Sum256(b.Bytes())
	return b.Bytes(), hex.EncodeToString(sum[:])
}()

// CABundle returns the CA bundle of images without a Debian root
// filesystem and the key that names its content (for Spec.ExtraInput).
func CABundle() (data []byte, key string) { return caBundle, caBundleKey }

// Ref builds a local image reference.
func Ref(repo, tag string) string { return LocalPrefix + "/" + repo + ":" + tag }

// Catalog is every image of an offline run, with the references the cluster
// setup renders into manifests.
type Catalog struct {
	ControlPlane []Spec // preloaded into the node image
	Cluster      []Spec // loaded into the cluster once it runs
	Bases        []Spec // pushed into the in-cluster registry for the workloads

	// BuilderImages are the images of the builders the catalog was made
	// with: built and loaded with Cluster.
	BuilderImages []BuilderImage

	TektonImages map[string]string // Tekton command -> reference
	TektonShell  string
	// Triggers are Tekton Triggers' images, loaded with Cluster only when
	// runs start from push events; TriggersImages maps a command to its
	// reference.
	Triggers       []Spec
	TriggersImages map[string]string
	Registry       string
	Toxiproxy      string
	Git            string
	// PackageCache is the cache package managers download through when
	// packages are proxied (cluster/pkgcache), built here online too.
	PackageCache string
	// BaseRefs maps a base image's logical name to its local reference.
	BaseRefs map[string]string
}

// NewCatalog lists the images of an offline run at the pinned versions,
// with Kubernetes at version k8s, and the images of the builders given.
func NewCatalog(k8sVersion string, builders ...BuilderImage) *Catalog {
	c := &Catalog{TektonImages: map[string]string{}, TriggersImages: map[string]string{}, BaseRefs: map[string]string{}, BuilderImages: builders}
	k8s := kubernetesBuild(k8sVersion)
	for _, n := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		c.ControlPlane = append(c.ControlPlane, Spec{
			Name: n, Refs: []string{"registry.k8s.io/" + n + ":" + k8sVersion}, Static: true,
			Binaries: []Binary{{Build: k8s, Name: n, Dest: "/usr/local/bin/" + n}},
			Config:   v1.Config{Entrypoint: []string{"/usr/local/bin/" + n}, Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin"}},
		})
	}
	c.ControlPlane = append(c.ControlPlane,
		Spec{
			Name: "kube-proxy", Refs: []string{"registry.k8s.io/kube-proxy:" + k8sVersion}, Rootfs: &kubeProxyRootfs,
			Binaries: []Binary{{Build: k8s, Name: "kube-proxy", Dest: "/usr/local/bin/kube-proxy"}},
			Config:   v1.Config{Entrypoint: []string{"/usr/local/bin/kube-proxy"}, Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
		},
		Spec{
			Name: "etcd", Refs: []string{"registry.k8s.io/etcd:" + versions.EtcdTag}, Static: true,
			Binaries: []Binary{{Build: etcdBuild(versions.Etcd), Name: "etcd", Dest: "/usr/local/bin/etcd"}},
			Config:   v1.Config{Entrypoint: []string{"/usr/local/bin/etcd"}, Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin"}},
		},
		Spec{
			Name: "coredns", Refs: []string{"registry.k8s.io/coredns/coredns:" + versions.CoreDNS}, Static: true,
			Binaries: []Binary{{Build: coreDNSBuild(versions.CoreDNS), Name: "coredns", Dest: "/coredns"}},
			Config:   v1.Config{Entrypoint: []string{"/coredns"}},
		},
		Spec{
			Name: "pause",
			Refs: []string{"registry.k8s.io/pause:" + versions.Pause, "registry.k8s.io/pause:" + versions.PauseOld},
			Extra: func(ctx context.Context, f *Factory, tmp string) ([]File, error) {
				bin, err := f.pauseBinary(ctx, k8sVersion, tmp)
				if err != nil {
					return nil, err
				}
				return []File{{Path: "/pause", Src: bin, Mode: 0o755}}, nil
			},
			ExtraInput: "pause.c from k8s.io/kubernetes@" + k8sVersion + " gcc -static -Os",
			Config:     v1.Config{Entrypoint: []string{"/pause"}},
		},
	)

	tekton := tektonBuild(versions.Tekton)
	for _, cmd := range tektonCommands {
		ref := Ref("tekton/"+cmd, versions.Tekton)
		c.TektonImages[cmd] = ref
		s := tektonSpec("tekton-"+cmd, ref, tekton, cmd)
		if cmd == "resolvers" {
			// The resolvers deployment runs /sbin/tini, and its git resolver git.
			s.Static, s.Rootfs = false, &gitRootfs
			s.Files = append(s.Files, File{Path: "/sbin/tini", Link: "/usr/bin/tini"})
		}
		c.Cluster = append(c.Cluster, s)
	}

	triggers := triggersBuild(versions.Triggers)
	for _, cmd := range TriggersCommands {
		ref := Ref("tekton-triggers/"+cmd, versions.Triggers)
		c.TriggersImages[cmd] = ref
		// The EventListener's pod names no command: the sink image must
		// start the sink by itself, as every one of these does.
		c.Triggers = append(c.Triggers, tektonSpec("tekton-triggers-"+cmd, ref, triggers, cmd))
	}

	// The git server and the pipelines' clone step: one static binary.
	c.Git = Ref("git", versions.GoGit)
	c.Cluster = append(c.Cluster, Spec{
		Name: "git", Refs: []string{c.Git}, Static: true,
		Binaries: []Binary{{Build: gitServerBuild(), Name: path.Base(gitd.Binary), Dest: gitd.Binary}},
		Files:    []File{{Path: "/srv/git", Dir: true, Mode: 0o777}},
		Config:   v1.Config{Entrypoint: []string{gitd.Binary}, Env: []string{"GIT_ROOT=/srv/git"}},
	})
	// Tekton's script steps need a shell (its -shell-image): Debian's.
	c.TektonShell = Ref("shell", versions.Debian)
	c.Cluster = append(c.Cluster, Spec{
		Name: "shell", Refs: []string{c.TektonShell}, Rootfs: &debianRootfs,
		Config: v1.Config{Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
	})

	c.Registry = Ref("registry", versions.Distribution)
	c.Cluster = append(c.Cluster, Spec{
		Name: "registry", Refs: []string{c.Registry}, Static: true,
		Binaries: []Binary{{Build: distributionBuild(versions.Distribution), Name: "registry", Dest: "/bin/registry"}},
		Files:    []File{{Path: "/var/lib/registry", Dir: true}},
		Config:   v1.Config{Entrypoint: []string{"/bin/registry"}, Cmd: []string{"serve", "/etc/distribution/config.yml"}},
	})

	c.Toxiproxy = Ref("toxiproxy", versions.Toxiproxy)
	c.Cluster = append(c.Cluster, Spec{
		Name: "toxiproxy", Refs: []string{c.Toxiproxy}, Static: true,
		Binaries: []Binary{{Build: toxiproxyBuild(versions.Toxiproxy), Name: "server", Dest: "/toxiproxy"}},
		Config:   v1.Config{Entrypoint: []string{"/toxiproxy"}, Cmd: []string{"-host=0.0.0.0", "-config=/etc/toxiproxy/proxies.json"}},
	})

	c.PackageCache = Ref("package-cache", "v1")
	c.Cluster = append(c.Cluster, Spec{
		Name: "package-cache", Refs: []string{c.PackageCache}, Static: true,
		Extra: func(ctx context.Context, f *Factory, tmp string) ([]File, error) {
			bin, err := f.packageCacheBinary(ctx, tmp)
			if err != nil {
				return nil, err
			}
			return []File{{Path: "/package-cache", Src: bin, Mode: 0o755}, {Path: "/var/cache/packages", Dir: true, Mode: 0o777}}, nil
		},
		ExtraInput: "package cache " + Key(server.Source, server.MainSource),
		Config:     v1.Config{Entrypoint: []string{"/package-cache"}},
	})

	c.BaseRefs["debian"] = Ref("base/debian", versions.Debian)
	c.BaseRefs["golang"] = Ref("base/golang", versions.Go+"-"+versions.Debian)
	c.BaseRefs["node"] = Ref("base/node", "18-"+versions.Debian)
	c.Bases = append(c.Bases,
		Spec{
			Name: "base-debian", Refs: []string{c.BaseRefs["debian"]}, Rootfs: &debianRootfs,
			Config: v1.Config{Cmd: []string{"bash"}, Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
		},
		Spec{
			Name: "base-golang", Refs: []string{c.BaseRefs["golang"]}, Rootfs: &debianRootfs,
			Extra: func(ctx context.Context, f *Factory, tmp string) ([]File, error) {
				dir, err := gomod.Download(ctx, "golang.org/toolchain", goToolchainVersion())
				if err != nil {
					return nil, err
				}
				return []File{{Path: "/usr/local/go", Src: dir, Exec: goToolchainExec}, {Path: "/go", Dir: true, Mode: 0o777}}, nil
			},
			ExtraInput: "golang.org/toolchain@" + goToolchainVersion() + " exec " + strings.Join(goToolchainExec, " "),
			Config: v1.Config{
				Cmd:        []string{"bash"},
				WorkingDir: "/go",
				Env: []string{
					"PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
					"GOPATH=/go", "GOTOOLCHAIN=local", "GOLANG_VERSION=" + versions.Go,
				},
			},
		},
		Spec{
			Name: "base-node", Refs: []string{c.BaseRefs["node"]}, Rootfs: &nodejsRootfs,
			Config: v1.Config{
				Cmd: []string{"node"},
				Env: []string{
					"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
					// Node.js keeps its own roots; this adds the system bundle, over
					// which --build-ca mounts the host's (a TLS-inspecting egress).
					"NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt",
				},
			},
		},
	)
	return c
}

// tektonSpec is the image of one command of a Tekton module, laid out as
// ko lays out Tekton's release images: the binary under /ko-app, started
// by the entrypoint, on the static base (user 65532).
func tektonSpec(name, ref string, b GoBuild, cmd string) Spec {
	return Spec{
		Name: name, Refs: []string{ref}, Static: true,
		Binaries: []Binary{{Build: b, Name: cmd, Dest: "/ko-app/" + cmd}},
		Files:    []File{{Path: "/var/run/ko", Dir: true}},
		Config: v1.Config{
			Entrypoint: []string{"/ko-app/" + cmd},
			Env:        []string{"PATH=/ko-app:/usr/local/bin:/usr/bin:/bin", "KO_DATA_PATH=/var/run/ko", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"},
		},
	}
}

// goToolchainExec are the executables of a Go distribution.
var goToolchainExec = []string{"bin/*", "pkg/tool/*/*"}

// goToolchainVersion is the golang.org/toolchain module version of a Go release.
func goToolchainVersion() string { return "v0.0.1-go" + versions.Go + ".linux-amd64" }

// pauseBinary compiles Kubernetes' pause.c statically, as its Makefile does.
func (f *Factory) pauseBinary(ctx context.Context, k8sVersion, tmp string) (string, error) {
	dir, err := gomod.Download(ctx, "k8s.io/kubernetes", k8sVersion)
	if err != nil {
		return "", err
	}
	out := filepath.Join(tmp, "pause")
	src := filepath.Join(dir, "build", "pause", "linux", "pause.c")
	if err := f.run(ctx, "", nil, "gcc", "-Os", "-Wall", "-static", "-DVERSION=v"+versions.Pause+"-cachebench", "-o", out, src); err != nil {
		return "", fmt.Errorf("compile pause: %w (is gcc with static libc installed? host/install-docker.sh installs it)", err)
	}
	return out, nil
}

// packageCacheBinary compiles the package cache from cachebench's own copy
// of its source: a module of its own with the standard library only, so
// that it builds wherever Go does, online or offline.
func (f *Factory) packageCacheBinary(ctx context.Context, tmp string) (string, error) {
	dir := filepath.Join(tmp, "package-cache-src")
	files := map[string]string{
		"go.mod":           "module cachebench.local/packagecache\n\ngo 1.22\n",
		"main.go":          server.MainSource,
		"server/server.go": server.Source,
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			return "", err
		}
	}
	out := filepath.Join(tmp, "package-cache")
	if err := f.run(ctx, dir, staticEnv, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "."); err != nil {
		return "", fmt.Errorf("compile the package cache: %w", err)
	}
	return out, nil
}

// BuildAll builds the specs side by side (each step waiting for a slot of
// the resource it uses) and returns their archives in the specs' order.
func (f *Factory) BuildAll(ctx context.Context, specs []Spec) ([]Archive, error) {
	out := make([]Archive, len(specs))
	g, gctx := errgroup.WithContext(ctx)
	for i, s := range specs {
		g.Go(func() (err error) {
			out[i], err = f.Build(gctx, s)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// SortedRefs returns the references of archives, for logs and keys.
func SortedRefs(as []Archive) []string {
	var r []string
	for _, a := range as {
		r = append(r, a.Refs...)
	}
	sort.Strings(r)
	return r
}

// ConfigDigest is the digest of the image's configuration (its image ID).
func (a Archive) ConfigDigest() (string, error) {
	img, err := tarball.ImageFromPath(a.Path, nil)
	if err != nil {
		return "", err
	}
	h, err := img.ConfigName()
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

// WriteCombined writes the archives as one archive (docker save format),
// each layer once however many images share it: the cluster imports every
// image in one go instead of one import per image.
func WriteCombined(w io.Writer, archives []Archive) error {
	refs := map[name.Reference]v1.Image{}
	for _, a := range archives {
		for _, r := range a.Refs {
			tag, err := name.NewTag(r)
			if err != nil {
				return fmt.Errorf("image %s: reference %q: %w", a.Name, r, err)
			}
			img, err := tarball.ImageFromPath(a.Path, &tag)
			if err != nil {
				return fmt.Errorf("image %s: %w", a.Name, err)
			}
			refs[tag] = img
		}
	}
	return tarball.MultiRefWrite(refs, w)
}
