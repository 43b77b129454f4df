package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// A plain hash chain can be recomputed by anyone who can write the log. Signed records make the
// chain's integrity depend on a key instead of on the log's directory: each record (format v2)
// carries an ed25519 signature of its hash, and each append leaves a signed checkpoint of the
// head in the checkpoint files (see Checkpoint). Verifying needs only the public key, so auditors
// and Governance can check a log without being able to forge one.

// SigningKey signs records and checkpoints.
type SigningKey struct {
	priv ed25519.PrivateKey
	pub  PublicKey
}

// PublicKey verifies what a SigningKey signed. ID is the first 16 hex digits of the SHA-256 of
// the key's PKIX encoding; records and checkpoints name the key that signed them by it.
type PublicKey struct {
	ID  string
	Key ed25519.PublicKey
}

// GenerateSigningKey makes a new ed25519 key.
func GenerateSigningKey() (*SigningKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate audit signing key: %w", err)
	}
	return newSigningKey(priv)
}

func newSigningKey(priv ed25519.PrivateKey) (*SigningKey, error) {
	pub, err := newPublicKey(priv.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	return &SigningKey{priv: priv, pub: pub}, nil
}

func newPublicKey(k ed25519.PublicKey) (PublicKey, error) {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return PublicKey{}, fmt.Errorf("encode audit public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return PublicKey{ID: hex.EncodeToString(sum[:8]), Key: k}, nil
}

// Public is the key that verifies k's signatures.
func (k *SigningKey) Public() PublicKey { return k.pub }

func (k *SigningKey) sign(domain, message string) string {
	return hex.EncodeToString(ed25519.Sign(k.priv, []byte(domain+message)))
}

// Domain separation: a record signature can never pass as a checkpoint signature or vice versa.
const (
	recordSigDomain     = "tenantctl-audit-record-v2\n"
	checkpointSigDomain = "tenantctl-audit-checkpoint-v1\n"
)

// WriteSigningKey stores k at path as a PKCS#8 PEM file readable by its owner only, and its
// public key at path + ".pub"; it refuses to overwrite an existing key.
func WriteSigningKey(k *SigningKey, path string) error {
	der, err := x509.MarshalPKCS8PrivateKey(k.priv)
	if err != nil {
		return fmt.Errorf("encode audit signing key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("audit signing key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("audit signing key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		_ = f.Close()
		return fmt.Errorf("audit signing key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("audit signing key %s: %w", path, err)
	}
	return WritePublicKey(k.pub, path+".pub")
}

// WritePublicKey stores a public key as a PKIX PEM file.
func WritePublicKey(k PublicKey, path string) error {
	der, err := x509.MarshalPKIXPublicKey(k.Key)
	if err != nil {
		return fmt.Errorf("encode audit public key: %w", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("audit public key: %w", err)
	}
	return nil
}

// LoadSigningKey reads a key written by WriteSigningKey. It refuses a file that group or others
// can read.
func LoadSigningKey(path string) (*SigningKey, error) {
	data, err := readOwnerOnlyFile(path, "audit signing key")
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("audit signing key %s: want a PEM \"PRIVATE KEY\" block", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit signing key %s: %w", path, err)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("audit signing key %s: want an ed25519 key, got %T", path, key)
	}
	return newSigningKey(priv)
}

// LoadOrCreateSigningKey loads the key at path, or creates one there when no file exists.
func LoadOrCreateSigningKey(path string) (*SigningKey, error) {
	k, err := LoadSigningKey(path)
	if !errors.Is(err, os.ErrNotExist) {
		return k, err
	}
	if k, err = GenerateSigningKey(); err != nil {
		return nil, err
	}
	if err := WriteSigningKey(k, path); err != nil {
		if errors.Is(err, os.ErrExist) { // another process created it first
			return LoadSigningKey(path)
		}
		return nil, err
	}
	return k, nil
}

// Keyring is the set of public keys a verifier trusts. It holds every key that ever signed the
// log: after a rotation, the old public key stays so older records still verify.
type Keyring map[string]PublicKey

// NewKeyring returns a keyring holding keys.
func NewKeyring(keys ...PublicKey) Keyring {
	r := Keyring{}
	for _, k := range keys {
		r[k.ID] = k
	}
	return r
}

// IDs lists the key ids, sorted.
func (r Keyring) IDs() []string {
	ids := make([]string, 0, len(r))
	for id := range r {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// LoadPublicKeys reads PKIX PEM public key files (a file may hold several keys).
func LoadPublicKeys(paths ...string) (Keyring, error) {
	r := Keyring{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("audit public key: %w", err)
		}
		n := 0
		for {
			var block *pem.Block
			block, data = pem.Decode(data)
			if block == nil {
				break
			}
			if block.Type != "PUBLIC KEY" {
				continue
			}
			key, err := x509.ParsePKIXPublicKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("audit public key %s: %w", p, err)
			}
			ed, ok := key.(ed25519.PublicKey)
			if !ok {
				return nil, fmt.Errorf("audit public key %s: want an ed25519 key, got %T", p, key)
			}
			pk, err := newPublicKey(ed)
			if err != nil {
				return nil, err
			}
			r[pk.ID] = pk
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("audit public key %s: no PEM \"PUBLIC KEY\" block", p)
		}
	}
	return r, nil
}

// verify checks a hex signature made by the key named id.
func (r Keyring) verify(id, domain, message, sigHex string) error {
	k, ok := r[id]
	if !ok {
		known := strings.Join(r.IDs(), ", ")
		if known == "" {
			known = "none"
		}
		return fmt.Errorf("signed with key %s, which is not a trusted public key (trusted: %s)", id, known)
	}
	sig, err := hex.DecodeString(sigHex)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return errors.New("the signature is not 64 hex-encoded bytes")
	}
	if !ed25519.Verify(k.Key, []byte(domain+message), sig) {
		return errors.New("the signature does not verify")
	}
	return nil
}
