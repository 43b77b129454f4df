package render

import (
	"cmp"
	"slices"

	"github.com/connectsoft/tenantctl/isolation/reach/graph"
)

// matrixData is the adjacency matrix as the page draws it: parties ordered by tier (platform
// first), and one cell per ordered pair that has an edge, with the worst verdict, the kind of
// its worst edge and every edge of the pair.
type matrixData struct {
	Nodes []matrixNode `json:"nodes"`
	Tiers []matrixTier `json:"tiers"`
	// Cells are [row, column, verdict rank (0 unexpected, 1 unknown, 2 allowed), kind index,
	// edge indexes...].
	Cells [][]int     `json:"cells"`
	Kinds []matrixKey `json:"kinds"`
}

type matrixNode struct {
	ID   string `json:"id"`
	Tier string `json:"tier"`
	// Attention: the party has an unexpected or unknown edge.
	Attention bool `json:"attention,omitempty"`
}

type matrixTier struct {
	Name  string `json:"name"`
	Start int    `json:"start"`
	Count int    `json:"count"`
}

type matrixKey struct {
	Name   string `json:"name"`
	Colour string `json:"colour"`
}

func verdictRank(v graph.Verdict) int {
	switch v {
	case graph.VerdictUnexpected:
		return 0
	case graph.VerdictUnknown:
		return 1
	}
	return 2
}

func buildMatrix(g *graph.Graph) matrixData {
	var m matrixData
	nodes := make([]*graph.Node, len(g.Nodes))
	for i := range g.Nodes {
		nodes[i] = &g.Nodes[i]
	}
	slices.SortStableFunc(nodes, func(a, b *graph.Node) int {
		return cmp.Or(cmp.Compare(classRank(nodeClass(a)), classRank(nodeClass(b))), cmp.Compare(a.ID, b.ID))
	})
	index := map[string]int{}
	for i, n := range nodes {
		index[n.ID] = i
		c := nodeClass(n)
		m.Nodes = append(m.Nodes, matrixNode{ID: n.ID, Tier: c})
		if k := len(m.Tiers); k == 0 || m.Tiers[k-1].Name != c {
			m.Tiers = append(m.Tiers, matrixTier{Name: c, Start: i})
		}
		m.Tiers[len(m.Tiers)-1].Count++
	}
	kc := colours(g)
	for _, k := range kindsOf(g) {
		m.Kinds = append(m.Kinds, matrixKey{Name: string(k), Colour: kc[k]})
	}
	kindIdx := func(k graph.EdgeKind) int {
		return slices.IndexFunc(m.Kinds, func(x matrixKey) bool { return x.Name == string(k) })
	}
	cells := map[[2]int]int{}
	for i, e := range g.Edges {
		r, okR := index[e.From]
		c, okC := index[e.To]
		if !okR || !okC {
			continue
		}
		if e.Verdict != graph.VerdictAllowed {
			m.Nodes[r].Attention, m.Nodes[c].Attention = true, true
		}
		at, ok := cells[[2]int{r, c}]
		if !ok {
			cells[[2]int{r, c}] = len(m.Cells)
			m.Cells = append(m.Cells, []int{r, c, verdictRank(e.Verdict), kindIdx(e.Kind), i})
			continue
		}
		cell := m.Cells[at]
		if vr := verdictRank(e.Verdict); vr < cell[2] {
			cell[2], cell[3] = vr, kindIdx(e.Kind)
		}
		m.Cells[at] = append(cell, i)
	}
	return m
}

func classRank(c string) int {
	if c == "platform" {
		return -1
	}
	return tierRank(c)
}

// matrixCells counts the matrix's cells: the ordered pairs of parties that have an edge.
func matrixCells(g *graph.Graph) int {
	return len(buildMatrix(g).Cells)
}
