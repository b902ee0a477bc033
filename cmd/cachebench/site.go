package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cachebench/cachebench/bench"
	"github.com/cachebench/cachebench/reports"
)

func newSiteCmd() *cobra.Command {
	out := "site"
	cmd := &cobra.Command{
		Use:   "site FOLDER...",
		Short: "Make a static site of benchmarks: an index, each report, the trend",
		Long: `Make a static site (for GitHub Pages, or any web server) of benchmarks:
each FOLDER is a results folder or a folder of them (benchmarks/, a
checkout of the nightly history). Each benchmark's records are copied into
<out>/<run-id>/ and its report rendered there, deciding with the commit
mix, rules and prices it was run with; with two benchmarks or more, their
trend goes to <out>/trend/; <out>/index.html lists them all, newest first,
with their settings and recommendations. The pages load nothing from
elsewhere: no scripts, no fonts. Needs no cluster.`,
		Example: `  cachebench site benchmarks/examples
  cachebench site --out public history`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return fmt.Errorf("name the benchmarks to make a site of: results folders, or folders of them, e.g. cachebench site benchmarks")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			site, err := reports.RenderSite(out, args, bench.DefinedBuilders())
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s: %d benchmarks\n", filepath.Join(site.Dir, reports.SiteIndex), len(site.Benchmarks))
			for _, b := range site.Benchmarks {
				fmt.Fprintf(w, "  %s\n", filepath.Join(site.Dir, b.Page))
			}
			if site.Trend != "" {
				fmt.Fprintf(w, "  %s\n", filepath.Join(site.Dir, site.Trend))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", out, "folder to write the site into")
	return cmd
}
