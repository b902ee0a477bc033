// Command cachebench measures what build-cache strategies save for
// container image builds in Tekton, on a kind cluster it creates (or on an
// existing one): run the benchmark, render its report, manage the cluster
// and the offline images.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/cachebench/cachebench/bench"
)

func main() {
	ctx, stop := bench.WithInterrupt(context.Background())
	defer stop()
	cmd := newRoot()
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "cachebench: %v\n", err)
		if errors.Is(err, context.Canceled) {
			os.Exit(130)
		}
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "cachebench",
		Short: "Measure what build-cache strategies save for image builds in Tekton",
		Long: `cachebench runs the same container image build (git clone, then kaniko
build and push) in Tekton Pipelines under each cache strategy:

  none      kaniko --cache=false
  registry  kaniko's layer cache in a registry repository
  pv-warm   base images warmed into a volume (--cache-dir) plus a layer cache

Each round resets a strategy's cache and starts with a cold run; warm runs
follow, interleaved across strategies. Every run is appended to
<out>/<run-id>/results.jsonl as it finishes; "cachebench report" turns a
results folder into charts and a report.

Every flag can also be given as an environment variable: --warm-runs is
CACHEBENCH_WARM_RUNS. Flags win over variables.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRunCmd(), newReportCmd(), newClusterCmd(), newImagesCmd())
	return root
}
