package audit

// DefaultIndexSize is how many recent event ids the log remembers for idempotency.
const DefaultIndexSize = 4096

// lineRef locates one record in the log file.
type lineRef struct {
	off int64
	n   int
}

// eventIndex maps the most recent event ids to their records, forgetting the oldest first. The
// bound keeps memory and the tail read at Open proportional to it, not to the log: a retry is
// expected within minutes, not after thousands of other events.
type eventIndex struct {
	limit int
	refs  map[string]lineRef
	ring  []string
	next  int
}

func newEventIndex(limit int) *eventIndex {
	return &eventIndex{limit: max(limit, 1), refs: make(map[string]lineRef)}
}

func (x *eventIndex) get(id string) (lineRef, bool) {
	ref, ok := x.refs[id]
	return ref, ok
}

func (x *eventIndex) add(id string, ref lineRef) {
	if _, ok := x.refs[id]; ok {
		return // the first record with an id is the one retries get back
	}
	if len(x.ring) < x.limit {
		x.ring = append(x.ring, id)
	} else {
		delete(x.refs, x.ring[x.next])
		x.ring[x.next] = id
		x.next = (x.next + 1) % x.limit
	}
	x.refs[id] = ref
}
