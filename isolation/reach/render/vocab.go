package render

import (
	"fmt"
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

// palette holds colours distinguishable from each other and from the verdicts' red, orange and
// grey; the first len(graph.EdgeKinds) go to the vocabulary's kinds in its order.
var palette = []string{
	"#1a73e8", "#188038", "#9334e6", "#12b5cb", "#c2185b", "#6d4c41", "#3949ab", "#827717",
	"#00897b", "#ad1457", "#0277bd", "#558b2f", "#7b1fa2", "#455a64", "#8e24aa", "#2e7d32",
	"#5d4037", "#1565c0", "#9e9d24", "#00838f", "#6a1b9a", "#4e342e",
}

// colours gives every kind of g its colour: a kind of the vocabulary its place in
// graph.EdgeKinds, a kind the vocabulary does not list yet the next palette colour no kind of
// the vocabulary holds (in name order), and past the palette a hue from the name's hash.
func colours(g *graph.Graph) map[graph.EdgeKind]string {
	out := map[graph.EdgeKind]string{}
	next := len(graph.EdgeKinds)
	for _, k := range kindsOf(g) {
		if i := slices.Index(graph.EdgeKinds, k); i >= 0 && i < len(palette) {
			out[k] = palette[i]
			continue
		}
		if next < len(palette) {
			out[k] = palette[next]
			next++
			continue
		}
		h := fnv.New32a()
		h.Write([]byte(k))
		out[k] = fmt.Sprintf("hsl(%d, 60%%, 38%%)", h.Sum32()%360)
	}
	return out
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
