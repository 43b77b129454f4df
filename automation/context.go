package automation

import "context"

// Per-call overrides carried by the context. A long-running server shares one Engine between
// callers, so who runs an operation and where its progress goes belong to the call, not to the
// Engine.

type principalKey struct{}

type progressKey struct{}

// WithPrincipalContext makes the operations run with ctx record p as their principal in audit
// records instead of the Engine's WithPrincipal value.
func WithPrincipalContext(ctx context.Context, p string) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// WithProgressContext sends the progress events of the operations run with ctx to f, in addition
// to the Engine's WithProgress callback.
func WithProgressContext(ctx context.Context, f func(Progress)) context.Context {
	return context.WithValue(ctx, progressKey{}, f)
}

func (e *Engine) principalFor(ctx context.Context) string {
	if p, ok := ctx.Value(principalKey{}).(string); ok && p != "" {
		return p
	}
	return e.principal
}

func (e *Engine) emit(ctx context.Context, p Progress) {
	if e.progress != nil {
		e.progress(p)
	}
	ReportProgress(ctx, p)
}

// ReportProgress sends p to the progress receiver of ctx (WithProgressContext), if any: for work
// outside the engine, such as a drift check's inventory reads, that reports into the same stream.
func ReportProgress(ctx context.Context, p Progress) {
	if f, ok := ctx.Value(progressKey{}).(func(Progress)); ok && f != nil {
		f(p)
	}
}
