package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/connectsoft/tenantctl/internal/localcluster"
	"github.com/connectsoft/tenantctl/internal/localpostgres"
	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/internal/toolchain"
)

// engineTestbed is what a CLI test that runs the engine on the local cluster needs: the tools,
// config and state kept in the test's own folders, a passphrase file (never the environment),
// a copy of examples/tenants as the desired state, and the flags every engine command takes.
type engineTestbed struct {
	cluster                      *localcluster.Cluster
	postgres                     *localpostgres.Instance
	work, dir, dataDir, auditLog string
	// common are the flags of every engine command: desired state, cluster, data dir,
	// passphrase file and audit log.
	common []string
}

func newEngineTestbed(t *testing.T, passphrase string) *engineTestbed {
	t.Helper()
	testenv.Toolchain(t)
	b := &engineTestbed{cluster: testenv.Cluster(t), work: testenv.TempDir(t)}
	t.Setenv("TENANTCTL_TOOLS_DIR", toolchain.CacheDir())
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(b.work, "config"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(b.work, "state"))
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "")
	os.Unsetenv("PULUMI_CONFIG_PASSPHRASE")
	passFile := filepath.Join(b.work, "passphrase")
	if err := os.WriteFile(passFile, []byte(passphrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b.dataDir = filepath.Join(b.work, "data")
	b.auditLog = filepath.Join(b.work, "audit.jsonl")
	b.dir = testenv.CopyDir(t, examplesDir)
	b.postgres = testenv.PrivatePostgres(t)
	b.common = []string{"-d", b.dir, "--kubeconfig", b.cluster.Kubeconfig, "--postgres-connection", b.postgres.InfoPath(), "--data-dir", b.dataDir,
		"--passphrase-file", passFile, "--audit-log", b.auditLog}
	return b
}

// tenantctl runs an engine command with the common flags.
func (b *engineTestbed) tenantctl(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	return execTenantctl(t, ctx, append(args, b.common...)...)
}
