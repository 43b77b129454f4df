// Command tenantctl-program is the non-inline entry point of the tenantctl Pulumi project (the
// `main` of Pulumi.yaml). It runs the same programs as tenantctl's engine, from stack config
// alone, so a plain `pulumi up`, Pulumi Deployments or the Pulumi Kubernetes Operator can run a
// tenant or platform stack straight from Git. See docs/stacks-azure.md.
package main

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

func main() { pulumi.Run(Program) }
