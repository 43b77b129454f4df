package render

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/connectsoft/tenantctl/isolation/reach/graph"
)

// quote makes s a DOT string literal.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// DOT writes the graph in Graphviz DOT: one cluster per tier, allowed edges grey, unknown edges
// dashed orange, unexpected edges bold red, evidence in each edge's tooltip.
func DOT(w io.Writer, g *graph.Graph) error {
	bw := bufio.NewWriter(w)
	l := newLayout(g)
	fmt.Fprintf(bw, "digraph reachability {\n  graph [rankdir=LR, label=%s, labelloc=t, fontname=\"sans-serif\"];\n",
		quote(fmt.Sprintf("Reachability of %s (%s): %d unexpected, %d unknown, %d allowed", g.Environment, g.Mode,
			g.Count(graph.VerdictUnexpected), g.Count(graph.VerdictUnknown), g.Count(graph.VerdictAllowed))))
	fmt.Fprint(bw, "  node [shape=circle, style=filled, fontname=\"sans-serif\", fontsize=10];\n  edge [fontname=\"sans-serif\", fontsize=9];\n")
	fill := map[string]string{"platform": "#bdc1c6", "silo": "#aecbfa", "pool": "#a8dab5", "shared": "#d7aefb"}
	for i, gr := range l.groups {
		fmt.Fprintf(bw, "  subgraph cluster_%d {\n    label=%s; style=dashed; color=\"#dadce0\";\n", i, quote(gr.title))
		for _, n := range gr.nodes {
			color, ok := fill[gr.title]
			if !ok {
				color = "#ffffff"
			}
			fmt.Fprintf(bw, "    %s [fillcolor=%s, tooltip=%s];\n", quote(n.ID), quote(color), quote(fmt.Sprintf("%s (%s)", n.ID, gr.title)))
		}
		fmt.Fprint(bw, "  }\n")
	}
	for _, e := range g.Edges {
		attrs := map[graph.Verdict]string{
			graph.VerdictAllowed:    `color="#9aa0a6", fontcolor="#9aa0a6"`,
			graph.VerdictUnknown:    `color="#e37400", fontcolor="#e37400", style=dashed, penwidth=2`,
			graph.VerdictUnexpected: `color="#d93025", fontcolor="#d93025", style=bold, penwidth=2.5`,
		}[e.Verdict]
		fmt.Fprintf(bw, "  %s -> %s [%s, label=%s, tooltip=%s];\n", quote(e.From), quote(e.To), attrs,
			quote(string(e.Kind)+" "+e.Ports.String()), quote(evidenceText(e)))
	}
	fmt.Fprint(bw, "}\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("render dot: %w", err)
	}
	return nil
}
