// Command pulumi-resource-tenantpg is the tenantpg Pulumi resource provider plugin: PostgreSQL
// roles, databases, schemas, grants, default privileges, row-level security, policies and
// memberships for tenantctl's data layer. The engine starts it from the project plugin path
// (hack/build-tool.sh builds it into the tool cache).
package main

import (
	"context"
	"fmt"
	"os"

	p "github.com/pulumi/pulumi-go-provider"

	"github.com/connectsoft/tenantctl/provider/tenantpg"
)

func main() {
	prov, err := tenantpg.New()
	if err != nil {
		fmt.Fprintf(os.Stderr, "tenantpg: %v\n", err)
		os.Exit(1)
	}
	if err := p.RunProvider(context.Background(), tenantpg.Name, tenantpg.Version, prov); err != nil {
		fmt.Fprintf(os.Stderr, "tenantpg: %v\n", err)
		os.Exit(1)
	}
}
