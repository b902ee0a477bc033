package bench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/log"
)

// The benchmark is an end-to-end test: TestMain brings the cluster up once
// through e2e-framework and TestCache runs the plan as subtests named
// <strategy>/<workload>/r<round>-<cold|warmN>.
//
// It runs when asked for, by name (go test ./bench -run Cache) or with
// CACHEBENCH_E2E=1, which also turns "cannot run here" into a failure.
// Options come from CACHEBENCH_* variables (see Options.AddFlags).
var (
	session  *Session
	suiteCtx context.Context
	// skipReason, when set, is why TestCache does not run.
	skipReason string
	// benchStart is when the benchmark began: its budget counts from there.
	benchStart time.Time
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	e2e := os.Getenv("CACHEBENCH_E2E")
	required := e2e == "1"
	switch {
	case e2e == "0":
		skipReason = "CACHEBENCH_E2E=0"
		return m.Run()
	case !required && !runSelects("TestCache"):
		skipReason = "the benchmark runs when asked for: go test ./bench -run Cache (or CACHEBENCH_E2E=1)"
		return m.Run()
	case !required && testing.Short():
		skipReason = "skipped in -short mode"
		return m.Run()
	}
	cannot := func(err error) int {
		if required {
			fmt.Fprintf(os.Stderr, "cachebench: CACHEBENCH_E2E=1 but the benchmark cannot run: %v\n", err)
			return 1
		}
		skipReason = fmt.Sprintf("cannot run here: %v (CACHEBENCH_E2E=1 makes this a failure)", err)
		return m.Run()
	}
	opts := Defaults()
	fs := pflag.NewFlagSet("cachebench", pflag.ContinueOnError)
	opts.AddFlags(fs)
	// A bad setting is the caller's mistake, not "cannot run here": it
	// fails whenever the benchmark was asked for.
	if err := ApplyEnv(fs); err != nil {
		fmt.Fprintf(os.Stderr, "cachebench: %v\n", err)
		return 1
	}
	c, err := opts.Parse()
	if err != nil {
		fmt.Fprintf(os.Stderr, "cachebench: %v\n", err)
		return 1
	}
	ctx, stop := WithInterrupt(context.Background())
	defer stop()
	if err := c.Preflight(ctx); err != nil {
		return cannot(err)
	}
	if err := checkTimeout(c.Plan); err != nil {
		fmt.Fprintf(os.Stderr, "cachebench: %v\n", err)
		return 1
	}
	l := log.New(os.Stderr, opts.Verbose)
	benchStart = time.Now()
	session, err = NewSession(ctx, c, l)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cachebench: %v\n", err)
		return 1
	}
	testenv, err := env.NewWithContext(ctx, envconf.New())
	if err != nil {
		fmt.Fprintf(os.Stderr, "cachebench: %v\n", err)
		return 1
	}
	testenv.Setup(session.Setup()...)
	testenv.Setup(func(ctx context.Context, _ *envconf.Config) (context.Context, error) {
		suiteCtx = ctx
		return ctx, nil
	})
	testenv.Finish(session.Teardown()...)
	code := testenv.Run(m)
	if session.Writer != nil {
		l.Infof("results in %s; render them with: make report REPORT=%s", session.ResultsDir(), session.ResultsDir())
	}
	return code
}

// runSelects reports whether the -test.run pattern can select the test.
func runSelects(test string) bool {
	f := flag.Lookup("test.run")
	if f == nil || f.Value.String() == "" {
		return false
	}
	top, _, _ := strings.Cut(f.Value.String(), "/")
	for _, alt := range strings.Split(top, "|") {
		if re, err := regexp.Compile(alt); err == nil && re.MatchString(test) {
			return true
		}
	}
	return false
}

// checkTimeout refuses to start a plan that go test's -timeout (10 minutes
// unless given) would cut off midway with a panic.
func checkTimeout(c PlanConfig) error {
	f := flag.Lookup("test.timeout")
	if f == nil {
		return nil
	}
	timeout, err := time.ParseDuration(f.Value.String())
	if err != nil || timeout == 0 {
		return nil
	}
	m, err := c.selection(builders.Settings{}, nil)
	if err != nil {
		return err
	}
	if c.Rounds == 0 {
		// The budget bounds a precision-driven benchmark; setup comes on top.
		if need := c.Budget + 15*time.Minute; need > timeout {
			return fmt.Errorf("the benchmark may take its whole budget of %s plus the setup, and go test's -timeout is %s: pass -timeout %s (or a smaller CACHEBENCH_BUDGET, or fixed CACHEBENCH_ROUNDS)",
				c.Budget, timeout, need.Round(10*time.Minute)+10*time.Minute)
		}
		return nil
	}
	plan := Plan(m, c.Rounds, c.WarmRuns)
	if need := Estimate(plan); need > timeout {
		return fmt.Errorf("the plan has %d runs, about %s on a 2-core machine, and go test's -timeout is %s: pass -timeout %s (or fewer runs)",
			len(plan), need.Round(time.Minute), timeout, (2*need).Round(10*time.Minute)+10*time.Minute)
	}
	return nil
}
