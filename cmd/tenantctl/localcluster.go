package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/internal/localcluster"
	"github.com/connectsoft/tenantctl/internal/toolchain"
)

func init() { register(newLocalClusterCmd) }

func defaultClusterDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "tenantctl", "cluster")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".local", "state", "tenantctl", "cluster")
}

// newLocalClusterCmd runs the embedded default's Kubernetes API server (etcd, kube-apiserver,
// kube-controller-manager on loopback) in the background.
func newLocalClusterCmd(_ *globalOptions) *cobra.Command {
	var stateDir string
	var apiPort int
	cmd := &cobra.Command{
		Use:   "local-cluster",
		Short: "Run a local Kubernetes control plane on loopback (the embedded default)",
	}
	cmd.PersistentFlags().StringVar(&stateDir, "state-dir", defaultClusterDir(), "cluster state folder (etcd data, certificates, kubeconfig, logs)")
	up := &cobra.Command{
		Use:   "up",
		Short: "Start the cluster (no-op when it already runs) and print its kubeconfig path",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if kc, ok := localcluster.Running(cmd.Context(), stateDir); ok {
				fmt.Fprintln(cmd.OutOrStdout(), kc)
				return nil
			}
			_ = localcluster.StopDir(stateDir) // stale pids from a previous boot
			tc := toolchain.Default()
			if err := tc.CheckCluster(); err != nil {
				return exitcode.With(exitcode.Failed, err)
			}
			c, err := localcluster.Start(cmd.Context(), localcluster.Options{
				BinDir: tc.KubeBinDir, StateDir: stateDir, APIPort: apiPort, Detach: true,
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "local cluster ready at %s (logs in %s)\n", c.Server, filepath.Join(stateDir, "logs"))
			fmt.Fprintln(cmd.OutOrStdout(), c.Kubeconfig)
			return nil
		},
	}
	up.Flags().IntVar(&apiPort, "api-port", 16443, "kube-apiserver port on 127.0.0.1")
	down := &cobra.Command{
		Use:   "down",
		Short: "Stop the cluster (its data stays in the state folder)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return localcluster.StopDir(stateDir)
		},
	}
	kubeconfig := &cobra.Command{
		Use:   "kubeconfig",
		Short: "Print the kubeconfig path of the running cluster",
		RunE: func(cmd *cobra.Command, _ []string) error {
			kc, ok := localcluster.Running(cmd.Context(), stateDir)
			if !ok {
				return exitcode.With(exitcode.Failed, fmt.Errorf("no local cluster runs in %s (run `make cluster-up`)", stateDir))
			}
			fmt.Fprintln(cmd.OutOrStdout(), kc)
			return nil
		},
	}
	cmd.AddCommand(up, down, kubeconfig)
	return cmd
}
