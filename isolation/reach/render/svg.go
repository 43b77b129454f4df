package render

import (
	"bufio"
	"fmt"
	"html"
	"io"

	"github.com/connectsoft/tenantctl/isolation/reach/graph"
)

// svgNS is the only URL the picture contains: the SVG namespace, which is an identifier and is
// never fetched.
const svgNS = "http://www.w3.org/2000/svg"

var verdictOrder = []graph.Verdict{graph.VerdictAllowed, graph.VerdictUnknown, graph.VerdictUnexpected}

const svgStyle = `
.reach-graph { font-family: system-ui, sans-serif; font-size: 12px; }
.reach-graph .title { font-size: 16px; font-weight: 600; fill: #202124; }
.reach-graph .group circle { fill: #f8f9fa; stroke: #dadce0; stroke-dasharray: 4 3; }
.reach-graph .group text { font-size: 14px; font-weight: 600; fill: #5f6368; text-anchor: middle; }
.reach-graph .node circle { stroke: #202124; stroke-width: 1.2; }
.reach-graph .node text { text-anchor: middle; font-size: 12px; fill: #202124; }
.reach-graph .node.platform circle { fill: #bdc1c6; }
.reach-graph .node.silo circle { fill: #aecbfa; }
.reach-graph .node.pool circle { fill: #a8dab5; }
.reach-graph .node.shared circle { fill: #d7aefb; }
.reach-graph .node.undeclared circle { fill: #ffffff; stroke: #d93025; stroke-dasharray: 3 2; }
.reach-graph .edge path { fill: none; }
.reach-graph .edge.allowed path { stroke: #9aa0a6; stroke-width: 1.2; opacity: 0.45; }
.reach-graph .edge.allowed text { fill: #9aa0a6; opacity: 0.7; }
.reach-graph .edge.unknown path { stroke: #e37400; stroke-width: 2.2; stroke-dasharray: 6 4; }
.reach-graph .edge.unknown text { fill: #e37400; }
.reach-graph .edge.unexpected path { stroke: #d93025; stroke-width: 2.8; }
.reach-graph .edge.unexpected text { fill: #d93025; font-weight: 600; }
.reach-graph .edge { cursor: pointer; }
.reach-graph .edge .hit { stroke: transparent; stroke-width: 12; opacity: 0; }
.reach-graph .edge:hover path.line, .reach-graph .edge.selected path.line { stroke-width: 4; opacity: 1; }
.reach-graph .edge text { font-size: 10px; text-anchor: middle; }
`

// SVG writes the graph as a standalone SVG document.
func SVG(w io.Writer, g *graph.Graph) error {
	bw := bufio.NewWriter(w)
	writeSVG(bw, g)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("render svg: %w", err)
	}
	return nil
}

func writeSVG(w *bufio.Writer, g *graph.Graph) {
	l := newLayout(g)
	e := html.EscapeString
	fmt.Fprintf(w, `<svg xmlns="%s" class="reach-graph" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="reachability graph of %s">`+"\n",
		svgNS, l.width, l.height, l.width, l.height, e(g.Environment))
	fmt.Fprintf(w, "<style>%s</style>\n<defs>\n", svgStyle)
	for _, v := range verdictOrder {
		color := map[graph.Verdict]string{graph.VerdictAllowed: "#9aa0a6", graph.VerdictUnknown: "#e37400", graph.VerdictUnexpected: "#d93025"}[v]
		fmt.Fprintf(w, `<marker id="arrow-%s" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="%s"/></marker>`+"\n", v, color)
	}
	fmt.Fprint(w, "</defs>\n")
	fmt.Fprintf(w, `<text class="title" x="%.0f" y="28">Reachability of %s (%s): %d unexpected, %d unknown, %d allowed</text>`+"\n",
		margin, e(g.Environment), e(g.Mode), g.Count(graph.VerdictUnexpected), g.Count(graph.VerdictUnknown), g.Count(graph.VerdictAllowed))
	for _, gr := range l.groups {
		fmt.Fprintf(w, `<g class="group"><circle cx="%.1f" cy="%.1f" r="%.1f"/><text x="%.1f" y="%.1f">%s (%d)</text></g>`+"\n",
			gr.cx, gr.cy, gr.r+nodeRadius+16, gr.cx, gr.cy-gr.r-nodeRadius-26, e(gr.title), len(gr.nodes))
	}
	lane := lanes(g)
	// Allowed edges first, so the alarming ones are drawn on top.
	for _, v := range verdictOrder {
		for i, ed := range g.Edges {
			if ed.Verdict != v {
				continue
			}
			d, lp := l.curve(ed.From, ed.To, lane[i])
			fmt.Fprintf(w, `<g class="edge %s" id="edge-%d" data-index="%d" data-from="%s" data-to="%s" data-kind="%s" data-verdict="%s">`,
				v, i, i, e(ed.From), e(ed.To), e(string(ed.Kind)), v)
			fmt.Fprintf(w, "<title>%s</title>", e(evidenceText(ed)))
			fmt.Fprintf(w, `<path class="hit" d="%s"/><path class="line" d="%s" marker-end="url(#arrow-%s)"/>`, d, d, v)
			fmt.Fprintf(w, `<text x="%.1f" y="%.1f">%s %s</text></g>`+"\n", lp.x, lp.y, e(string(ed.Kind)), e(ed.Ports.String()))
		}
	}
	for _, gr := range l.groups {
		for _, n := range gr.nodes {
			p := l.pos[n.ID]
			class := string(n.Tier)
			switch {
			case n.Kind == graph.NodePlatform:
				class = "platform"
			case !n.Declared || n.Tier == "":
				class = "undeclared"
			}
			fmt.Fprintf(w, `<g class="node %s" id="node-%s" data-id="%s"><title>%s (%s)</title><circle cx="%.1f" cy="%.1f" r="%.0f"/><text x="%.1f" y="%.1f">%s</text></g>`+"\n",
				class, e(n.ID), e(n.ID), e(n.ID), class, p.x, p.y, nodeRadius, p.x, p.y+nodeRadius+14, e(n.ID))
		}
	}
	fmt.Fprint(w, "</svg>\n")
}
