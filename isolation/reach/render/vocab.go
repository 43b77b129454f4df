package render

import (
	"hash/fnv"
	"slices"

	"github.com/connectsoft/tenantctl/isolation/reach/graph"
)

// Colours come from the graph's vocabulary, not from a list of kinds here: every kind of
// graph.EdgeKinds takes the next colour of the palette in that order, and a kind the vocabulary
// does not list yet (an analyser added after this package) gets one from its name's hash, so a
// new kind shows with its own colour and legend entry without a change to this package.

// verdictColour is the colour of each verdict.
var verdictColour = map[graph.Verdict]string{
	graph.VerdictUnexpected: "#d93025",
	graph.VerdictUnknown:    "#e37400",
	graph.VerdictAllowed:    "#9aa0a6",
}

// palette holds colours distinguishable from each other and from the verdict colours' reds.
var palette = []string{
	"#1a73e8", "#188038", "#9334e6", "#12b5cb", "#e8710a", "#b31412", "#5f6368", "#f538a0",
	"#7cb342", "#3949ab", "#00897b", "#c0ca33", "#8d6e63", "#ff7043", "#5e35b1", "#039be5",
	"#6d4c41", "#43a047", "#d81b60", "#546e7a",
}

// kindColour is the colour of an edge kind.
func kindColour(k graph.EdgeKind) string {
	if i := slices.Index(graph.EdgeKinds, k); i >= 0 {
		return palette[i%len(palette)]
	}
	h := fnv.New32a()
	h.Write([]byte(k))
	return palette[int(h.Sum32()%uint32(len(palette)))]
}

// kindsOf lists the kinds a legend shows: those of the vocabulary the graph uses, in its order,
// then those it does not know yet, sorted.
func kindsOf(g *graph.Graph) []graph.EdgeKind {
	used := map[graph.EdgeKind]bool{}
	for _, e := range g.Edges {
		used[e.Kind] = true
	}
	for _, x := range g.Exposures {
		used[x.Kind] = true
	}
	var out, extra []graph.EdgeKind
	for _, k := range graph.EdgeKinds {
		if used[k] {
			out = append(out, k)
			delete(used, k)
		}
	}
	for k := range used {
		extra = append(extra, k)
	}
	slices.Sort(extra)
	return append(out, extra...)
}
