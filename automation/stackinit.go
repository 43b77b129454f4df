package automation

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"

	"github.com/connectsoft/tenantctl/automation/statestore"
	"github.com/connectsoft/tenantctl/internal/toolchain"
)

// A new stack costs `pulumi stack init`: a CLI start and a passphrase key derivation (PBKDF2,
// 1,000,000 rounds) to mint the stack's salt — about 0.4 CPU-s, a quarter of a new pool stack.
// Where the backend is one the engine writes itself and the secrets provider is the passphrase,
// the engine does what init does in-process: it records the same initial state in the backend
// (statestore.CreateStack, create-only) and writes the settings file with the encryption salt.
//
// The salt is minted once per engine and passphrase and shared by the stacks this engine creates.
// That gives them the same derived key, which costs nothing in protection: every stack is already
// opened by the same passphrase, so a guess that opens one opens all whatever their salts, and
// AES-256-GCM with random 96-bit nonces stays far inside its limits at fleet scale. Stacks that
// already exist keep their own salts.

// errInitByCLI says the stack must be created by `pulumi stack init` (backend, layout, secrets
// provider or workspace the engine does not handle in-process).
var errInitByCLI = errors.New("stack init by the CLI")

// initStackInProcess creates the stack in the backend and its settings file. It returns
// errInitByCLI when the CLI must do it, and an error wrapping statestore.ErrStackExists when
// another process created the stack meanwhile (the settings file is then left alone).
func (e *Engine) initStackInProcess(ctx context.Context, ws auto.Workspace, r *statestore.Reader, stack string) error {
	if r == nil || (e.secrets.Provider != "" && e.secrets.Provider != "passphrase") {
		return errInitByCLI
	}
	ps, err := ws.StackSettings(ctx, stack)
	switch {
	case err == nil:
		if ps.EncryptionSalt != "" || ps.EncryptedKey != "" || ps.SecretsProvider != "" {
			// A settings file left from an earlier stack of this name: init decides whether its
			// salt still fits the passphrase.
			return errInitByCLI
		}
	case settingsFileExists(ws.WorkDir(), stack):
		return fmt.Errorf("read settings of %s: %w", stack, err)
	default:
		ps = &workspace.ProjectStack{}
	}
	phrase, ok, err := e.cliPassphrase(ws.WorkDir())
	if err != nil {
		return fmt.Errorf("create stack %s: %w", stack, err)
	}
	if !ok {
		return errInitByCLI
	}
	salt, err := e.passphraseSalt(phrase)
	if err != nil {
		return fmt.Errorf("create stack %s: %w", stack, err)
	}
	switch err := r.CreateStack(ctx, e.ProjectName(), stack, initialDeployment(salt, time.Now())); {
	case errors.Is(err, statestore.ErrUnsupported):
		return errInitByCLI
	case err != nil:
		return err
	}
	ps.EncryptionSalt = salt
	if err := ws.SaveStackSettings(ctx, stack, ps); err != nil {
		return fmt.Errorf("write settings of %s: %w", stack, err)
	}
	return nil
}

// initialDeployment is what `pulumi stack init` stores as a new stack's state
// (cmd/pulumi/stack CreateStack): a manifest naming the CLI version (its magic is the version's
// SHA-256) and the passphrase secrets provider's state, so a checkout without the settings file
// finds the stack's key in the state (PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER).
func initialDeployment(salt string, now time.Time) *apitype.DeploymentV3 {
	state, _ := json.Marshal(struct {
		Salt string `json:"salt"`
	}{salt}) // a struct of one string always marshals
	return &apitype.DeploymentV3{
		Manifest: apitype.ManifestV1{Time: now, Version: toolchain.PulumiVersion,
			Magic: fmt.Sprintf("%x", sha256.Sum256([]byte(toolchain.PulumiVersion)))},
		SecretsProviders: &apitype.SecretsProvidersV1{Type: "passphrase", State: state},
	}
}

// cliPassphrase is the passphrase the CLI will read, found the way it finds it
// (pkg/secrets/passphrase readPassphrase) in the environment its processes get: the engine's
// variables over this process's, PULUMI_CONFIG_PASSPHRASE before PULUMI_CONFIG_PASSPHRASE_FILE,
// a file's content trimmed of surrounding space, a relative file path taken from the workspace.
func (e *Engine) cliPassphrase(workDir string) (string, bool, error) {
	env := e.env()
	lookup := func(k string) (string, bool) {
		if v, ok := env[k]; ok {
			return v, true
		}
		return os.LookupEnv(k)
	}
	if p, ok := lookup("PULUMI_CONFIG_PASSPHRASE"); ok {
		return p, true, nil
	}
	file, ok := lookup("PULUMI_CONFIG_PASSPHRASE_FILE")
	if !ok || file == "" {
		return "", false, nil
	}
	if !filepath.IsAbs(file) {
		file = filepath.Join(workDir, file)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", false, fmt.Errorf("read the passphrase file: %w", err)
	}
	return strings.TrimSpace(string(b)), true, nil
}

// passphraseSalt is the passphrase secrets manager's state for new stacks ("v1:<salt>:<the word
// pulumi encrypted with the derived key>", as pkg/secrets/passphrase NewPassphraseSecretsManager
// makes it), minted on first use and reused for the same passphrase.
func (e *Engine) passphraseSalt(phrase string) (string, error) {
	digest := sha256.Sum256([]byte(phrase))
	e.saltMu.Lock()
	defer e.saltMu.Unlock()
	if e.salt != "" && e.saltFor == digest {
		return e.salt, nil
	}
	salt := make([]byte, 8)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	msg, err := config.NewSymmetricCrypterFromPassphrase(phrase, salt).EncryptValue(context.Background(), "pulumi")
	if err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	e.salt, e.saltFor = "v1:"+base64.StdEncoding.EncodeToString(salt)+":"+msg, digest
	return e.salt, nil
}
