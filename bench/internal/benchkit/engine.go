package benchkit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/connectsoft/tenantctl/audit"
	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/internal/toolchain"
)

// NewEngine is the engine the CLI builds (close it to stop the provider plugins it keeps): file state under its own data dir, the given secrets,
// an audit log of every mutation (dataDir/audit.jsonl) recorded as principal.
func NewEngine(tc toolchain.Toolchain, dataDir string, parallel int, secrets automation.SecretsConfig, principal string) (*automation.Engine, func(), error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, nil, err
	}
	auditor, err := audit.NewFromConfig(audit.Config{Path: filepath.Join(dataDir, "audit.jsonl"), HeadFile: true, SigningKeyFile: filepath.Join(dataDir, "audit-signing.key")})
	if err != nil {
		return nil, nil, fmt.Errorf("audit log: %w", err)
	}
	// TENANTCTL_SHARED_PROVIDERS=0 as for the CLI: the same build measured with and without
	// provider plugins kept running.
	shared := true
	if v := os.Getenv("TENANTCTL_SHARED_PROVIDERS"); v == "0" || strings.EqualFold(v, "false") {
		shared = false
	}
	e, err := automation.New(
		automation.WithSharedProviders(shared),
		automation.WithToolchain(tc),
		automation.WithDataDir(dataDir),
		automation.WithParallel(parallel),
		automation.WithSecrets(secrets),
		automation.WithPrincipal(principal),
		automation.WithAuditor(automation.AuditLog{Auditor: auditor, OnError: func(err error) {
			fmt.Fprintln(os.Stderr, "audit:", err)
		}}),
	)
	if err != nil {
		auditor.Close()
		return nil, nil, err
	}
	return e, func() { auditor.Close() }, nil
}
