package kubernetes

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// Program is the skeleton every inline program of this target and of the targets built on it
// (stacks/azure) shares. check runs before any provider exists, so bad input fails without
// touching the cloud or the cluster; providers creates the explicit providers that deploy
// registers everything with; the outputs of deploy become the stack's exports, and observe, when
// set, sees them too, which is how tests read what a program exported.
func Program[P, O any](check func() error, providers func(*pulumi.Context) (P, error),
	deploy func(*pulumi.Context, P) (O, error), exports func(O) pulumi.Map, observe func(O)) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		if err := check(); err != nil {
			return err
		}
		p, err := providers(ctx)
		if err != nil {
			return err
		}
		out, err := deploy(ctx, p)
		if err != nil {
			return err
		}
		for k, v := range exports(out) {
			ctx.Export(k, v)
		}
		if observe != nil {
			observe(out)
		}
		return nil
	}
}
