package check

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/connectsoft/tenantctl/isolation"
)

// revision is what a report names as the desired state it compared against, and when that
// desired state last changed (for the "state older than the desired state" rule).
type revision struct {
	commit string
	dirty  bool
	// changed is the committer time of the commit, or, with uncommitted changes or outside Git,
	// the newest modification time of a desired-state file when that is later.
	changed time.Time
}

// readRevision describes the desired state. Outside a Git work tree (or before the first commit)
// there is no commit id: the report names the content instead ("sha256:<16 hex>" over every file
// Load reads), so shard reports of one content still merge and reports of different content do
// not; it is marked dirty because no commit describes it.
func readRevision(state *isolation.DesiredState) (revision, error) {
	rev := revision{commit: state.Commit, dirty: state.Dirty}
	digest, newest, err := scanDesiredFiles(state.Dir)
	if err != nil {
		return rev, fmt.Errorf("desired state %s: %w", state.Dir, err)
	}
	if state.Commit == "" {
		rev.commit, rev.dirty, rev.changed = "sha256:"+digest[:16], true, newest
		return rev, nil
	}
	when, err := commitTime(state.GitRoot, state.Commit)
	if err != nil {
		return rev, err
	}
	rev.changed = when
	if state.Dirty && newest.After(when) {
		rev.changed = newest
	}
	return rev, nil
}

func commitTime(root, commit string) (time.Time, error) {
	repo, err := git.PlainOpenWithOptions(root, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		return time.Time{}, fmt.Errorf("open repository %s: %w", root, err)
	}
	c, err := repo.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		return time.Time{}, fmt.Errorf("commit %s: %w", commit, err)
	}
	return c.Committer.When, nil
}

// scanDesiredFiles hashes the files isolation.Load reads (path and content, in walk order, which
// is lexical) and returns the newest modification time among them.
func scanDesiredFiles(dir string) (digest string, newest time.Time, err error) {
	h := sha256.New()
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !d.Type().IsRegular() || !isolation.IsDesiredStateFile(rel) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.ModTime().After(newest) {
			newest = info.ModTime()
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		h.Write([]byte(rel + "\x00" + strconv.Itoa(len(data)) + "\x00"))
		h.Write(data)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), newest, err
}

// staleState reports whether a stack's last update (as `pulumi stack ls` gives it) predates the
// desired state. A stack never updated, or whose time cannot be read, counts as stale: the fast
// path cannot vouch for it. A zero desired-state time disables the rule.
func staleState(lastUpdate string, desiredChanged time.Time) bool {
	if desiredChanged.IsZero() {
		return false
	}
	t, err := time.Parse(time.RFC3339Nano, lastUpdate)
	if err != nil {
		return true
	}
	return t.Before(desiredChanged)
}
