package render

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/goccy/go-graphviz"
)

// Layout goes through Graphviz's dot (compiled to WebAssembly and run by wazero: no cgo, no
// program on PATH). Every label is a node of its own, sized to its text: an edge's label sits on
// a small node the edge passes through, so dot, which never lets two nodes overlap, keeps every
// label clear of every other. The SVG then fits each text to its box (textLength), whatever the
// browser's font.

const (
	dpi       = 72.0
	fontSize  = 11.0
	charWidth = 6.6 // a generous average advance of an 11px sans-serif character
	padX      = 10.0
	nodeH     = 24.0
	labelH    = 17.0
)

// box is a placed rectangle, in pixels from the top left.
type box struct{ x, y, w, h float64 }

func (b box) cx() float64 { return b.x + b.w/2 }
func (b box) cy() float64 { return b.y + b.h/2 }

// placed is a laid-out view.
type placed struct {
	w, h   float64
	nodes  []box // by view node
	labels []box // by view edge
	paths  []string
}

func textWidth(s string) float64 { return float64(len([]rune(s)))*charWidth + padX }

func (v *view) dot() string {
	var b strings.Builder
	b.WriteString("digraph v {\n  graph [rankdir=LR, nodesep=0.18, ranksep=0.45, splines=true, outputorder=edgesfirst];\n")
	b.WriteString("  node [shape=box, fixedsize=true, label=\"\"];\n  edge [arrowhead=none];\n")
	idx := map[string]int{}
	for i, n := range v.nodes {
		idx[n.id] = i
		fmt.Fprintf(&b, "  n%d [width=%.3f, height=%.3f];\n", i, textWidth(n.label)/dpi, nodeH/dpi)
	}
	for i, e := range v.edges {
		fmt.Fprintf(&b, "  l%d [width=%.3f, height=%.3f];\n  n%d -> l%d;\n  l%d -> n%d;\n", i, textWidth(e.label)/dpi, labelH/dpi, idx[e.from], i, i, idx[e.to])
	}
	b.WriteString("}\n")
	return b.String()
}

// layout places a view with dot.
func layout(ctx context.Context, v *view) (*placed, error) {
	gv, err := graphviz.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("graphviz: %w", err)
	}
	defer gv.Close()
	gr, err := graphviz.ParseBytes([]byte(v.dot()))
	if err != nil {
		return nil, fmt.Errorf("graphviz: %w", err)
	}
	defer gr.Close()
	var out bytes.Buffer
	if err := gv.Render(ctx, gr, graphviz.Format("plain"), &out); err != nil {
		return nil, fmt.Errorf("graphviz layout: %w", err)
	}
	return parsePlain(out.Bytes(), len(v.nodes), len(v.edges))
}

// parsePlain reads dot's plain output: inches, y growing upwards.
func parsePlain(out []byte, nodes, edges int) (*placed, error) {
	p := &placed{nodes: make([]box, nodes), labels: make([]box, edges), paths: make([]string, edges)}
	type seg struct{ pts [][2]float64 }
	in, outSeg := make([]seg, edges), make([]seg, edges)
	var height float64
	num := func(s string) float64 { f, _ := strconv.ParseFloat(s, 64); return f }
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "graph":
			if len(f) < 4 {
				return nil, fmt.Errorf("graphviz: bad graph line %q", sc.Text())
			}
			p.w, height = num(f[2])*dpi, num(f[3])
			p.h = height * dpi
		case "node":
			if len(f) < 6 {
				return nil, fmt.Errorf("graphviz: bad node line %q", sc.Text())
			}
			i, err := strconv.Atoi(f[1][1:])
			if err != nil {
				return nil, fmt.Errorf("graphviz: node %q: %w", f[1], err)
			}
			w, h := num(f[4])*dpi, num(f[5])*dpi
			b := box{x: num(f[2])*dpi - w/2, y: (height-num(f[3]))*dpi - h/2, w: w, h: h}
			if f[1][0] == 'n' && i < nodes {
				p.nodes[i] = b
			} else if f[1][0] == 'l' && i < edges {
				p.labels[i] = b
			}
		case "edge":
			if len(f) < 4 {
				return nil, fmt.Errorf("graphviz: bad edge line %q", sc.Text())
			}
			n, _ := strconv.Atoi(f[3])
			var pts [][2]float64
			for k := range n {
				if 5+2*k >= len(f) {
					break
				}
				pts = append(pts, [2]float64{num(f[4+2*k]) * dpi, (height - num(f[5+2*k])) * dpi})
			}
			switch {
			case f[2][0] == 'l': // n -> l
				i, _ := strconv.Atoi(f[2][1:])
				if i < edges {
					in[i] = seg{pts}
				}
			case f[1][0] == 'l': // l -> n
				i, _ := strconv.Atoi(f[1][1:])
				if i < edges {
					outSeg[i] = seg{pts}
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("graphviz output: %w", err)
	}
	for i := range edges {
		p.paths[i] = strings.TrimSpace(bezier(in[i].pts) + " " + bezier(outSeg[i].pts))
	}
	return p, nil
}

// bezier writes dot's spline control points (1 + 3k) as an SVG path.
func bezier(pts [][2]float64) string {
	if len(pts) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "M%.1f,%.1f", pts[0][0], pts[0][1])
	for i := 1; i+2 < len(pts); i += 3 {
		fmt.Fprintf(&b, " C%.1f,%.1f %.1f,%.1f %.1f,%.1f", pts[i][0], pts[i][1], pts[i+1][0], pts[i+1][1], pts[i+2][0], pts[i+2][1])
	}
	return b.String()
}
