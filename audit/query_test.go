package audit

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestQueryFilters(t *testing.T) {
	// The fixture clock stamps record n at 12:00:00+n s; odd records are globex, even acme.
	path, _ := writeFixture(t, 6)
	at := func(n int) time.Time { return time.Date(2025, 3, 1, 12, 0, n, 0, time.UTC) }
	tests := []struct {
		name   string
		filter Filter
		want   []uint64
	}{
		{"everything", Filter{}, []uint64{1, 2, 3, 4, 5, 6}},
		{"tenant", Filter{TenantID: "acme"}, []uint64{2, 4, 6}},
		{"type matches", Filter{Type: TypeTenantProvision}, []uint64{1, 2, 3, 4, 5, 6}},
		{"type differs", Filter{Type: TypeTenantDestroy}, nil},
		{"trace id", Filter{TraceID: fmt.Sprintf("%032x", 5)}, []uint64{5}},
		{"since is inclusive", Filter{Since: at(4)}, []uint64{4, 5, 6}},
		{"until is exclusive", Filter{Until: at(3)}, []uint64{1, 2}},
		{"time range and tenant", Filter{TenantID: "globex", Since: at(2), Until: at(6)}, []uint64{3, 5}},
		{"limit", Filter{Limit: 2}, []uint64{1, 2}},
		{"page after seq", Filter{AfterSeq: 2, Limit: 2}, []uint64{3, 4}},
	}
	for _, tt := range tests {
		recs, err := QueryFile(context.Background(), path, tt.filter)
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for _, r := range recs {
			got = append(got, r.Seq)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: seqs (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestQueryNamesTheBadLine(t *testing.T) {
	_, err := Query(strings.NewReader("{\"seq\":1}\nnot json\n"), Filter{})
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("Query error = %v, want one naming line 2", err)
	}
}
