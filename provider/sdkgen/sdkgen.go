// Package sdkgen generates the typed Go SDK of the tenantpg provider from its schema with
// Pulumi's own Go code generator (pkg/v3/codegen/go), the library `pulumi package gen-sdk
// --language go` reaches through the pulumi-language-go plugin. That plugin is a module of its
// own which the Go module proxy does not serve, so the CLI cannot run the Go generator here;
// calling the generator directly yields the same files.
package sdkgen

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/blang/semver"

	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

// Tool is the generator name written into the files' headers.
const Tool = "tenantctl"

// Generate returns the SDK's files, keyed by path relative to the package's import base path
// (sdk/go/tenantpg in the main module).
func Generate(schemaJSON []byte) (map[string][]byte, error) {
	var spec schema.PackageSpec
	if err := json.Unmarshal(schemaJSON, &spec); err != nil {
		return nil, fmt.Errorf("parse schema: %w", err)
	}
	pkg, diags, err := schema.BindSpec(spec, noPackages{}, schema.ValidationOptions{})
	if err != nil {
		return nil, fmt.Errorf("bind schema: %w", err)
	}
	if diags.HasErrors() {
		return nil, fmt.Errorf("bind schema: %s", diags.Error())
	}
	files, err := gogen.GeneratePackage(Tool, pkg, nil)
	if err != nil {
		return nil, fmt.Errorf("generate Go SDK: %w", err)
	}
	// The generator writes under the package name (tenantpg/...); the main module keeps the
	// package itself at sdk/go/tenantpg.
	out := map[string][]byte{}
	prefix := spec.Name + "/"
	for name, data := range files {
		if len(name) > len(prefix) && name[:len(prefix)] == prefix {
			name = name[len(prefix):]
		}
		out[name] = data
	}
	return out, nil
}

// noPackages is the loader for a schema that references no other package: tenantpg's types
// are all its own, so any lookup is an error rather than a plugin download.
type noPackages struct{}

func (noPackages) LoadPackage(pkg string, _ *semver.Version) (*schema.Package, error) {
	return nil, fmt.Errorf("schema references package %q: tenantpg references no other package", pkg)
}

func (noPackages) LoadPackageV2(_ context.Context, d *schema.PackageDescriptor) (*schema.Package, error) {
	return nil, fmt.Errorf("schema references package %q: tenantpg references no other package", d.Name)
}
