package statestore

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
)

// Update is the last operation a stack's history records: what Pulumi's DIY backend writes at the
// end of every update, refresh, destroy or import (`.pulumi/history/<project>/<stack>/
// <stack>-<unix nanos>.history.json`, pkg/backend/diy addToHistory), previews excluded. The
// checkpoint alone cannot say whether the update that wrote it succeeded: a failed update still
// records the resources it reached and, for a program that ran to its end, the outputs it
// exported.
type Update struct {
	// Kind is update, refresh, destroy, import, …
	Kind string
	// Result is succeeded or failed.
	Result string
	// End is when it finished (seconds).
	End time.Time
	// At is when the backend recorded it: the time in the entry's name, taken after the
	// operation's last checkpoint write. A checkpoint written later than At was written by an
	// operation that recorded no result (killed, or a state edit).
	At time.Time
}

// Succeeded reports whether the operation was an update (pulumi up) that succeeded.
func (u Update) Succeeded() bool { return u.Kind == "update" && u.Result == "succeeded" }

// LastUpdates returns, for every stack of project with a history, its latest entry, by name: one
// listing of the history folder and one read per stack (one query for all on postgres://).
func (r *Reader) LastUpdates(ctx context.Context, project string) (map[string]Update, error) {
	hist, err := r.historyDir(ctx, project)
	if err != nil {
		return nil, err
	}
	keys, err := r.s.listContaining(ctx, hist+"/", ".history.json")
	if err != nil {
		return nil, fmt.Errorf("list update history under %s: %w", hist, err)
	}
	type entry struct {
		key   string
		nanos int64
	}
	latest := map[string]entry{}
	for _, k := range keys {
		stack, nanos, ok := historyEntry(strings.TrimPrefix(k, hist+"/"))
		if !ok {
			continue
		}
		if e, seen := latest[stack]; !seen || nanos > e.nanos {
			latest[stack] = entry{k, nanos}
		}
	}
	want := make([]string, 0, len(latest))
	for _, e := range latest {
		want = append(want, e.key)
	}
	blobs, err := r.s.readKeys(ctx, want)
	if err != nil {
		return nil, fmt.Errorf("read update history: %w", err)
	}
	out := make(map[string]Update, len(latest))
	for stack, e := range latest {
		data, ok := blobs[e.key]
		if !ok {
			continue // removed meanwhile (stack rm)
		}
		u, err := decodeUpdate(e.key, data)
		if err != nil {
			return nil, fmt.Errorf("update history of %s: %w", stack, err)
		}
		u.At = time.Unix(0, e.nanos).UTC()
		out[stack] = u
	}
	return out, nil
}

// historyEntry parses "<stack>/<stack>-<nanos>.history.json[.gz|.zst]".
func historyEntry(rel string) (stack string, nanos int64, ok bool) {
	stack, file, found := strings.Cut(rel, "/")
	if !found || stack == "" || strings.Contains(file, "/") {
		return "", 0, false
	}
	base, found := strings.CutPrefix(file, stack+"-")
	if !found {
		return "", 0, false
	}
	for _, ext := range []string{".history.json", ".history.json.gz", ".history.json.zst"} {
		if n, cut := strings.CutSuffix(base, ext); cut {
			v, err := strconv.ParseInt(n, 10, 64)
			return stack, v, err == nil
		}
	}
	return "", 0, false
}

func decodeUpdate(key string, data []byte) (Update, error) {
	data, err := decompress(key, data)
	if err != nil {
		return Update{}, err
	}
	var info struct {
		Kind    string `json:"kind"`
		Result  string `json:"result"`
		EndTime int64  `json:"endTime"`
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return Update{}, fmt.Errorf("%s: %w", key, err)
	}
	u := Update{Kind: info.Kind, Result: info.Result}
	if info.EndTime > 0 {
		u.End = time.Unix(info.EndTime, 0).UTC()
	}
	return u, nil
}

// LatestEntry returns one stack's newest history entry as the backend stores it (Pulumi's
// backend.UpdateInfo JSON, decompressed) and when it was recorded; an error wrapping ErrNoStack
// when the stack has no history.
func (r *Reader) LatestEntry(ctx context.Context, project, stack string) ([]byte, time.Time, error) {
	hist, err := r.historyDir(ctx, project)
	if err != nil {
		return nil, time.Time{}, err
	}
	keys, err := r.s.list(ctx, hist+"/"+stack+"/")
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("list update history of %s: %w", stack, err)
	}
	best, bestNanos := "", int64(-1)
	for _, k := range keys {
		s, nanos, ok := historyEntry(strings.TrimPrefix(k, hist+"/"))
		if ok && s == stack && nanos > bestNanos {
			best, bestNanos = k, nanos
		}
	}
	if best == "" {
		return nil, time.Time{}, fmt.Errorf("%w: no update history of %s", ErrNoStack, stack)
	}
	data, err := r.s.read(ctx, best)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("read update history of %s: %w", stack, err)
	}
	data, err = decompress(best, data)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("update history of %s: %w", stack, err)
	}
	return data, time.Unix(0, bestNanos).UTC(), nil
}

// historyDir is where the project's update history lives: the history folder mirrors the stacks
// folder (.pulumi/history[/<project>]).
func (r *Reader) historyDir(ctx context.Context, project string) (string, error) {
	dir, err := r.stacksDir(ctx, project)
	if err != nil {
		return "", err
	}
	return path.Join(bookkeeping, "history") + strings.TrimPrefix(dir, path.Join(bookkeeping, "stacks")), nil
}
