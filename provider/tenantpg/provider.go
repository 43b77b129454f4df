// Package tenantpg is a Pulumi resource provider for the data objects of tenantctl's data layer
// on PostgreSQL: roles, databases, schemas, shared tables, grants, default privileges, row-level
// security, policies and role memberships, plus generated passwords kept only in the state.
// Statements and catalog reads come from package pgcatalog (no Pulumi there), which the drift fast
// path shares; every Read of a server object returns the live catalog state, so `pulumi refresh`
// and `preview --refresh` see drift made outside Pulumi.
package tenantpg

import (
	"context"

	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	p "github.com/pulumi/pulumi-go-provider"
)

// Name is the Pulumi package name (plugin pulumi-resource-tenantpg).
const Name = "tenantpg"

// Version is stamped at build time (-X) by hack/build-tool.sh; tests see the default.
var Version = "0.1.0"

// GoImportPath is where the generated Go SDK lives in the main module.
const GoImportPath = "github.com/connectsoft/tenantctl/sdk/go/tenantpg"

// New builds the provider.
func New() (p.Provider, error) {
	prov, _, err := newProvider()
	return prov, err
}

// newProvider builds the provider and returns the configuration it decodes into.
func newProvider() (p.Provider, *Config, error) {
	cfg := &Config{}
	prov, err := build(cfg)
	if err != nil {
		return prov, nil, err
	}
	return reusable(keepUnknownInputs(prov), cfg), cfg, nil
}

// keepUnknownInputs works around infer (v1.5.0) returning an input that is both unknown and secret
// (a Password's result feeding a Role in a preview) from Check as a known secret "": its secrets
// walker re-wraps the known value last. Likewise an object input with an unknown field comes
// back with the field known and empty. A plan saved by that preview would then pin the value ""
// and the update that follows would violate it. Every top-level input that was unknown stays
// unknown (and keeps its secrecy).
func keepUnknownInputs(prov p.Provider) p.Provider {
	check := prov.Check
	if check == nil {
		return prov
	}
	prov.Check = func(ctx context.Context, req p.CheckRequest) (p.CheckResponse, error) {
		resp, err := check(ctx, req)
		if err != nil {
			return resp, err
		}
		for k, v := range req.Inputs.All {
			switch {
			case v.IsComputed():
				resp.Inputs = resp.Inputs.Set(k, property.New(property.Computed).WithSecret(v.Secret() || resp.Inputs.Get(k).Secret()))
			case v.HasComputed():
				// An object with an unknown field (a Role's entraPrincipal whose objectId is the
				// principal id of an identity not created yet) decodes with "" in its place:
				// keep the input as declared, unknowns included.
				resp.Inputs = resp.Inputs.Set(k, v.WithSecret(v.Secret() || resp.Inputs.Get(k).Secret()))
			}
		}
		return resp, nil
	}
	return prov
}

func build(cfg *Config) (p.Provider, error) {
	return infer.NewProviderBuilder().
		WithDisplayName("tenantctl PostgreSQL data layer").
		WithDescription("Roles, databases, schemas, shared tables, grants, default privileges, row-level security, policies and memberships on PostgreSQL, read back live from the catalog; generated passwords kept in the state.").
		WithNamespace("connectsoft").
		WithPublisher("connectsoft").
		WithKeywords("postgresql", "tenantctl", "category/database").
		WithLicense("Apache-2.0").
		WithGoImportPath(GoImportPath).
		WithModuleMap(map[tokens.ModuleName]tokens.ModuleName{"tenantpg": "index"}).
		WithConfig(infer.Config(cfg)).
		WithResources(
			infer.Resource(&Role{}),
			infer.Resource(&Database{}),
			infer.Resource(&Schema{}),
			infer.Resource(&Grant{}),
			infer.Resource(&DefaultPrivileges{}),
			infer.Resource(&RowLevelSecurity{}),
			infer.Resource(&Policy{}),
			infer.Resource(&Membership{}),
			infer.Resource(&Table{}),
			infer.Resource(&Password{}),
		).
		Build()
}
