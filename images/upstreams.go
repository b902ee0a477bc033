package images

import (
	"fmt"
	"path"
	"strings"

	"github.com/cachebench/cachebench/internal/gitd"
	"github.com/cachebench/cachebench/versions"
)

// Upstream builds, one per upstream Go module.

// kubernetesBuild builds the node and control-plane binaries. The version
// stamps matter: without them the API server reports v0.0.0-master and
// Tekton's controller and webhook exit at start ("Version check failed").
func kubernetesBuild(v string) GoBuild {
	major, minor, _ := strings.Cut(strings.TrimPrefix(v, "v"), ".")
	minor, patch, _ := strings.Cut(minor, ".")
	var ld []string
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		ld = append(ld,
			"-X "+pkg+".gitVersion="+v,
			"-X "+pkg+".gitMajor="+major,
			"-X "+pkg+".gitMinor="+minor,
			"-X "+pkg+".gitTreeState=clean",
			// A fixed date keeps the binaries, and so the cache key, reproducible.
			"-X "+pkg+".buildDate=2025-01-01T00:00:00Z",
		)
	}
	var pkgs []string
	for _, c := range []string{"kubelet", "kubeadm", "kubectl", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"} {
		pkgs = append(pkgs, "k8s.io/kubernetes/cmd/"+c)
	}
	return GoBuild{
		Module: "k8s.io/kubernetes", Version: v, Packages: pkgs, LDFlags: ld,
		Wrap: Wrapper{StagingFrom: fmt.Sprintf("v0.%s.%s", minor, patch)},
	}
}

// etcdBuild builds etcd from its server module. Its go.mod replaces its
// sibling modules with ../ paths, so a small main module calls etcdmain.
func etcdBuild(v string) GoBuild {
	return GoBuild{
		Module: "go.etcd.io/etcd/server/v3", Version: v,
		Wrap: Wrapper{MainName: "etcd", MainSource: `package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
`},
	}
}

// coreDNSBuild builds CoreDNS with the plugins that the Corefile kubeadm
// v1.34 writes uses (cmd/kubeadm/app/phases/addons/dns/manifests.go), as
// CoreDNS's own docs build it with a chosen plugin list: its main with
// fewer plugin imports. All of them (cloud DNS providers, etcd, ...)
// would take three times as long to compile, for nothing a cluster here
// uses.
func coreDNSBuild(v string) GoBuild {
	const m = "github.com/coredns/coredns"
	var imports strings.Builder
	for _, p := range coreDNSPlugins {
		fmt.Fprintf(&imports, "\t_ %q\n", m+"/plugin/"+p)
	}
	return GoBuild{Module: m, Version: v, Wrap: Wrapper{MainName: "coredns", MainSource: `package main

import (
` + imports.String() + `
	"github.com/coredns/coredns/coremain"
)

func main() { coremain.Run() }
`}}
}

// coreDNSPlugins serve kubeadm's Corefile: errors, health, ready,
// kubernetes, prometheus (the metrics plugin), forward, cache, loop,
// reload, loadbalance.
var coreDNSPlugins = []string{"errors", "health", "ready", "kubernetes", "metrics", "forward", "cache", "loop", "reload", "loadbalance"}

// tektonCommands are the images of a Tekton Pipelines release.
var tektonCommands = []string{"controller", "webhook", "events", "resolvers", "entrypoint", "nop", "sidecarlogresults", "workingdirinit"}

func tektonBuild(v string) GoBuild {
	var pkgs []string
	for _, c := range tektonCommands {
		pkgs = append(pkgs, "github.com/tektoncd/pipeline/cmd/"+c)
	}
	return GoBuild{Module: "github.com/tektoncd/pipeline", Version: v, Packages: pkgs}
}

// TriggersCommands are the images of a Tekton Triggers release (the core
// interceptors included); the other commands of the module are CLIs.
var TriggersCommands = []string{"controller", "webhook", "eventlistenersink", "interceptors"}

// triggersBuild builds Triggers from its own module: its go.mod replaces a
// docs generator the module proxy does not serve, which only a build-tools
// file imports, so package-scoped builds never need it.
func triggersBuild(v string) GoBuild {
	const m = "github.com/tektoncd/triggers"
	var pkgs []string
	for _, c := range TriggersCommands {
		pkgs = append(pkgs, m+"/cmd/"+c)
	}
	return GoBuild{Module: m, Version: v, InModule: true, Packages: pkgs}
}

// distributionBuild builds the registry with what the in-cluster
// registries use: the filesystem store, htpasswd auth and the pull-through
// proxy (the mirror), as its cmd/registry main does with every driver
// (its cloud stores, S3, Azure and GCS, compile for minutes).
func distributionBuild(v string) GoBuild {
	const m = "github.com/distribution/distribution/v3"
	return GoBuild{
		Module: m, Version: v,
		LDFlags: []string{"-X " + m + "/version.version=" + v},
		Wrap: Wrapper{MainName: "registry", MainSource: `package main

import (
	"os"

	"github.com/distribution/distribution/v3/registry"
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	_ "github.com/distribution/distribution/v3/registry/proxy"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

func main() {
	if err := registry.RootCmd.Execute(); err != nil {
		os.Exit(1)
	}
}
`},
	}
}

func toxiproxyBuild(v string) GoBuild {
	return GoBuild{
		Module: "github.com/Shopify/toxiproxy/v2", Version: v,
		Packages: []string{"github.com/Shopify/toxiproxy/v2/cmd/server"},
		LDFlags:  []string{"-X github.com/Shopify/toxiproxy/v2.Version=" + v},
	}
}

// gitServerBuild builds the git server (internal/gitd, from
// cachebench's own copy of its source) against go-git, as a wrapper module
// whose main calls it.
func gitServerBuild() GoBuild {
	b := GoBuild{Module: "github.com/go-git/go-git/v5", Version: versions.GoGit}
	b.Wrap = Wrapper{
		MainName:   path.Base(gitd.Binary),
		MainSource: "package main\n\nimport \"" + b.wrapperModule() + "/gitd\"\n\nfunc main() { gitd.Main() }\n",
		Files:      map[string]string{"gitd/gitd.go": gitd.Source},
	}
	return b
}
