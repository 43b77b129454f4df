// Package tenantctl embeds the project definition (Pulumi.yaml) so the engine and the plain-Pulumi
// entry point read the same facts instead of repeating them in Go.
package tenantctl

import _ "embed"

// ProjectYAML is the root Pulumi.yaml.
//
//go:embed Pulumi.yaml
var ProjectYAML []byte
