package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/cachebench/cachebench/bench"
	"github.com/cachebench/cachebench/cluster"
	"github.com/cachebench/cachebench/cluster/kind"
	"github.com/cachebench/cachebench/log"
)

func newClusterCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "cluster", Short: "Bring the benchmark cluster up or down"}
	cmd.AddCommand(newClusterUpCmd(), newClusterDownCmd())
	return cmd
}

func newClusterUpCmd() *cobra.Command {
	opts := bench.Defaults()
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Create the cluster with Tekton, the registry and the git server, and keep it",
		Long: `Bring everything up as "run" would, then stop: the cluster stays for
inspection or for later runs with --reuse.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Keep = true
			l := log.New(os.Stderr, opts.Verbose)
			klogTo(l)
			c, err := opts.Parse()
			if err != nil {
				return err
			}
			s, err := bench.NewSession(cmd.Context(), c, l)
			if err != nil {
				return err
			}
			ctx, err := runSteps(cmd.Context(), s.ClusterSetup(), envconf.New())
			// The teardown keeps a cluster that came up, and deletes one
			// whose creation failed or was interrupted.
			if _, terr := runSteps(ctx, s.Teardown(), envconf.New()); terr != nil {
				l.Warnf("teardown: %v", terr)
			}
			if err != nil {
				return fmt.Errorf("setup: %w", err)
			}
			if e, ok := cluster.EnvFrom(ctx); ok {
				fmt.Fprintf(cmd.OutOrStdout(), "cluster ready; export KUBECONFIG=%s\n", e.Kubeconfig)
			}
			return nil
		},
	}
	opts.AddFlags(cmd.Flags())
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error { return applyEnv(cmd) }
	return cmd
}

func newClusterDownCmd() *cobra.Command {
	name := "cachebench"
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Delete the kind cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if v := os.Getenv(bench.EnvName("cluster-name")); v != "" && !cmd.Flags().Changed("cluster-name") {
				name = v
			}
			p := kind.New(kind.WithName(name), kind.WithLogger(log.New(os.Stderr, false)))
			ok, err := p.Exists()
			if err != nil {
				return err
			}
			if !ok {
				fmt.Fprintf(cmd.OutOrStdout(), "no kind cluster named %q\n", name)
				return nil
			}
			return p.Destroy(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&name, "cluster-name", name, "name of the kind cluster")
	return cmd
}
