// Command pulumi-resource-kubernetes is the Pulumi Kubernetes provider plugin, built from the
// provider module served by the Go module proxy. It mirrors upstream's
// provider/cmd/pulumi-resource-kubernetes/main.go (Apache-2.0, Pulumi Corporation): the module zip
// lacks the two go:embed files that upstream generates at release time, so ./gen writes them
// beside this file from the schema.json and terraform-mapping.json that the zip does carry.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

var providerName = "kubernetes"

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve(providerName, version.Version, pulumiSchema, terraformMapping)
}
