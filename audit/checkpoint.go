package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Checkpoint is a signed statement of a log's head: "the log whose first record hashes to Log had
// record Seq with Hash at Time, and every record from SignedFrom on is signed". The log writes one
// after every append to each checkpoint file (the head file beside the log and a second file kept
// elsewhere, e.g. beside the state backend), the way transparency logs publish signed tree heads.
// A checkpoint lets Open refuse a log that lost records and lets Verify name records cut from the
// end; its signature means that rewriting the log and its checkpoint needs the private key.
//
// A head file of the unsigned format ({"seq":N,"hash":"…"}) reads as a Checkpoint with V 0.
type Checkpoint struct {
	V          int       `json:"v,omitempty"`
	Log        string    `json:"log,omitempty"`
	Seq        uint64    `json:"seq"`
	Hash       string    `json:"hash"`
	SignedFrom uint64    `json:"signedFrom,omitempty"`
	Time       time.Time `json:"time,omitzero"`
	KeyID      string    `json:"keyId,omitempty"`
	Sig        string    `json:"sig,omitempty"`
}

// Head is the record the checkpoint anchors.
func (c Checkpoint) Head() Head { return Head{Seq: c.Seq, Hash: c.Hash} }

// Signed reports whether the checkpoint carries a signature.
func (c Checkpoint) Signed() bool { return c.V >= 1 }

// checkpointFormat is the version of the signed checkpoint format.
const checkpointFormat = 1

func (c Checkpoint) message() (string, error) {
	c.Sig = ""
	raw, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	canon, err := canonicalize(raw)
	if err != nil {
		return "", err
	}
	return string(canon), nil
}

func signCheckpoint(k *SigningKey, c Checkpoint) (Checkpoint, error) {
	c.V, c.KeyID = checkpointFormat, k.Public().ID
	msg, err := c.message()
	if err != nil {
		return Checkpoint{}, fmt.Errorf("sign checkpoint: %w", err)
	}
	c.Sig = k.sign(checkpointSigDomain, msg)
	return c, nil
}

// VerifySignature checks the checkpoint's signature against trusted keys.
func (c Checkpoint) VerifySignature(keys Keyring) error {
	if !c.Signed() {
		return errors.New("the checkpoint is not signed")
	}
	msg, err := c.message()
	if err != nil {
		return err
	}
	return keys.verify(c.KeyID, checkpointSigDomain, msg, c.Sig)
}

// ReadCheckpoint reads a checkpoint or an unsigned head file. A missing file is an error matching
// os.ErrNotExist.
func ReadCheckpoint(path string) (Checkpoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit checkpoint: %w", err)
	}
	var c Checkpoint
	if err := json.Unmarshal(data, &c); err != nil {
		return Checkpoint{}, fmt.Errorf("audit checkpoint %s: not a checkpoint: %w", path, err)
	}
	switch {
	case c.Seq == 0 || !isHash(c.Hash):
		return Checkpoint{}, fmt.Errorf("audit checkpoint %s: want a seq and a 64-digit lowercase hex hash", path)
	case c.V > checkpointFormat:
		return Checkpoint{}, fmt.Errorf("audit checkpoint %s: unknown format v=%d", path, c.V)
	case c.Signed() && (c.KeyID == "" || c.Sig == "" || !isHash(c.Log)):
		return Checkpoint{}, fmt.Errorf("audit checkpoint %s: a signed checkpoint needs log, keyId and sig", path)
	}
	return c, nil
}

// writeCheckpoint replaces path with c atomically (temp file, fsync, rename).
func writeCheckpoint(path string, c Checkpoint, durable bool) error {
	raw, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("write checkpoint %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write checkpoint %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, ".audit-checkpoint-*")
	if err != nil {
		return fmt.Errorf("write checkpoint %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(append(raw, '\n')); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write checkpoint %s: %w", path, err)
	}
	if durable {
		if err := tmp.Sync(); err != nil {
			_ = tmp.Close()
			return fmt.Errorf("write checkpoint %s: %w", path, err)
		}
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write checkpoint %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write checkpoint %s: %w", path, err)
	}
	if durable {
		syncDir(dir)
	}
	return nil
}

// LatestCheckpoint reads every existing file of paths and returns the checkpoint with the highest
// seq, and the file it came from. Signed checkpoints must verify with keys (when keys is not nil);
// an unreadable or forged checkpoint is an error, never skipped. found is false when no file
// exists.
func LatestCheckpoint(keys Keyring, paths ...string) (cp Checkpoint, from string, found bool, err error) {
	for _, p := range paths {
		c, err := ReadCheckpoint(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return Checkpoint{}, p, false, err
		}
		if c.Signed() && keys != nil {
			if err := c.VerifySignature(keys); err != nil {
				return Checkpoint{}, p, false, fmt.Errorf("audit checkpoint %s: %w", p, err)
			}
		}
		if found && c.Seq == cp.Seq && c.Hash != cp.Hash {
			return Checkpoint{}, p, false, fmt.Errorf("audit checkpoints %s and %s disagree on record seq %d: one was altered", from, p, c.Seq)
		}
		if !found || c.Seq > cp.Seq || (c.Seq == cp.Seq && c.Signed() && !cp.Signed()) {
			cp, from, found = c, p, true
		}
	}
	return cp, from, found, nil
}
