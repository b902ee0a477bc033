package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cachebench/cachebench/reports"
	"github.com/cachebench/cachebench/results"
)

func newReportCmd() *cobra.Command {
	root := results.DefaultRoot()
	cmd := &cobra.Command{
		Use:   "report [results-folder]",
		Short: "Render charts and report.md from a results folder",
		Long: `Render a results folder (default: the one under --out whose benchmark
started last) into PNG and SVG charts, report.md, report.html (one
self-contained page) and bench.txt (Go benchmark format, for benchstat),
written into the same folder. When the
folder's parent holds two or more results folders, also draw their trend into
<parent>/trend/ and mark the medians that moved beyond the previous
benchmark's confidence interval. Needs no cluster.`,
		Example: `  cachebench report
  cachebench report benchmarks/20261126-131647
  cachebench report benchmarks/examples/20261126-143712`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := ""
			if len(args) == 1 {
				dir = args[0]
			} else {
				var err error
				if dir, err = results.Newest(root); err != nil {
					return err
				}
			}
			rep, err := reports.Render(dir)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s: %d runs, %d groups\n", dir, len(rep.Results.Runs), len(rep.Stats))
			for _, f := range rep.Files {
				fmt.Fprintf(out, "  %s\n", filepath.Join(dir, f))
			}
			parent := filepath.Dir(filepath.Clean(dir))
			if all, err := results.All(parent); err != nil || len(all) < 2 {
				return nil
			}
			tr, err := reports.RenderTrend(parent)
			if err != nil {
				return fmt.Errorf("trend: %w", err)
			}
			fmt.Fprintf(out, "trend of %s:\n", parent)
			for _, f := range tr.Files {
				fmt.Fprintf(out, "  %s\n", filepath.Join(tr.Dir, f))
			}
			for _, r := range tr.Regressions() {
				fmt.Fprintf(out, "  REGRESSION %s\n", r)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&root, "out", root, "folder holding results folders (CACHEBENCH_OUT)")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error { return applyEnv(cmd) }
	return cmd
}
