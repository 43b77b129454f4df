package audit

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Config is the wiring of an Auditor as tenantctl's commands and API server set it up from flags,
// TENANTCTL_* variables and the config file. Secrets (the webhook signing key) come from the
// environment or a file, never from a flag.
type Config struct {
	// Path of the log; DefaultPath() when empty.
	Path string
	// HeadFile writes HeadPath(Path) after every append (see WithHeadFile).
	HeadFile bool
	// NoFsync trades durability of the last records for speed (see WithoutFsync).
	NoFsync bool
	// Stdout, when set, receives every record as a JSON line.
	Stdout io.Writer
	// WebhookURL, when set, receives every record (Governance's audit intake).
	WebhookURL string
	// WebhookKeyFile holds the HMAC signing key; when empty the key is read from $SigningKeyEnv.
	WebhookKeyFile string
	// WebhookUnsigned allows posting without a signature when no key is configured.
	WebhookUnsigned bool
	// SecretValues are values that must never be written (see WithSecretValues).
	SecretValues []string
	// SigningKeyFile holds the ed25519 key that signs every record and checkpoint; it is created
	// (mode 0600, public key beside it as FILE.pub) when it does not exist. Required unless
	// Unsigned is set. DefaultSigningKeyPath() is the conventional place.
	SigningKeyFile string
	// Unsigned writes format-1 records (a plain hash chain that anyone who can write the log can
	// recompute); for tests and tools that only read.
	Unsigned bool
	// CheckpointFile receives a copy of the signed checkpoint after every append, besides the
	// head file. Keep it where whoever can write the log cannot (e.g. beside the state backend).
	CheckpointFile string
	// TrustedKeyFiles are public keys of earlier signing keys (after a rotation), so the
	// checkpoint they signed is still accepted on Open.
	TrustedKeyFiles []string
}

// DefaultSigningKeyPath is $TENANTCTL_AUDIT_SIGNING_KEY_FILE, else
// $XDG_CONFIG_HOME/tenantctl/audit-signing.key (~/.config/tenantctl/… when unset): apart from
// the log's directory, so that write access to the log is not enough to re-sign it.
func DefaultSigningKeyPath() (string, error) {
	if p := os.Getenv("TENANTCTL_AUDIT_SIGNING_KEY_FILE"); p != "" {
		return p, nil
	}
	if dir := os.Getenv("XDG_CONFIG_HOME"); filepath.IsAbs(dir) {
		return filepath.Join(dir, "tenantctl", "audit-signing.key"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("default audit signing key path: %w", err)
	}
	return filepath.Join(home, ".config", "tenantctl", "audit-signing.key"), nil
}

// NewFromConfig opens the log and builds the sinks cfg describes.
func NewFromConfig(cfg Config, opts ...AuditorOption) (*Auditor, error) {
	path := cfg.Path
	if path == "" {
		var err error
		if path, err = DefaultPath(); err != nil {
			return nil, err
		}
	}
	var sinks []Sink
	if cfg.Stdout != nil {
		sinks = append(sinks, JSONSink(cfg.Stdout))
	}
	if cfg.WebhookURL != "" {
		var wopts []WebhookOption
		key, err := webhookKey(cfg)
		if err != nil {
			return nil, err
		}
		if key != nil {
			wopts = append(wopts, WithSigningKey(key))
		}
		hook, err := WebhookSink(cfg.WebhookURL, wopts...)
		if err != nil {
			return nil, err
		}
		sinks = append(sinks, hook)
	}
	logOpts := []Option{WithSecretValues(cfg.SecretValues...)}
	if cfg.HeadFile {
		logOpts = append(logOpts, WithHeadFile(HeadPath(path)))
	}
	if cfg.CheckpointFile != "" {
		logOpts = append(logOpts, WithCheckpointFiles(cfg.CheckpointFile))
	}
	switch {
	case cfg.SigningKeyFile != "":
		key, err := LoadOrCreateSigningKey(cfg.SigningKeyFile)
		if err != nil {
			return nil, err
		}
		logOpts = append(logOpts, WithRecordSigningKey(key))
	case !cfg.Unsigned:
		return nil, fmt.Errorf("audit log %s: no signing key configured (set a key file, or choose unsigned records explicitly)", path)
	}
	if len(cfg.TrustedKeyFiles) > 0 {
		keys, err := LoadPublicKeys(cfg.TrustedKeyFiles...)
		if err != nil {
			return nil, err
		}
		logOpts = append(logOpts, WithTrustedKeys(keys))
	}
	if cfg.NoFsync {
		logOpts = append(logOpts, WithoutFsync())
	}
	log, err := Open(path, logOpts...)
	if err != nil {
		return nil, err
	}
	if len(sinks) > 0 {
		opts = append([]AuditorOption{WithSinks(sinks...)}, opts...)
	}
	return NewAuditor(log, opts...), nil
}

// webhookKey finds the signing key: the key file, else the environment, else none if unsigned
// delivery was allowed.
func webhookKey(cfg Config) ([]byte, error) {
	if cfg.WebhookKeyFile != "" {
		return SigningKeyFromFile(cfg.WebhookKeyFile)
	}
	if os.Getenv(SigningKeyEnv) != "" {
		return SigningKeyFromEnv(SigningKeyEnv)
	}
	if cfg.WebhookUnsigned {
		return nil, nil
	}
	return nil, fmt.Errorf("audit webhook: no signing key: set $%s or a key file (or allow unsigned delivery explicitly)", SigningKeyEnv)
}
