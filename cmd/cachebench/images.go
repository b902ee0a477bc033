package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cachebench/cachebench/builders/all"
	"github.com/cachebench/cachebench/images"
	"github.com/cachebench/cachebench/log"
	"github.com/cachebench/cachebench/versions"
)

func newImagesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "images", Short: "Manage the images built for offline runs"}
	cacheDir := images.DefaultCacheDir()
	var verbose bool
	var builders []string
	kubernetes := ""
	build := &cobra.Command{
		Use:   "build",
		Short: "Build every image an offline run needs (what the cache lacks)",
		Long: `Build the kind node image (with the control-plane images preloaded), Tekton
Pipelines and Triggers, the builders' images (kaniko, kaniko-chainguard, BuildKit, Buildah, Docker;
all of them unless --builders names some), the registry, the git image and the
workloads' base images from pinned Go modules and Debian packages. Results are cached by their
inputs under --cache-dir, so a second build does nothing. Needs root.

Recipes run side by side: root filesystems and module downloads (network)
beside Go compiles (one per two cores); a status line every 30 s says what
runs and what waits. At the end a table gives each step's download and
build time, its size and whether it came from the cache.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l := log.New(os.Stderr, verbose)
			f, err := images.NewFactory(images.WithCacheDir(cacheDir), images.WithLogger(l), images.WithKubernetesVersion(kubernetes), images.WithTriggers(true))
			if err != nil {
				return err
			}
			defs, err := all.Select(builders)
			if err != nil {
				return err
			}
			set, err := f.Resolve(cmd.Context(), images.Offline, all.Images(defs))
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "node image: %s\n", set.NodeImage)
			for _, a := range set.Load {
				fmt.Fprintf(out, "image: %v  %s\n", a.Refs, a.Path)
			}
			for _, role := range sortedRoles(set.Builders) {
				fmt.Fprintf(out, "builder %s: %s\n", role, set.Builders[role])
			}
			for name, b := range set.Bases {
				fmt.Fprintf(out, "base %s: %s  %s\n", name, b.Repo, b.Archive)
			}
			fmt.Fprintf(out, "\ntime per step (also in %s):\n", filepath.Join(f.CacheDir(), images.TimingsFile))
			images.PrintTimings(out, f.Timings())
			if chain := f.CriticalPath(); len(chain) > 0 {
				fmt.Fprintf(out, "\ncritical path: %s\n", images.FormatPath(chain))
			}
			return nil
		},
	}
	build.Flags().StringVar(&cacheDir, "cache-dir", cacheDir, "cache of built images and binaries (CACHEBENCH_CACHE)")
	build.Flags().StringVar(&kubernetes, "kubernetes-version", kubernetes, "Kubernetes version of the node image (v1.34 releases; default "+versions.Kubernetes+")")
	build.Flags().StringSliceVar(&builders, "builders", nil, "builders whose images to build: "+strings.Join(all.Names(), ", ")+" (default all)")
	build.Flags().BoolVarP(&verbose, "verbose", "v", false, "show every command run")
	cmd.AddCommand(build)
	return cmd
}

func sortedRoles(m map[string]string) []string {
	var r []string
	for k := range m {
		r = append(r, k)
	}
	sort.Strings(r)
	return r
}
