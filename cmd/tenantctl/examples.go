package main

import "github.com/spf13/cobra"

// examples are the Example lines of the commands that do not set their own, by command path.
// TestEveryCommandHasRunnableExamples parses every line against the command tree, so an example
// never names a flag or command that does not exist.
var examples = map[string]string{
	"tenantctl": `  tenantctl validate examples/tenants
  tenantctl up --all --yes
  tenantctl drift check --all -o sarif --out drift.sarif`,
	"tenantctl audit": `  tenantctl audit verify
  tenantctl audit head --public-key audit.pub`,
	"tenantctl audit head":   `  tenantctl audit head ~/.local/share/tenantctl/audit.log --public-key audit.pub`,
	"tenantctl audit verify": `  tenantctl audit verify --public-key audit.pub --checkpoint audit.checkpoint`,
	"tenantctl deploy": `  tenantctl deploy job --shards 8 --image registry.example.com/tenantctl@sha256:... > provision.yaml
  tenantctl deploy cronjob --shards 4 --image registry.example.com/tenantctl@sha256:... --schedule @hourly`,
	"tenantctl deploy cronjob": `  tenantctl deploy cronjob --shards 4 --image registry.example.com/tenantctl@sha256:... -d tenants > drift.yaml
  tenantctl deploy cronjob --shards 8 --namespace tenantctl --secret state --image registry.example.com/tenantctl@sha256:... --source git --repo https://git.example.com/platform/tenants.git --ref main --git-sync-image registry.k8s.io/git-sync/git-sync@sha256:...`,
	"tenantctl deploy job": `  tenantctl deploy job --shards 8 --image registry.example.com/tenantctl@sha256:... -d tenants > provision.yaml
  tenantctl deploy job --shards 16 --env dev --reports-storage-class azurefile --image registry.example.com/tenantctl@sha256:... --source git --repo https://git.example.com/platform/tenants.git --ref v42 --git-sync-image registry.k8s.io/git-sync/git-sync@sha256:...`,
	"tenantctl deploy wait": `  tenantctl deploy wait --job tenantctl-up-platform --until complete
  tenantctl deploy wait --cronjob tenantctl-drift --run-of $(JOB_NAME) --until finished --prune-before-start '/reports/drift-shard-*.json'`,
	"tenantctl destroy": `  tenantctl destroy --tenant acme --yes
  tenantctl destroy --all --include-platform --yes
  tenantctl destroy --all --shard 2/4 --yes`,
	"tenantctl drift": `  tenantctl drift check --all
  tenantctl drift remediate --mode review --plan-out plan.json`,
	"tenantctl drift baseline": `  tenantctl drift baseline
  tenantctl drift baseline --inventory snapshot.yaml --out .tenantctl-driftignore -o json`,
	"tenantctl drift check": `  tenantctl drift check --all
  tenantctl drift check --tenant acme -o json
  tenantctl drift check --all -o sarif --out drift.sarif
  tenantctl drift check --shard 2/4 -o json --out shard-2.json
  tenantctl drift check --inventory snapshot.yaml
  tenantctl drift check --state-file exports/ --env dev --env prod -o json
  PGPASSWORD=... tenantctl drift check --all --postgres postgres://admin@db.example.com/postgres?sslmode=require`,
	"tenantctl drift merge": `  tenantctl drift merge shard-1.json shard-2.json -o junit --out drift.xml
  tenantctl drift merge --allow-missing shard-0.json shard-1.json shard-2.json -o json --out drift.json`,
	"tenantctl drift remediate": `  tenantctl drift remediate --tenant acme --mode warn
  tenantctl drift remediate --all --mode review --plan-out plan.json
  tenantctl drift remediate --plan plan.json --yes`,
	"tenantctl drift watch": `  tenantctl drift watch --interval 10m --metrics-addr :9090
  tenantctl drift watch --once --tenant acme`,
	"tenantctl inventory": `  tenantctl inventory export --out snapshot.yaml`,
	"tenantctl inventory export": `  tenantctl inventory export --out snapshot.yaml
  tenantctl inventory export --types networkpolicies,namespaces -o yaml`,
	"tenantctl isolation": `  tenantctl isolation verify --desired-only
  tenantctl isolation graph -o html --out graph.html
  tenantctl isolation probe --env dev`,
	"tenantctl isolation graph": `  tenantctl isolation graph -o html --out graph.html
  tenantctl isolation graph -o svg --view focus --tenant acme --out acme.svg
  tenantctl isolation graph --desired-only --env dev -o dot`,
	"tenantctl isolation probe": `  tenantctl isolation probe --env dev
  tenantctl isolation probe --env dev --tenant acme --tenant globex -o json
  tenantctl isolation probe --env dev --kubeconfig staging.kubeconfig --context staging --statement-timeout 10s`,
	"tenantctl isolation verify": `  tenantctl isolation verify --desired-only
  tenantctl isolation verify --env dev -o json
  tenantctl isolation verify --inventory snapshot.yaml
  PGPASSWORD=... tenantctl isolation verify --postgres postgres://admin@db.example.com/postgres?sslmode=require`,
	"tenantctl list":                     `  tenantctl list -o json`,
	"tenantctl local-cluster":            `  tenantctl local-cluster up`,
	"tenantctl local-cluster down":       `  tenantctl local-cluster down`,
	"tenantctl local-cluster kubeconfig": `  export KUBECONFIG=$(tenantctl local-cluster kubeconfig)`,
	"tenantctl local-cluster postgres":   `  tenantctl local-cluster postgres`,
	"tenantctl local-cluster up": `  tenantctl local-cluster up
  tenantctl local-cluster up --api-port 6443 --postgres-port 55432`,
	"tenantctl outputs": `  tenantctl outputs --tenant acme -o json`,
	"tenantctl preview": `  tenantctl preview --tenant acme
  tenantctl preview --all --plan-dir plans/`,
	"tenantctl refresh": `  tenantctl refresh --tenant acme --yes`,
	"tenantctl secrets": `  tenantctl secrets status --all
  tenantctl secrets rotate --tenant acme --branch rotate-acme`,
	"tenantctl secrets rotate": `  tenantctl secrets rotate --tenant acme --in-place --yes
  tenantctl secrets rotate --all --branch rotate-secrets`,
	"tenantctl secrets status": `  tenantctl secrets status --all -o json`,
	"tenantctl secrets watch":  `  tenantctl secrets watch --interval 1h --all --branch rotate-secrets`,
	"tenantctl serve":          `  tenantctl serve --issuer https://login.example.com/ --audience tenantctl --addr :8443 --tls-cert tls.crt --tls-key tls.key`,
	"tenantctl status": `  tenantctl status
  tenantctl status --tenant acme -o json`,
	"tenantctl tiers": `  tenantctl tiers -o json`,
	"tenantctl up": `  tenantctl up --tenant acme --yes
  tenantctl up --all --approval-file approval.yaml --plan-dir plans/
  tenantctl up --all --shard 0/4
  tenantctl up --all --shard 3/4 -o json --out shard-3.json`,
	"tenantctl validate": `  tenantctl validate
  tenantctl validate examples/tenants -o json`,
}

// addExamples fills the Example of every command that has none from examples.
func addExamples(c *cobra.Command) {
	if c.Example == "" {
		c.Example = examples[c.CommandPath()]
	}
	for _, sub := range c.Commands() {
		addExamples(sub)
	}
}
