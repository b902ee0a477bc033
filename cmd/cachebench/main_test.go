package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// parseRun parses args for the run command and applies the
// environment as the command would, returning the command.
func parseRun(t *testing.T, args ...string) *cobra.Command {
	t.Helper()
	root := newRoot()
	cmd, rest, err := root.Find(append([]string{"run"}, args...))
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Fatal(err)
	}
	if err := cmd.PreRunE(cmd, nil); err != nil {
		t.Fatal(err)
	}
	return cmd
}

func TestFlagsWinOverEnvironment(t *testing.T) {
	t.Setenv("CACHEBENCH_WORKLOADS", "gobuild")
	t.Setenv("CACHEBENCH_WARM_RUNS", "9")
	t.Setenv("CACHEBENCH_ROUNDS", "4")
	cmd := parseRun(t, "--workloads", "small", "--warm-runs", "2")
	get := func(name string) string { return cmd.Flags().Lookup(name).Value.String() }
	if got := get("workloads"); got != "[small]" {
		t.Errorf("workloads = %s, want the flag's [small]", got)
	}
	if got := get("warm-runs"); got != "2" {
		t.Errorf("warm-runs = %s, want the flag's 2", got)
	}
	if got := get("rounds"); got != "4" {
		t.Errorf("rounds = %s, want the environment's 4", got)
	}
}

func TestEnvironmentListReplacesTheDefault(t *testing.T) {
	t.Setenv("CACHEBENCH_STRATEGIES", "none,registry")
	cmd := parseRun(t)
	if got := cmd.Flags().Lookup("strategies").Value.String(); got != "[none,registry]" {
		t.Fatalf("strategies = %s", got)
	}
}

func TestHelpReads(t *testing.T) {
	root := newRoot()
	var out strings.Builder
	root.SetOut(&out)
	root.SetArgs([]string{"run", "--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--warm-runs", "--strategies", "--kubeconfig", "--images", "Ctrl-C"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("run --help lacks %q", want)
		}
	}
}

// TestReportAndSiteRefuseBadInput: the decision's flags are checked before
// anything is rendered, and a site needs benchmarks, each refusal naming
// the fix.
func TestReportAndSiteRefuseBadInput(t *testing.T) {
	example := "../../benchmarks/examples/decide-small"
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"site"}, "e.g. cachebench site benchmarks"},
		{[]string{"report", example, "--mix", "source=lots"}, `"lots"`},
		{[]string{"report", example, "--mix", "deps=1"}, "--change deps"},
		{[]string{"report", example, "--allow", "root"}, "registry-writes"},
		{[]string{"report", example, "--current", "buildah/none"}, "choose from"},
	} {
		root := newRoot()
		root.SetOut(new(strings.Builder))
		root.SetArgs(tt.args)
		if err := root.Execute(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want an error naming %q", tt.args, err, tt.want)
		}
	}
}
