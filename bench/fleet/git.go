package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// commitDesired keeps the desired-state folder a Git repository, as it is in production: drift
// checks report the commit, and confirm mode compares every stack's last update with the commit
// time. It commits when the folder changed (or has no commit yet) and says whether it did.
func commitDesired(dir string, changed bool, n int) (bool, error) {
	repo, err := git.PlainOpen(dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		repo, err = git.PlainInit(dir, false)
		changed = true
	}
	if err != nil {
		return false, err
	}
	if _, err := repo.Head(); err != nil {
		changed = true // no commit yet
	}
	if !changed {
		return false, nil
	}
	wt, err := repo.Worktree()
	if err != nil {
		return false, err
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return false, err
	}
	sig := &object.Signature{Name: "bench/fleet", Email: "bench@tenantctl.invalid", When: time.Now()}
	if _, err := wt.Commit(fmt.Sprintf("fleet of %d pool tenants", n), &git.CommitOptions{Author: sig, Committer: sig, AllowEmptyCommits: true}); err != nil {
		return false, err
	}
	return true, nil
}

// commitChange commits every change of the desired-state repository with msg, as a pull request
// merged into the repository a CD pipeline watches would. A commit with no change is refused:
// the no-op measurement must follow a real commit, not an empty one.
func commitChange(dir, msg string) error {
	repo, err := git.PlainOpen(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return err
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return err
	}
	st, err := wt.Status()
	if err != nil {
		return err
	}
	if st.IsClean() {
		return fmt.Errorf("commit %q: nothing changed in %s", msg, dir)
	}
	sig := &object.Signature{Name: "bench/fleet", Email: "bench@tenantctl.invalid", When: time.Now()}
	if _, err := wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig}); err != nil {
		return fmt.Errorf("commit %q: %w", msg, err)
	}
	return nil
}
