package rotation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/connectsoft/tenantctl/tenantplan"
)

// The journal remembers, per tenant stack and reference, what rotation did and what it saw:
// the rotation in flight (written before Git is touched, so a run that dies anywhere is
// resumed), the version the stack last applied, and for unpinned references the version last
// recorded as observed. It holds version ids only. One JSON file per stack under
// DATA_DIR/secret-rotation, written atomically, and a lock file that serialises rotations of
// every process sharing the data dir (the CLI, `secrets watch`, the API server).

// Phases of a rotation in flight.
const (
	// PhasePlanned: the move is decided; Git may or may not hold it yet.
	PhasePlanned = "planned"
	// PhaseCommitted: Git holds the new version; the stack has not applied it.
	PhaseCommitted = "committed"
)

// Pending is a rotation of one reference that has not reached its stack yet.
type Pending struct {
	ID      string    `json:"id"`
	Old     string    `json:"old"`
	New     string    `json:"new"`
	Phase   string    `json:"phase"`
	Commit  string    `json:"commit,omitempty"`
	Started time.Time `json:"started"`
	// Attempts counts the ups that failed so far.
	Attempts int    `json:"attempts,omitempty"`
	Error    string `json:"error,omitempty"`
}

// RefRecord is what the journal holds for one reference.
type RefRecord struct {
	Vault  string `json:"vault"`
	Secret string `json:"secretName"`
	// Applied is the version the stack applied in the last rotation of this reference.
	Applied   string    `json:"applied,omitempty"`
	AppliedAt time.Time `json:"appliedAt,omitzero"`
	// Observed is, for an unpinned reference, the vault's current version last recorded.
	Observed   string    `json:"observed,omitempty"`
	ObservedAt time.Time `json:"observedAt,omitzero"`
	Pending    *Pending  `json:"pending,omitempty"`
}

// StackRecord is one stack's journal file.
type StackRecord struct {
	Stack      string                `json:"stack"`
	References map[string]*RefRecord `json:"references"`
}

// Journal is the journal directory.
type Journal struct{ dir string }

// OpenJournal uses dir (created 0700 if missing).
func OpenJournal(dir string) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("rotation journal: %w", err)
	}
	return &Journal{dir: dir}, nil
}

// DefaultJournalDir is the journal under an engine data dir.
func DefaultJournalDir(dataDir string) string { return filepath.Join(dataDir, "secret-rotation") }

// Dir is the journal's directory.
func (j *Journal) Dir() string { return j.dir }

func (j *Journal) path(stack string) (string, error) {
	if _, err := tenantplan.ParseStackName(stack); err != nil {
		return "", fmt.Errorf("rotation journal: %w", err)
	}
	return filepath.Join(j.dir, stack+".json"), nil
}

// Read returns a stack's record (empty when it has none).
func (j *Journal) Read(stack string) (*StackRecord, error) {
	p, err := j.path(stack)
	if err != nil {
		return nil, err
	}
	rec := &StackRecord{Stack: stack, References: map[string]*RefRecord{}}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return rec, nil
	}
	if err != nil {
		return nil, fmt.Errorf("rotation journal: %w", err)
	}
	if err := json.Unmarshal(b, rec); err != nil {
		return nil, fmt.Errorf("rotation journal %s: %w", p, err)
	}
	if rec.References == nil {
		rec.References = map[string]*RefRecord{}
	}
	return rec, nil
}

// Write replaces a stack's record: a temp file, fsync, rename.
func (j *Journal) Write(rec *StackRecord) error {
	p, err := j.path(rec.Stack)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(j.dir, ".tmp-"+rec.Stack+"-*")
	if err != nil {
		return fmt.Errorf("rotation journal: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		return fmt.Errorf("rotation journal %s: %w", p, err)
	}
	return nil
}

// Update reads a stack's record, applies f and writes it back.
func (j *Journal) Update(stack string, f func(*StackRecord)) error {
	rec, err := j.Read(stack)
	if err != nil {
		return err
	}
	f(rec)
	return j.Write(rec)
}

// Stacks lists the stacks that have a record.
func (j *Journal) Stacks() ([]string, error) {
	entries, err := os.ReadDir(j.dir)
	if err != nil {
		return nil, fmt.Errorf("rotation journal: %w", err)
	}
	var out []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok && !strings.HasPrefix(name, ".") {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Lock takes the journal's exclusive lock, waiting until ctx is done.
func (j *Journal) Lock(ctx context.Context) (unlock func(), err error) {
	p := filepath.Join(j.dir, ".lock")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("rotation lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); _ = f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("rotation lock %s: %w", p, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("rotation lock %s: another rotation is running: %w", p, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
