package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cachebench/cachebench/bench"
	"github.com/cachebench/cachebench/decision"
	"github.com/cachebench/cachebench/reports"
	"github.com/cachebench/cachebench/results"
)

func newReportCmd() *cobra.Command {
	root := results.DefaultRoot()
	flags := decision.NewFlags()
	cmd := &cobra.Command{
		Use:   "report [results-folder]",
		Short: "Render charts and report.md from a results folder",
		Long: `Render a results folder (default: the one under --out whose benchmark
started last) into PNG and SVG charts, report.md, report.html (one
self-contained page) and bench.txt (Go benchmark format, for benchstat),
written into the same folder. When the
folder's parent holds two or more results folders, also draw their trend into
<parent>/trend/ and mark the medians that moved beyond the previous
benchmark's confidence interval. Needs no cluster.

The report opens with a recommendation for your commit mix (--mix), rules
(--allow) and prices; left out, each takes what the benchmark was run
with.`,
		Example: `  cachebench report
  cachebench report benchmarks/20261126-131647
  cachebench report benchmarks/examples/20261126-143712
  cachebench report --mix source=70,base=20,none=10 --allow registry-writes --current kaniko/none`,
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
			res, err := results.Load(dir)
			if err != nil {
				return err
			}
			in, err := recordedDecision(cmd, res.Environment.Settings, &flags)
			if err != nil {
				return fmt.Errorf("%s: %w", dir, err)
			}
			rep, err := reports.RenderResults(res, in)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s: %d runs, %d groups\n", dir, len(rep.Results.Runs), len(rep.Stats))
			for _, d := range rep.Decisions {
				fmt.Fprintf(out, "recommendation for %s\n", reports.Headline(d))
			}
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
	flags.Register(cmd.Flags())
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error { return applyEnv(cmd) }
	return cmd
}

// recordedDecision parses the decision's flags, each left out taking the
// value the benchmark recorded in its settings.
func recordedDecision(cmd *cobra.Command, settings map[string]string, f *decision.Flags) (decision.Inputs, error) {
	if err := decision.Recorded(cmd.Flags(), settings); err != nil {
		return decision.Inputs{}, err
	}
	in, err := f.Inputs()
	if err != nil {
		return decision.Inputs{}, err
	}
	in.Defined = bench.DefinedBuilders()
	return in, nil
}
