package images

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/sync/errgroup"

	"github.com/cachebench/cachebench/versions"
)

// Mode says where images come from.
type Mode string

const (
	// Auto picks Online when a public registry answers, else Offline.
	Auto Mode = "auto"
	// Online pulls the official images.
	Online Mode = "online"
	// Offline builds every image locally from pinned sources.
	Offline Mode = "offline"
)

// ParseMode checks a mode given by a user.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case Auto, Online, Offline:
		return m, nil
	}
	return "", fmt.Errorf("images mode %q: want auto, online or offline", s)
}

// Base is a base image of the workloads: pushed into the in-cluster
// registry under Repo (e.g. "base/debian:bookworm") before any build.
type Base struct {
	Repo    string
	Archive string // offline: archive to push
	Remote  string // online: official image to copy
}

// Set is what a benchmark run uses, wherever it came from.
type Set struct {
	Mode       Mode
	NodeImage  string    // kind node image ("" means kind's default)
	DefaultCNI bool      // offline node images bring their own bridge CNI
	Load       []Archive // loaded into the cluster once it runs

	TektonImages     map[string]string // offline: Tekton command -> image
	TektonShell      string
	TektonReleaseURL string // online: the published release manifest

	// Triggers is set when Tekton Triggers is wanted (WithTriggers):
	// offline its images by command, online its release manifests.
	Triggers *TriggersImages

	// Builders maps the role of each image of the selected builders
	// (BuilderImage.Role) to its reference.
	Builders map[string]string

	Registry  string
	Toxiproxy string
	Git       string
	// PackageCache is built here in both modes (cluster/pkgcache).
	PackageCache string
	Bases        map[string]Base // by logical name ("debian", "golang")
}

// TriggersImages are the images of Tekton Triggers, by command
// (offline), or its published manifests (online).
type TriggersImages struct {
	Commands        map[string]string
	ReleaseURL      string
	InterceptorsURL string
}

// baseRepos are the in-cluster names of the base images; workloads'
// Dockerfiles use them as FROM ${BASE_REGISTRY}/<repo>.
var baseRepos = map[string]string{
	"debian": "base/debian:" + versions.Debian,
	"golang": "base/golang:" + versions.Go + "-" + versions.Debian,
	"node":   "base/node:18-" + versions.Debian,
}

// BaseRepo returns the in-cluster repo:tag of a base image.
func BaseRepo(name string) (string, bool) {
	r, ok := baseRepos[name]
	return r, ok
}

// CanPull reports whether the public registries answer from here.
func CanPull(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://registry-1.docker.io/v2/", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	// 401 is the normal answer of an anonymous ping: the registry is there.
	return resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized
}

// Resolve decides the mode (for Auto) and prepares the images of a run:
// offline, it builds whatever the cache lacks. builders are the images of
// the builders to benchmark, which are built and loaded with the rest;
// online, those with an official image run it, and the others are built
// and loaded like git.
func (f *Factory) Resolve(ctx context.Context, mode Mode, builders []BuilderImage) (*Set, error) {
	if err := checkBuilderImages(builders); err != nil {
		return nil, err
	}
	defer func() {
		if err := f.Close(); err != nil {
			f.log.Warnf("image factory: %v", err)
		}
	}()
	if mode == Auto || mode == "" {
		mode = Offline
		if CanPull(ctx) {
			mode = Online
		}
		f.log.Infof("images: %s (a public registry %s)", mode, map[bool]string{true: "answers", false: "does not answer"}[mode == Online])
	}
	cat := NewCatalog(f.offlineKubernetes(), builders...)
	if mode == Online {
		return f.resolveOnline(ctx, cat)
	}
	if k8s := f.offlineKubernetes(); !strings.HasPrefix(k8s, offlineMinor) {
		return nil, fmt.Errorf("offline images are made for Kubernetes %sx (etcd, CoreDNS and pause as kubeadm v1.34 lists them), not %s: use a v1.34 release, or --images=online", offlineMinor, k8s)
	}
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	builderSpecs, builderRefs := offlineBuilders(cat.BuilderImages)
	specs := append(append([]Spec(nil), cat.Cluster...), builderSpecs...)
	if f.triggers {
		specs = append(specs, cat.Triggers...)
	}
	baseSpecs := f.selectBases(cat.Bases)
	durationsPath := filepath.Join(f.cacheDir, DurationsFile)
	durations, err := LoadDurations(durationsPath)
	if err != nil {
		f.log.Warnf("image factory: %v", err)
		durations = Durations{}
	}
	plan := durations.plan(append(slices.Clone(specs), baseSpecs...), !f.noNode, kubernetesBuild(f.offlineKubernetes()), cat.ControlPlane)
	paths := criticalPaths(plan)
	f.inputs = inputs(plan)
	f.sched.prioritize(paths, time.Second)
	_, finish := simulate(plan, f.slots, paths)
	f.log.Debugf("images: a build of everything would take about %s here (critical path first)", (time.Duration(finish) * time.Second).Round(time.Second))
	go f.sched.report(ctx, 30*time.Second)
	// Every recipe at once; each step waits for a slot of what it uses (the
	// network, the CPU, unpacking), the longest chain of work first, and
	// steps shared by several images run once. The node image waits for
	// the control-plane images it preloads.
	g, gctx := errgroup.WithContext(ctx)
	var cp, load []Archive
	var node string
	cpBuilt := make(chan struct{})
	if !f.noNode {
		g.Go(func() (err error) {
			defer close(cpBuilt)
			cp, err = f.BuildAll(gctx, cat.ControlPlane)
			return err
		})
		g.Go(func() (err error) {
			node, err = f.NodeImage(gctx, cat.ControlPlane, func() ([]Archive, error) {
				<-cpBuilt
				if cp == nil {
					return nil, errors.New("the control-plane images were not built")
				}
				return cp, nil
			})
			return err
		})
	}
	g.Go(func() (err error) {
		load, err = f.BuildAll(gctx, specs)
		return err
	})
	var bases []Archive
	g.Go(func() (err error) {
		bases, err = f.BuildAll(gctx, baseSpecs)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	set := &Set{
		Mode: Offline, NodeImage: node, Load: load,
		TektonImages: cat.TektonImages, TektonShell: cat.TektonShell,
		Registry: cat.Registry, Toxiproxy: cat.Toxiproxy, Git: cat.Git, PackageCache: cat.PackageCache,
		Bases: map[string]Base{},
	}
	set.Builders = builderRefs
	if f.triggers {
		set.Triggers = &TriggersImages{Commands: cat.TriggersImages}
	}
	for i, s := range baseSpecs {
		logical := strings.TrimPrefix(s.Name, "base-")
		set.Bases[logical] = Base{Repo: baseRepos[logical], Archive: bases[i].Path}
	}
	if err := WriteTimings(filepath.Join(f.cacheDir, TimingsFile), f.Timings()); err != nil {
		f.log.Warnf("write the timing table: %v", err)
	}
	durations.Merge(f.Timings())
	if err := durations.Save(durationsPath); err != nil {
		f.log.Warnf("write the durations: %v", err)
	}
	if chain := f.CriticalPath(); len(chain) > 0 {
		f.log.Infof("critical path: %s", FormatPath(chain))
	}
	f.log.Infof("offline images ready in %s (cache %s)", time.Since(start).Round(time.Second), f.cacheDir)
	return set, nil
}

// resolveOnline: official images where there are any; git and the builders
// without public images are built here and loaded into the cluster.
//
// Every official image is used by digest: the node image as kind
// publishes it, Tekton's and Triggers' as their release manifests name
// them, the others resolved from their tag now (and a digest given
// checked), before anything is built, so that a registry out of reach is
// said at once.
func (f *Factory) resolveOnline(ctx context.Context, cat *Catalog) (*Set, error) {
	node := f.nodeImage
	if node == "" && !f.noNode {
		var err error
		if node, err = OnlineNodeImage(f.kubernetes, CgroupV2()); err != nil {
			return nil, err
		}
	}
	local, refs := cat.onlinePlan()
	set := &Set{
		Mode: Online, NodeImage: node, DefaultCNI: true,
		TektonReleaseURL: versions.TektonReleaseURL,
		Registry:         versions.RegistryImage, Toxiproxy: versions.ToxiproxyImage, Git: cat.Git, PackageCache: cat.PackageCache,
		Bases: map[string]Base{
			"debian": {Repo: baseRepos["debian"], Remote: versions.DebianBaseImage},
			"golang": {Repo: baseRepos["golang"], Remote: versions.GolangBaseImage},
			"node":   {Repo: baseRepos["node"], Remote: versions.NodeBaseImage},
		},
		Builders: refs,
	}
	for logical := range set.Bases {
		if !f.wantsBase(logical) {
			delete(set.Bases, logical)
		}
	}
	if f.triggers {
		set.Triggers = &TriggersImages{ReleaseURL: versions.TriggersReleaseURL, InterceptorsURL: versions.TriggersInterceptorsURL}
	}
	start := time.Now()
	if err := set.pinOfficial(ctx); err != nil {
		return nil, err
	}
	f.log.Infof("official images found, by digest, in %s", time.Since(start).Round(100*time.Millisecond))
	var err error
	if set.Load, err = f.BuildAll(ctx, local); err != nil {
		return nil, err
	}
	return set, nil
}

// pinOfficial pins every official image of the set (Pin): every reference
// but those of the images made here (LocalPrefix).
func (s *Set) pinOfficial(ctx context.Context) error {
	var official []string
	s.mapRefs(func(ref string) string {
		if !strings.HasPrefix(ref, LocalPrefix+"/") && !slices.Contains(official, ref) {
			official = append(official, ref)
		}
		return ref
	})
	pinned := slices.Clone(official)
	refs := make([]*string, len(pinned))
	for i := range pinned {
		refs[i] = &pinned[i]
	}
	if err := pinAll(ctx, refs...); err != nil {
		return err
	}
	to := map[string]string{}
	for i, ref := range official {
		to[ref] = pinned[i]
	}
	s.mapRefs(func(ref string) string { return cmp.Or(to[ref], ref) })
	return nil
}

// mapRefs replaces each image reference of the set (the empty ones aside)
// by what fn returns for it.
func (s *Set) mapRefs(fn func(ref string) string) {
	to := func(ref *string) {
		if *ref != "" {
			*ref = fn(*ref)
		}
	}
	for _, ref := range []*string{&s.NodeImage, &s.TektonShell, &s.Registry, &s.Toxiproxy, &s.Git, &s.PackageCache} {
		to(ref)
	}
	tables := []map[string]string{s.TektonImages, s.Builders}
	if s.Triggers != nil {
		tables = append(tables, s.Triggers.Commands)
	}
	for _, m := range tables {
		for k, ref := range m {
			to(&ref)
			m[k] = ref
		}
	}
	for l, b := range s.Bases {
		to(&b.Remote)
		s.Bases[l] = b
	}
}

// wantsBase reports whether WithBases names a base image (all are wanted
// without it).
func (f *Factory) wantsBase(logical string) bool {
	return f.bases == nil || slices.Contains(f.bases, logical)
}

// selectBases keeps the base images' specs WithBases names.
func (f *Factory) selectBases(specs []Spec) []Spec {
	var out []Spec
	for _, s := range specs {
		if f.wantsBase(strings.TrimPrefix(s.Name, "base-")) {
			out = append(out, s)
		}
	}
	return out
}

// onlinePlan returns the images an online run builds locally (git, the
// package cache, and the builders' images that have no official ones) and
// the builders' references.
func (c *Catalog) onlinePlan() ([]Spec, map[string]string) {
	local := []Spec{c.SpecNamed("git"), c.SpecNamed("package-cache")}
	refs := map[string]string{}
	for _, b := range c.BuilderImages {
		if b.Official != "" {
			refs[b.Role] = b.Official
			continue
		}
		refs[b.Role] = b.Ref()
		local = append(local, b.Spec)
	}
	return local, refs
}

// groups lists every spec of the catalog, builder images included.
func (c *Catalog) groups() [][]Spec {
	builders, _ := offlineBuilders(c.BuilderImages)
	return [][]Spec{c.ControlPlane, c.Cluster, c.Bases, c.Triggers, builders}
}

// specByRef finds the spec that makes an image reference.
func (c *Catalog) specByRef(ref string) Spec {
	for _, group := range c.groups() {
		for _, s := range group {
			for _, r := range s.Refs {
				if r == ref {
					return s
				}
			}
		}
	}
	panic("images: no spec makes " + ref)
}

// SpecNamed is the spec of the catalog's image of that name ("buildkit",
// "tekton-controller"); it panics on a name it lacks.
func (c *Catalog) SpecNamed(name string) Spec {
	for _, group := range c.groups() {
		for _, s := range group {
			if s.Name == name {
				return s
			}
		}
	}
	panic("images: no spec named " + name)
}

// Image opens the base image from its archive or its official source.
func (b Base) Image(ctx context.Context) (v1.Image, error) {
	if b.Archive != "" {
		return tarball.ImageFromPath(b.Archive, nil)
	}
	ref, err := name.ParseReference(b.Remote)
	if err != nil {
		return nil, err
	}
	// The keychain lets a user's private bases come with their docker login.
	return remote.Image(ref, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"}))
}
