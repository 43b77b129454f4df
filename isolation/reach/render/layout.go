// Package render draws a reachability graph as DOT, as a hand-laid-out SVG, and as a
// self-contained HTML page (the SVG plus inline script for the evidence; no network fetch).
package render

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
)

// group is one column of the picture: the platform, one tier, or tenants without a binding.
type group struct {
	key, title string
	nodes      []graph.Node
	cx, cy, r  float64
}

type point struct{ x, y float64 }

// layout places groups as columns left to right (platform, silo, pool, shared, undeclared) and
// the nodes of a group on a circle, so edges inside a group stay visible as chords.
type layout struct {
	groups        []*group
	pos           map[string]point
	width, height float64
}

const (
	nodeRadius  = 18.0
	columnWidth = 220.0
	margin      = 70.0
)

func groupKey(n graph.Node) (string, string) {
	switch {
	case n.Kind == graph.NodePlatform:
		return "0-platform", "platform"
	case !n.Declared || n.Tier == "":
		return "9-undeclared", "undeclared tenants"
	}
	for i, t := range isolation.Tiers {
		if n.Tier == t {
			return fmt.Sprintf("%d-%s", i+1, t), string(t)
		}
	}
	return "8-" + string(n.Tier), string(n.Tier)
}

func newLayout(g *graph.Graph) *layout {
	byKey := map[string]*group{}
	for _, n := range g.Nodes {
		key, title := groupKey(n)
		gr := byKey[key]
		if gr == nil {
			gr = &group{key: key, title: title}
			byKey[key] = gr
		}
		gr.nodes = append(gr.nodes, n)
	}
	l := &layout{pos: map[string]point{}}
	for _, gr := range byKey {
		slices.SortFunc(gr.nodes, func(a, b graph.Node) int { return cmp.Compare(a.ID, b.ID) })
		l.groups = append(l.groups, gr)
	}
	slices.SortFunc(l.groups, func(a, b *group) int { return cmp.Compare(a.key, b.key) })
	maxR := 0.0
	for _, gr := range l.groups {
		// Circumference enough for every node with a gap of one node between neighbours.
		gr.r = max(float64(len(gr.nodes))*nodeRadius*4/(2*math.Pi), 0)
		if len(gr.nodes) > 1 {
			gr.r = max(gr.r, 70)
		}
		maxR = max(maxR, gr.r)
	}
	x := margin
	for _, gr := range l.groups {
		w := max(columnWidth, 2*gr.r+2*margin)
		gr.cx = x + w/2
		x += w
	}
	l.width = x + margin
	l.height = 2*maxR + 3*margin + 40
	for _, gr := range l.groups {
		gr.cy = margin + 40 + maxR
		for i, n := range gr.nodes {
			if len(gr.nodes) == 1 {
				l.pos[n.ID] = point{gr.cx, gr.cy}
				continue
			}
			a := -math.Pi/2 + 2*math.Pi*float64(i)/float64(len(gr.nodes))
			l.pos[n.ID] = point{gr.cx + gr.r*math.Cos(a), gr.cy + gr.r*math.Sin(a)}
		}
	}
	return l
}

// curve is the path of one edge: a quadratic Bézier bowed to one side, more for each further
// edge between the same pair so parallel edges (different kinds) stay apart. Endpoints stop at
// the node circles.
func (l *layout) curve(from, to string, lane int) (string, point) {
	a, b := l.pos[from], l.pos[to]
	dx, dy := b.x-a.x, b.y-a.y
	d := math.Hypot(dx, dy)
	if d == 0 {
		d = 1
	}
	ux, uy := dx/d, dy/d
	start := point{a.x + ux*nodeRadius, a.y + uy*nodeRadius}
	end := point{b.x - ux*(nodeRadius+4), b.y - uy*(nodeRadius+4)}
	bow := 30.0 + 22.0*float64(lane)
	mid := point{(a.x+b.x)/2 - uy*bow, (a.y+b.y)/2 + ux*bow}
	label := point{(start.x + 2*mid.x + end.x) / 4, (start.y + 2*mid.y + end.y) / 4}
	return fmt.Sprintf("M%.1f,%.1f Q%.1f,%.1f %.1f,%.1f", start.x, start.y, mid.x, mid.y, end.x, end.y), label
}

// lanes numbers the edges between each ordered pair, so curves do not overlap.
func lanes(g *graph.Graph) []int {
	seen := map[[2]string]int{}
	out := make([]int, len(g.Edges))
	for i, e := range g.Edges {
		k := [2]string{e.From, e.To}
		out[i] = seen[k]
		seen[k]++
	}
	return out
}

// evidenceText is an edge's chain as plain lines, for tooltips and the evidence panel.
func evidenceText(e graph.Edge) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s → %s: %s %s on %s\n%s\n", e.From, e.To, e.Verdict, e.Kind, e.Ports, e.Reason)
	for i, st := range e.Evidence {
		fmt.Fprintf(&b, "%d. [%s] %s", i+1, st.Kind, st.Detail)
		if st.Resource != "" {
			fmt.Fprintf(&b, " (%s)", st.Resource)
		}
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n")
}
