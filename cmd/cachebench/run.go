package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/cachebench/cachebench/bench"
	"github.com/cachebench/cachebench/log"
	"github.com/cachebench/cachebench/reports"
	"github.com/cachebench/cachebench/results"
)

func newRunCmd() *cobra.Command {
	opts := bench.Defaults()
	var noReport bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the benchmark and render its report",
		Long: `Run the benchmark: bring up the cluster (creating the kind cluster and,
offline, building the images the cache lacks), run rounds, delete the
cluster unless --keep, and render the report.

Every strategy runs under every builder (kaniko, its maintained fork
kaniko-chainguard, BuildKit, Buildah, Docker), runs interleaved across builders and
strategies. By default rounds go on until every row (workload, builder,
strategy, cold or warm) has a 95% interval within --precision (of its
speedup against the same builder without a cache; of the median for none
itself), or until the next round would overrun --budget; each row says what
it reached. --rounds fixes the number of rounds instead.

Ctrl-C cancels the running PipelineRun, keeps every result written so far
and still cleans up; --resume RUN-ID continues such a benchmark later.`,
		Example: `  cachebench run
  cachebench run --builders kaniko,buildkit --workloads small --precision 10% --budget 40m
  cachebench run --workloads small --strategies none,registry --rounds 1 --warm-runs 10
  cachebench run --workload-dir ~/src/myservice --builders kaniko,buildkit --rounds 3
  cachebench run --kubeconfig ~/.kube/config --images online
  cachebench run --resume 20261205-195753 --reuse`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBenchmark(cmd.Context(), opts, !noReport)
		},
	}
	opts.AddFlags(cmd.Flags())
	cmd.Flags().BoolVar(&noReport, "no-report", false, "do not render the report at the end")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if err := applyEnv(cmd); err != nil {
			return err
		}
		if opts.Resume == "" {
			return nil
		}
		if err := results.CheckRunID(opts.Resume); err != nil {
			return fmt.Errorf("--resume: %w", err)
		}
		return bench.ResumeFlags(cmd.Flags(), filepath.Join(opts.OutRoot, opts.Resume))
	}
	return cmd
}

// applyEnv sets the flags not given on the command line from their
// CACHEBENCH_* variables.
func applyEnv(cmd *cobra.Command) error { return bench.ApplyEnv(cmd.Flags()) }

func runSteps(ctx context.Context, steps []env.Func, cfg *envconf.Config) (context.Context, error) {
	var err error
	for _, f := range steps {
		if ctx, err = f(ctx, cfg); err != nil {
			return ctx, err
		}
	}
	return ctx, nil
}

func runBenchmark(ctx context.Context, opts bench.Options, render bool) error {
	start := time.Now()
	l := log.New(os.Stderr, opts.Verbose)
	klogTo(l)
	c, err := opts.Parse()
	if err != nil {
		return err
	}
	s, err := bench.NewSession(ctx, c, l)
	if err != nil {
		return err
	}
	cfg := envconf.New()
	ctx, setupErr := runSteps(ctx, s.Setup(), cfg)
	failed, total, unchecked, timedOut := 0, 0, 0, 0
	var stopErr *bench.StoppedError
	if setupErr == nil {
		if p := c.Plan; p.Rounds > 0 {
			l.Infof("plan: %d rounds of %s", p.Rounds, s.Matrix.Shape(p.WarmRuns))
		} else {
			l.Infof("plan: rounds of %s, until every row's 95%% interval is within ±%.0f%%, within %s",
				s.Matrix.Shape(p.WarmRuns), p.Precision*100, p.Budget)
		}
		planner := s.Planner(start)
	rounds:
		for {
			planned, why := planner.Next(s.Runner.Runs())
			if planned == nil {
				l.Infof("the benchmark ends: %s", why)
				break
			}
			var mu sync.Mutex
			done := 0
			bench.RunRound(planned, c.Runs.SideBySide, func(plannedRun bench.PlannedRun) bool {
				if ctx.Err() != nil {
					return false
				}
				mu.Lock()
				done++
				l.Infof("run %d/%d of round %d: %s", done, len(planned), plannedRun.Round, plannedRun.Name())
				mu.Unlock()
				runs, err := s.Runner.Do(ctx, plannedRun)
				mu.Lock()
				defer mu.Unlock()
				total += len(runs)
				for _, r := range runs {
					switch {
					case r.EndsLevel():
						timedOut++ // its level ended: a finding
					case !r.Success:
						failed++
					}
					if r.Check != nil && r.Check.Verdict != results.Verified {
						unchecked++
					}
				}
				if errors.As(err, &stopErr) {
					l.Warnf("%v", stopErr)
					return false
				}
				if err != nil && ctx.Err() == nil {
					l.Warnf("%v", err)
				}
				return true
			})
			if ctx.Err() != nil || stopErr != nil {
				break rounds
			}
			l.Infof("%s", planner.Progress(s.Runner.Runs()))
			if w := planner.Shortfall(); w != "" {
				l.Warnf("%s", w)
			}
		}
		if note := planner.Summary(s.Runner.Runs()); note != "" && s.Writer != nil {
			l.Infof("%s", note)
			if err := s.Writer.AddNote(note); err != nil {
				l.Warnf("%v", err)
			}
		}
	}
	// Teardown runs even after Ctrl-C (its steps ignore the cancellation).
	if _, err := runSteps(ctx, s.Teardown(), cfg); err != nil {
		l.Warnf("teardown: %v", err)
	}
	if setupErr != nil {
		return fmt.Errorf("setup: %w", setupErr)
	}
	if render && total > 0 {
		rep, err := reports.Render(s.ResultsDir(), c.Plan.Decision)
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		for _, d := range rep.Decisions {
			l.Infof("recommendation for %s", reports.Headline(d))
		}
		l.Infof("report: %s", filepath.Join(rep.Dir, reports.MarkdownFile))
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted after %d runs; results so far: %s: %w", total, s.ResultsDir(), ctx.Err())
	}
	if stopErr != nil {
		return fmt.Errorf("%w (%d runs; results: %s)", stopErr, total, s.ResultsDir())
	}
	if timedOut > 0 {
		l.Warnf("%d builds at once did not finish within --run-timeout %s: their levels ended there (the report's Builds at once lists them)", timedOut, c.Runs.Timeout)
	}
	if unchecked > 0 {
		failed += unchecked
		l.Warnf("%d successful runs whose builder log contradicts their strategy or could not be read (listed in the report)", unchecked)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d runs failed or contradicted their strategy (reasons in %s)", failed, total, s.ResultsDir())
	}
	return nil
}
