package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/internal/localcluster"
	"github.com/connectsoft/tenantctl/internal/localpostgres"
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
// kube-controller-manager on loopback) and its PostgreSQL server in the background.
func newLocalClusterCmd(_ *globalOptions) *cobra.Command {
	var stateDir string
	var apiPort, pgPort int
	cmd := &cobra.Command{
		Use:   "local-cluster",
		Short: "Run a local Kubernetes control plane and PostgreSQL server on loopback (the embedded default)",
	}
	cmd.PersistentFlags().StringVar(&stateDir, "state-dir", defaultClusterDir(), "cluster state folder (etcd data, certificates, kubeconfig, logs; PostgreSQL in postgres/)")
	pgDir := func() string { return filepath.Join(stateDir, "postgres") }
	up := &cobra.Command{
		Use:   "up",
		Short: "Start the cluster and PostgreSQL (no-op for what already runs); print the kubeconfig path",
		RunE: func(cmd *cobra.Command, _ []string) error {
			// PostgreSQL first: it is ready in about a second and does not need the built tools.
			if err := postgresUp(cmd, pgDir(), pgPort); err != nil {
				return err
			}
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
	up.Flags().IntVar(&pgPort, "postgres-port", 15432, "PostgreSQL port on 127.0.0.1")
	down := &cobra.Command{
		Use:   "down",
		Short: "Stop the cluster and PostgreSQL (their data stays in the state folder)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return errors.Join(localcluster.StopDir(stateDir), localpostgres.StopDir(pgDir()))
		},
	}
	postgres := &cobra.Command{
		Use:   "postgres",
		Short: "Print the path of the running PostgreSQL server's connection info (JSON: host, port, adminRole, passwordFile)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			in, ok := localpostgres.Running(cmd.Context(), pgDir())
			if !ok {
				return exitcode.With(exitcode.Failed, fmt.Errorf("no local PostgreSQL runs in %s (run `tenantctl local-cluster up`)", pgDir()))
			}
			fmt.Fprintln(cmd.OutOrStdout(), in.InfoPath())
			return nil
		},
	}
	kubeconfig := &cobra.Command{
		Use:   "kubeconfig",
		Short: "Print the kubeconfig path of the running cluster",
		RunE: func(cmd *cobra.Command, _ []string) error {
			kc, ok := localcluster.Running(cmd.Context(), stateDir)
			if !ok {
				return exitcode.With(exitcode.Failed, fmt.Errorf("no local cluster runs in %s (run `tenantctl local-cluster up --state-dir %s`)", stateDir, stateDir))
			}
			fmt.Fprintln(cmd.OutOrStdout(), kc)
			return nil
		},
	}
	cmd.AddCommand(up, down, kubeconfig, postgres)
	return cmd
}

// postgresUp starts the local PostgreSQL server unless it runs, and says on stderr where its
// connection info is (stdout stays the kubeconfig path, which scripts capture).
func postgresUp(cmd *cobra.Command, dir string, port int) error {
	in, ok := localpostgres.Running(cmd.Context(), dir)
	if !ok {
		_ = localpostgres.StopDir(dir) // a stale server from a previous boot
		var err error
		in, err = localpostgres.Start(cmd.Context(), localpostgres.Options{StateDir: dir, Port: port, Detach: true})
		if err != nil {
			return exitcode.With(exitcode.Failed, err)
		}
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "local postgres ready at %s:%d (admin role %s, password file %s; connection info %s)\n",
		in.Host, in.Port, in.AdminRole, in.PasswordFile, in.InfoPath())
	return nil
}
