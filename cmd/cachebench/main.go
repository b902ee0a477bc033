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
		Long: `cachebench runs the same container image build (git clone, then build and
push) in Tekton Pipelines under each builder (kaniko, kaniko-chainguard,
BuildKit, Buildah, Docker) and each cache strategy:

  none      nothing kept between builds
  registry  a layer cache in a registry repository near the cluster
  pv-warm   a volume warmed before the round (base images; BuildKit's,
            Buildah's and Docker's layers too)
  mirror    base images through a pull-through mirror (when named)
  daemon    one long-lived daemon of the round's that every build talks to
            (BuildKit and Docker; when named)

Each round resets a strategy's cache and starts with a cold run; warm runs
follow, interleaved across builders and strategies. Every run is appended
to <out>/<run-id>/results.jsonl as it finishes; "cachebench report" turns a
results folder into charts and a report that opens with a recommendation
for your commit mix (--mix), rules (--allow) and prices.

Every flag can also be given as an environment variable: --warm-runs is
CACHEBENCH_WARM_RUNS. Flags win over variables.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRunCmd(), newReportCmd(), newSiteCmd(), newClusterCmd(), newImagesCmd())
	return root
}
