package graph

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// PortRange is a protocol and a port interval. Protocol "" means any protocol; From == 0 means
// every port of the protocol. Name is a Kubernetes named port: which number it is depends on the
// destination pod's containers, so it is kept symbolic.
type PortRange struct {
	Protocol string `json:"protocol,omitempty"`
	From     int32  `json:"from,omitempty"`
	To       int32  `json:"to,omitempty"`
	Name     string `json:"name,omitempty"`
}

func (r PortRange) allPorts() bool { return r.From == 0 && r.Name == "" }

// String renders "TCP/53", "TCP/8000-8080", "TCP/http", "TCP/*" or "*".
func (r PortRange) String() string {
	proto := r.Protocol
	if proto == "" {
		proto = "*"
	}
	switch {
	case r.Name != "":
		return proto + "/" + r.Name
	case r.allPorts():
		if r.Protocol == "" {
			return "*"
		}
		return proto + "/*"
	case r.From == r.To:
		return proto + "/" + strconv.Itoa(int(r.From))
	}
	return fmt.Sprintf("%s/%d-%d", proto, r.From, r.To)
}

// PortSet is a set of port ranges; the zero value is empty. A set holding the any-protocol,
// every-port range is "all".
type PortSet struct {
	Ranges []PortRange
}

// allRanges backs every AllPorts set. Sets are never modified in place (every operation builds
// a new slice), and its capacity is its length, so an append elsewhere cannot write into it.
var allRanges = []PortRange{{}}

// AllPorts is every protocol and port.
func AllPorts() PortSet { return PortSet{Ranges: allRanges[:1:1]} }

// Ports builds a normalised set from ranges.
func Ports(rs ...PortRange) PortSet { return PortSet{Ranges: normalize(slices.Clone(rs))} }

// IsEmpty reports whether no port is in the set.
func (s PortSet) IsEmpty() bool { return len(s.Ranges) == 0 }

// IsAll reports whether the set holds every protocol and port.
func (s PortSet) IsAll() bool {
	return len(s.Ranges) == 1 && s.Ranges[0].Protocol == "" && s.Ranges[0].allPorts()
}

// Union returns every port in s or t.
func (s PortSet) Union(t PortSet) PortSet {
	if s.IsAll() || t.IsEmpty() {
		return s
	}
	if t.IsAll() || s.IsEmpty() {
		return t
	}
	return PortSet{Ranges: normalize(append(slices.Clone(s.Ranges), t.Ranges...))}
}

// Intersect returns the ports in both s and t. A named port meets a numeric range as the named
// port: the name may resolve into the range, and the analysis must not call a route closed when
// it might be open.
func (s PortSet) Intersect(t PortSet) PortSet {
	if s.IsAll() {
		return t
	}
	if t.IsAll() {
		return s
	}
	var out []PortRange
	for _, a := range s.Ranges {
		for _, b := range t.Ranges {
			if r, ok := intersectRange(a, b); ok {
				out = append(out, r)
			}
		}
	}
	return PortSet{Ranges: normalize(out)}
}

func intersectRange(a, b PortRange) (PortRange, bool) {
	proto := a.Protocol
	switch {
	case a.Protocol == "":
		proto = b.Protocol
	case b.Protocol != "" && !strings.EqualFold(a.Protocol, b.Protocol):
		return PortRange{}, false
	}
	switch {
	case a.allPorts():
		b.Protocol = proto
		return b, true
	case b.allPorts():
		a.Protocol = proto
		return a, true
	case a.Name != "" && b.Name != "":
		if a.Name != b.Name {
			return PortRange{}, false
		}
		return PortRange{Protocol: proto, Name: a.Name}, true
	case a.Name != "":
		return PortRange{Protocol: proto, Name: a.Name}, true
	case b.Name != "":
		return PortRange{Protocol: proto, Name: b.Name}, true
	}
	from, to := max(a.From, b.From), min(a.To, b.To)
	if from > to {
		return PortRange{}, false
	}
	return PortRange{Protocol: proto, From: from, To: to}, true
}

// normalize sorts ranges, merges overlapping intervals of one protocol and lets an every-port
// range absorb the other ranges of its protocol.
func normalize(rs []PortRange) []PortRange {
	if len(rs) == 0 {
		return nil
	}
	for i := range rs {
		rs[i].Protocol = strings.ToUpper(rs[i].Protocol)
		if rs[i].Protocol == "" && rs[i].allPorts() {
			return []PortRange{{}}
		}
	}
	allOf := map[string]bool{}
	for _, r := range rs {
		if r.allPorts() {
			allOf[r.Protocol] = true
		}
	}
	slices.SortFunc(rs, func(a, b PortRange) int {
		return cmp.Or(cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.Name, b.Name), cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To))
	})
	out := rs[:0]
	for _, r := range rs {
		if allOf[r.Protocol] && !r.allPorts() {
			continue
		}
		if n := len(out); n > 0 {
			last := &out[n-1]
			if last.Protocol == r.Protocol && last.Name == "" && r.Name == "" && !r.allPorts() && !last.allPorts() && r.From <= last.To+1 {
				last.To = max(last.To, r.To)
				continue
			}
			if *last == r {
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

// String renders the set as "TCP/53, UDP/53", "*" for all ports, "none" when empty.
func (s PortSet) String() string {
	if s.IsEmpty() {
		return "none"
	}
	parts := make([]string, len(s.Ranges))
	for i, r := range s.Ranges {
		parts[i] = r.String()
	}
	return strings.Join(parts, ", ")
}

// MarshalJSON writes the set as a list of range strings: ["TCP/53"], ["*"].
func (s PortSet) MarshalJSON() ([]byte, error) {
	parts := make([]string, len(s.Ranges))
	for i, r := range s.Ranges {
		parts[i] = r.String()
	}
	return json.Marshal(parts)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *PortSet) UnmarshalJSON(b []byte) error {
	var parts []string
	if err := json.Unmarshal(b, &parts); err != nil {
		return fmt.Errorf("port set: %w", err)
	}
	var rs []PortRange
	for _, p := range parts {
		r, err := ParsePortRange(p)
		if err != nil {
			return err
		}
		rs = append(rs, r)
	}
	*s = Ports(rs...)
	return nil
}

// ParsePortRange reads the String form of a range.
func ParsePortRange(s string) (PortRange, error) {
	if s == "*" {
		return PortRange{}, nil
	}
	proto, ports, ok := strings.Cut(s, "/")
	if !ok {
		return PortRange{}, fmt.Errorf("port range %q: want PROTOCOL/PORTS", s)
	}
	r := PortRange{Protocol: proto}
	if proto == "*" {
		r.Protocol = ""
	}
	if ports == "*" {
		return r, nil
	}
	lo, hi, isRange := strings.Cut(ports, "-")
	from, err := strconv.ParseInt(lo, 10, 32)
	if err != nil {
		if isRange {
			return PortRange{}, fmt.Errorf("port range %q: %w", s, err)
		}
		r.Name = ports
		return r, nil
	}
	to := from
	if isRange {
		if to, err = strconv.ParseInt(hi, 10, 32); err != nil {
			return PortRange{}, fmt.Errorf("port range %q: %w", s, err)
		}
	}
	if from < 1 || to < from || to > 65535 {
		return PortRange{}, fmt.Errorf("port range %q is not within 1-65535", s)
	}
	r.From, r.To = int32(from), int32(to)
	return r, nil
}
