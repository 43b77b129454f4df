package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks"
	"github.com/connectsoft/tenantctl/stacks/azure"
	"github.com/connectsoft/tenantctl/stacks/kubernetes"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Program runs the tenant or platform program the stack's config selects. Everything it acts on
// comes from config: the Environment document, for a tenant stack the RuntimeTenantBinding
// document, both decoded and validated exactly as tenantctl validates a desired-state folder
// (isolation.DecodeStackDocuments), and the kubeconfig path the programs read themselves.
//
// A tenant stack reads its platform stack's outputs through a stack reference to
// <organization>/<project>/platform.<env>, where tenantctl's engine passes them in directly.
//
// The stack name must be the one tenantctl would give the stack (platform.<env>,
// tenant.<tenantId>.<env>): a binding pasted into another tenant's stack is refused rather than
// deployed over that tenant's resources.
func Program(ctx *pulumi.Context) error {
	cfg := config.New(ctx, stacks.ConfigNamespace)
	id, err := tenantplan.ParseStackName(ctx.Stack())
	if err != nil {
		return fmt.Errorf("stack %s: %w", ctx.Stack(), err)
	}
	kind := cfg.Get(stacks.ConfigKind)
	if kind == "" {
		kind = string(tenantplan.StackTenant)
	}
	if kind != string(id.Kind) {
		return fmt.Errorf("stack %s is a %s stack, config %s says %q", ctx.Stack(), id.Kind, stacks.FullConfigKey(stacks.ConfigKind), kind)
	}
	envDoc := cfg.Get(stacks.ConfigEnvironment)
	if strings.TrimSpace(envDoc) == "" {
		return fmt.Errorf("config %s is not set: set it to the Environment document (pulumi config set %s \"$(cat <file>)\")",
			stacks.FullConfigKey(stacks.ConfigEnvironment), stacks.FullConfigKey(stacks.ConfigEnvironment))
	}
	envIn := isolation.Document{Name: stacks.FullConfigKey(stacks.ConfigEnvironment), Data: []byte(envDoc)}
	var bindingIn *isolation.Document
	if id.Kind == tenantplan.StackTenant {
		doc := cfg.Get(stacks.ConfigBinding)
		if strings.TrimSpace(doc) == "" {
			return fmt.Errorf("config %s is not set: a tenant stack needs its RuntimeTenantBinding document", stacks.FullConfigKey(stacks.ConfigBinding))
		}
		bindingIn = &isolation.Document{Name: stacks.FullConfigKey(stacks.ConfigBinding), Data: []byte(doc)}
	} else if strings.TrimSpace(cfg.Get(stacks.ConfigBinding)) != "" {
		return fmt.Errorf("stack %s is a platform stack; unset %s", ctx.Stack(), stacks.FullConfigKey(stacks.ConfigBinding))
	}
	env, b, err := isolation.DecodeStackDocuments(envIn, bindingIn)
	if err != nil {
		return err
	}
	if env.Name() != id.Environment {
		return fmt.Errorf("stack %s is for environment %s, config %s declares %s", ctx.Stack(), id.Environment, stacks.FullConfigKey(stacks.ConfigEnvironment), env.Name())
	}
	if t := cfg.Get(stacks.ConfigTarget); t != "" && t != env.Spec.Target {
		return fmt.Errorf("config %s is %q, environment %s has target %q: set %s to %s", stacks.FullConfigKey(stacks.ConfigTarget), t, env.Name(), env.Spec.Target,
			stacks.FullConfigKey(stacks.ConfigTarget), env.Spec.Target)
	}

	if id.Kind == tenantplan.StackPlatform {
		switch env.Spec.Target {
		case isolation.TargetAzure:
			return azure.PlatformProgram(env)(ctx)
		case isolation.TargetKubernetes:
			return kubernetes.PlatformProgram(env)(ctx)
		}
		return fmt.Errorf("environment %s has unknown target %q", env.Name(), env.Spec.Target)
	}

	if b.Spec.TenantID != id.TenantID {
		return fmt.Errorf("stack %s is tenant %s's, config %s is tenant %s's binding", ctx.Stack(), id.TenantID, stacks.FullConfigKey(stacks.ConfigBinding), b.Spec.TenantID)
	}
	platform, err := platformOutputs(ctx, env)
	if err != nil {
		return err
	}
	in := tenantplan.Inputs{Binding: b, Env: env, Platform: platform}
	switch env.Spec.Target {
	case isolation.TargetAzure:
		return azure.TenantProgram(in)(ctx)
	case isolation.TargetKubernetes:
		return kubernetes.TenantProgram(in)(ctx)
	}
	return fmt.Errorf("environment %s has unknown target %q", env.Name(), env.Spec.Target)
}

// PlatformStackReference is the fully qualified name of an environment's platform stack in the
// current organization and project, as a stack reference names it.
func PlatformStackReference(ctx *pulumi.Context, env string) string {
	return ctx.Organization() + "/" + ctx.Project() + "/" + tenantplan.PlatformStackName(env)
}

// platformOutputs reads the outputs tenant programs consume from the platform stack.
func platformOutputs(ctx *pulumi.Context, env *isolation.Environment) (tenantplan.PlatformOutputs, error) {
	name := PlatformStackReference(ctx, env.Name())
	ref, err := pulumi.NewStackReference(ctx, name, nil)
	if err != nil {
		return tenantplan.PlatformOutputs{}, fmt.Errorf("platform stack %s: %w", name, err)
	}
	m := map[string]any{}
	for _, key := range []string{tenantplan.OutputEnvironment, tenantplan.OutputIngressNamespace, tenantplan.OutputSharedNamespace, tenantplan.OutputAdmissionPolicies} {
		d, err := ref.GetOutputDetails(key)
		if err != nil {
			return tenantplan.PlatformOutputs{}, fmt.Errorf("platform stack %s output %s: %w", name, key, err)
		}
		if d.SecretValue != nil {
			return tenantplan.PlatformOutputs{}, fmt.Errorf("platform stack %s output %s is a secret; platform outputs are names only", name, key)
		}
		if d.Value != nil {
			m[key] = d.Value
		}
	}
	p, err := tenantplan.PlatformOutputsFromMap(m)
	if err != nil {
		return tenantplan.PlatformOutputs{}, errors.Join(fmt.Errorf("platform stack %s: run it first (pulumi up -s %s)", name, tenantplan.PlatformStackName(env.Name())), err)
	}
	return p, nil
}
