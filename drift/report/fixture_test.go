package report

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/connectsoft/tenantctl/drift/finding"
)

var fixtureTime = time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)

func routeNetpol() finding.Finding {
	return finding.Finding{
		Kind: finding.KindCrossTenantRoute, TenantID: "acme", PeerTenant: "globex", Environment: "prod", Stack: "prod-acme",
		Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: "networking.k8s.io/v1/NetworkPolicy",
			Namespace: "tenant-acme", Name: "allow-globex"},
		Evidence: []string{"NetworkPolicy tenant-acme/allow-globex ingress[0].from[0] selects namespaces with tenant=globex",
			"namespace tenant-globex has label tenant=globex"},
		Message:  "NetworkPolicy admits pods of tenant globex",
		Detector: finding.DetectorFastPath,
		Location: finding.Location{File: "tenants/prod/acme.yaml", Line: 7},
	}
}

func replicasDrift() finding.Finding {
	return finding.Finding{
		Kind: finding.KindManagedDrift, TenantID: "acme", Environment: "prod", Stack: "prod-acme",
		Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: "apps/v1/Deployment", Namespace: "tenant-acme", Name: "api",
			URN: "urn:pulumi:prod-acme::tenant::kubernetes:apps/v1:Deployment::api"},
		Field: "spec.replicas", Desired: json.RawMessage(`3`), Live: json.RawMessage(`5`),
		Message: "replicas changed outside Pulumi", Detector: finding.DetectorLive,
		Location: finding.Location{File: "tenants/prod/acme.yaml", Line: 1},
	}
}

func nsgRoute(tenant, peer string) finding.Finding {
	return finding.Finding{
		Kind: finding.KindCrossTenantRoute, TenantID: tenant, PeerTenant: peer, Environment: "prod",
		Resource: finding.Resource{Provider: finding.ProviderAzure, Type: "Microsoft.Network/networkSecurityGroups/securityRules",
			Name: "allow-10.0.0.0-8",
			ID:   "/subscriptions/0000/resourceGroups/rg-" + tenant + "/providers/Microsoft.Network/networkSecurityGroups/nsg-" + tenant + "/securityRules/allow-10.0.0.0-8"},
		Message:  "NSG rule allows 10.0.0.0/8, which covers tenant " + peer + "'s address space",
		Location: finding.Location{File: "tenants/prod/" + tenant + ".yaml", Line: 3},
	}
}

func labelConflict() finding.Finding {
	return finding.Finding{
		Kind: finding.KindFieldConflict, TenantID: "globex", Environment: "prod",
		Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: "v1/Namespace", Name: "tenant-globex"},
		Field:    "metadata.labels.tenant", Desired: json.RawMessage(`"globex"`), Live: json.RawMessage(`"acme"`),
		Manager: "kubectl-label", Message: "label changed by another field manager",
	}
}

func cacheConfigMap() finding.Finding {
	return finding.Finding{
		Kind: finding.KindUnmanagedResource, TenantID: "acme", Environment: "prod",
		Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: "v1/ConfigMap", Namespace: "tenant-acme", Name: "cache-7f9c"},
		Message:  "ConfigMap not managed by any stack",
	}
}

// ignoreKinds is a Filter that ignores whole kinds, standing in for ignore rules.
type ignoreKinds []finding.Kind

func (k ignoreKinds) Apply(fs []finding.Finding) (kept, ignored []finding.Finding) {
	for _, f := range fs {
		hit := false
		for _, kind := range k {
			hit = hit || f.Kind == kind
		}
		if hit {
			ignored = append(ignored, f)
		} else {
			kept = append(kept, f)
		}
	}
	return kept, ignored
}

// fixtureReport is a run over five prod tenants: acme drifted (route, replicas; one ConfigMap
// ignored), globex unreachable with a field conflict found before, initech and umbrella sharing one
// NSG rule, hooli clean.
func fixtureReport() *Report {
	r := New("4f1c2e9", WithRepository("https://github.com/connectsoft/desired-state"), WithEnvironments("prod"),
		WithGeneratedAt(fixtureTime), WithToolVersion("v1.2.3"))
	for _, t := range []string{"acme", "globex", "hooli", "initech", "umbrella"} {
		r.AddTenant("prod", t)
	}
	r.Add(replicasDrift(), routeNetpol(), cacheConfigMap(), labelConflict(), nsgRoute("initech", "acme"), nsgRoute("umbrella", "hooli"))
	r.Fail("prod", "globex", "kubernetes", errors.New("list networkpolicies: dial tcp 10.0.0.1:443: connect: connection refused"))
	r.ApplyIgnore(ignoreKinds{finding.KindUnmanagedResource})
	return r
}
