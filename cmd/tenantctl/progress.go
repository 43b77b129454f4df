package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/connectsoft/tenantctl/automation"
)

// progressPrinter shows one line per stack. On a terminal the lines are redrawn in place (at most
// five times a second); otherwise each stack prints a line when it starts and when it finishes,
// so CI logs carry no spinner noise.
type progressPrinter struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	quiet    bool
	order    []string
	lines    map[string]string
	drawn    int
	lastDraw time.Time
}

func newProgressPrinter(w io.Writer, quiet bool) *progressPrinter {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &progressPrinter{w: w, tty: tty, quiet: quiet, lines: map[string]string{}}
}

func (p *progressPrinter) handle(ev automation.Progress) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.lines[ev.Stack]; !ok {
		p.order = append(p.order, ev.Stack)
	}
	line := formatProgress(ev)
	p.lines[ev.Stack] = line
	if !p.tty {
		if ev.Phase != "resource" {
			fmt.Fprintln(p.w, line)
		}
		return
	}
	if ev.Phase == "resource" && time.Since(p.lastDraw) < 200*time.Millisecond {
		return
	}
	p.redraw()
}

func (p *progressPrinter) redraw() {
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn)
	}
	for _, s := range p.order {
		b.WriteString("\x1b[2K")
		b.WriteString(p.lines[s])
		b.WriteByte('\n')
	}
	p.drawn = len(p.order)
	p.lastDraw = time.Now()
	io.WriteString(p.w, b.String())
}

func formatProgress(ev automation.Progress) string {
	el := ev.Elapsed.Round(100 * time.Millisecond)
	switch ev.Phase {
	case "started":
		return fmt.Sprintf("%-28s %-8s started", ev.Stack, ev.Operation)
	case "resource":
		return fmt.Sprintf("%-28s %-8s %d/%d resources  %s", ev.Stack, ev.Operation, ev.Done, ev.Total, el)
	}
	r := ev.Result
	switch {
	case r == nil:
		return fmt.Sprintf("%-28s %-8s finished  %s", ev.Stack, ev.Operation, el)
	case r.Conflict:
		return fmt.Sprintf("%-28s %-8s CONFLICT  %s: %s", ev.Stack, ev.Operation, el, r.Error)
	case r.Err != nil:
		return fmt.Sprintf("%-28s %-8s FAILED    %s: %s", ev.Stack, ev.Operation, el, r.Error)
	case r.Skipped != "":
		return fmt.Sprintf("%-28s %-8s skipped   %s", ev.Stack, ev.Operation, r.Skipped)
	}
	return fmt.Sprintf("%-28s %-8s ok        %s  %s", ev.Stack, ev.Operation, el, formatChanges(r.Changes))
}

// formatChanges prints "create=3 same=2" in a stable order.
func formatChanges(c map[string]int) string {
	if len(c) == 0 {
		return "no resources"
	}
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, c[k])
	}
	return strings.Join(parts, " ")
}
