package automation

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestContextOverrides(t *testing.T) {
	e := &Engine{principal: "local:alice"}
	var engineWide, perCall []string
	e.progress = func(p Progress) { engineWide = append(engineWide, p.Stack) }

	ctx := context.Background()
	if got := e.principalFor(ctx); got != "local:alice" {
		t.Errorf("principal without override = %q", got)
	}
	e.emit(ctx, Progress{Stack: "a"})

	ctx = WithPrincipalContext(ctx, "svc-devops")
	ctx = WithProgressContext(ctx, func(p Progress) { perCall = append(perCall, p.Stack) })
	if got := e.principalFor(ctx); got != "svc-devops" {
		t.Errorf("principal with override = %q", got)
	}
	e.emit(ctx, Progress{Stack: "b"})
	ReportProgress(ctx, Progress{Stack: "c"})

	if diff := cmp.Diff([]string{"a", "b"}, engineWide); diff != "" {
		t.Errorf("engine-wide progress (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"b", "c"}, perCall); diff != "" {
		t.Errorf("per-call progress (-want +got):\n%s", diff)
	}
}
