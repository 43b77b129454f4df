package tenantplan

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/connectsoft/tenantctl/internal/errkind"
)

// Shard is one slice of a fleet run, Index of Count: tenants are spread over the shards 1..Count
// by ShardOf, so N processes or Kubernetes Job indexes given 1/N … N/N cover every tenant exactly
// once. Index 0 is the platform shard: the environments' platform stacks, which provisioning
// runs once, before the tenant shards that read their outputs.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Platform reports whether s is the platform shard 0/N.
func (s Shard) Platform() bool { return s.Index == 0 }

// Holds reports whether tenantID belongs to s: never for the platform shard.
func (s Shard) Holds(tenantID string) bool {
	return s.Index >= 1 && ShardOf(tenantID, s.Count) == s.Index
}

// ShardOf is the 1-based shard of count that tenantID lands in: FNV-1a (32 bit) of the id, modulo
// count. It depends on nothing but the id, so a tenant lands in the same shard on every run, on
// every machine and for every command (drift check, up, preview, destroy), whatever else the
// fleet holds.
func ShardOf(tenantID string, count int) int {
	if count <= 1 {
		return 1
	}
	h := fnv.New32a()
	h.Write([]byte(tenantID))
	return int(h.Sum32()%uint32(count)) + 1
}

// ParseShard parses a --shard value "I/N" with 0 <= I <= N (0 is the platform shard). The index
// may also be written "K+1": Kubernetes substitutes an Indexed Job's 0-based
// $(JOB_COMPLETION_INDEX) into arguments but cannot add, so a Job passes
// "$(JOB_COMPLETION_INDEX)+1/N" and completion index 0 runs shard 1/N.
func ParseShard(s string) (Shard, error) {
	i, n, ok := strings.Cut(s, "/")
	if ok {
		index, err1 := parseShardIndex(strings.TrimSpace(i))
		count, err2 := strconv.Atoi(strings.TrimSpace(n))
		if err1 == nil && err2 == nil && count >= 1 && index >= 0 && index <= count {
			return Shard{Index: index, Count: count}, nil
		}
	}
	return Shard{}, errkind.Mark(errkind.Invalid, fmt.Errorf("shard %q: want I/N with 1 <= I <= N (e.g. 2/4; 0/N is the platform shard), or K+1/N for a 0-based index K", s))
}

func parseShardIndex(s string) (int, error) {
	k, plusOne := strings.CutSuffix(s, "+1")
	v, err := strconv.Atoi(strings.TrimSpace(k))
	if err != nil || (plusOne && v < 0) {
		return 0, fmt.Errorf("shard index %q", s)
	}
	if plusOne {
		v++
	}
	return v, nil
}
