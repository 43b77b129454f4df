package netpol_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach"
	f "github.com/connectsoft/tenantctl/isolation/reach/internal/fixture"
	"github.com/connectsoft/tenantctl/tenantplan"
)

func annotate(u unstructured.Unstructured, kv ...string) unstructured.Unstructured {
	a := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		a[kv[i]] = kv[i+1]
	}
	u.SetAnnotations(a)
	return u
}

func calicoPool(apiVersion, name, cidr string, spec map[string]any) unstructured.Unstructured {
	if spec == nil {
		spec = map[string]any{}
	}
	spec["cidr"] = cidr
	return unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": "IPPool",
		"metadata": map[string]any{"name": name}, "spec": spec}}
}

func ciliumPool(name, cidr string) unstructured.Unstructured {
	return unstructured.Unstructured{Object: map[string]any{"apiVersion": "cilium.io/v2alpha1", "kind": "CiliumPodIPPool",
		"metadata": map[string]any{"name": name}, "spec": map[string]any{"ipv4": map[string]any{"cidrs": []any{cidr}, "maskSize": int64(26)}}}}
}

// TestAddressPlans: hooli may send to the whole pod range except acme's part of it, an ipBlock
// that carves pod ranges per tenant. Which pods land where is only known from an address plan:
// without one both edges are unknown; each source of the plan (Node podCIDRs, Calico IPPools by
// namespace annotation in both API groups, by namespaceSelector and by nodeSelector, Cilium pools
// by namespace annotation) decides them: no route to acme, a route to globex.
func TestAddressPlans(t *testing.T) {
	bs := []*isolation.RuntimeTenantBinding{
		f.Binding("acme", isolation.TierSilo, "10.20.0.0/16"),
		f.Binding("globex", isolation.TierPool, ""),
		f.Binding("hooli", isolation.TierPool, ""),
	}
	acmeNode := f.Node("silo-acme-0", f.Labels(tenantplan.NodeLabelTenant+"=acme", "pool=acme"), "10.20.0.4", "")
	sharedNode := f.Node("shared-0", f.Labels("pool=shared"), "10.16.2.4", "")
	// 10.244.1.0/24 is acme's; globex and hooli share 10.244.2.0/24.
	base := func(nsAnn ...string) []unstructured.Unstructured {
		out := []unstructured.Unstructured{f.Namespace("kube-system", nil), f.Namespace("platform-ingress", nil), f.Namespace("shared-tenants", nil)}
		for _, id := range []string{"acme", "globex", "hooli"} {
			ns := f.Namespace(tenantplan.TenantNamespace(id), f.Labels(f.TenantLabel+"="+id))
			if len(nsAnn) > 0 {
				v := nsAnn[1]
				if id == "acme" {
					v = nsAnn[2]
				}
				ns = annotate(ns, nsAnn[0], v)
			}
			out = append(out, ns)
		}
		return append(out, f.Policy("t-hooli", "pods-but-acme", map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Egress"},
			"egress": []any{map[string]any{"to": []any{map[string]any{"ipBlock": map[string]any{"cidr": "10.244.0.0/16", "except": []any{"10.244.1.0/24"}}}}}}}))
	}
	nodes := func(acmeCIDR, sharedCIDR string) []unstructured.Unstructured {
		a, s := f.Node("silo-acme-0", f.Labels(tenantplan.NodeLabelTenant+"=acme"), "10.20.0.4", acmeCIDR), f.Node("shared-0", nil, "10.16.2.4", sharedCIDR)
		return []unstructured.Unstructured{a, s}
	}
	decided := []string{"hooli→globex unexpected networkpolicy *"}
	tests := []struct {
		name string
		objs []unstructured.Unstructured
		want []string
	}{
		{name: "no address plan", objs: base(),
			want: []string{"hooli→acme unknown networkpolicy *", "hooli→globex unknown networkpolicy *"}},
		{name: "Node podCIDRs", objs: append(base(), nodes("10.244.1.0/24", "10.244.2.0/24")...), want: decided},
		{name: "Calico v1 pools by namespace annotation", want: decided, objs: append(base("cni.projectcalico.org/ipv4pools", `["shared"]`, `["acme"]`),
			calicoPool("crd.projectcalico.org/v1", "acme", "10.244.1.0/24", nil), calicoPool("crd.projectcalico.org/v1", "shared", "10.244.2.0/24", nil))},
		{name: "Calico v3 pools by namespace annotation naming a CIDR", want: decided, objs: append(base("cni.projectcalico.org/ipv4pools", `["10.244.2.0/24"]`, `["acme"]`),
			calicoPool("projectcalico.org/v3", "acme", "10.244.1.0/24", nil))},
		{name: "Calico pools by namespaceSelector", want: decided, objs: append(base(),
			calicoPool("projectcalico.org/v3", "acme", "10.244.1.0/24", map[string]any{"namespaceSelector": f.TenantLabel + " == 'acme'"}),
			calicoPool("projectcalico.org/v3", "others", "10.244.2.0/24", map[string]any{"namespaceSelector": "has(" + f.TenantLabel + ") && " + f.TenantLabel + " != 'acme'"}),
			calicoPool("projectcalico.org/v3", "disabled", "10.244.0.0/16", map[string]any{"disabled": true}))},
		{name: "Calico pools by nodeSelector", want: decided, objs: append(base(), acmeNode, sharedNode,
			calicoPool("crd.projectcalico.org/v1", "acme", "10.244.1.0/24", map[string]any{"nodeSelector": "pool in {'acme'}"}),
			calicoPool("crd.projectcalico.org/v1", "shared", "10.244.2.0/24", map[string]any{"nodeSelector": "!has(" + f.TenantLabel + ")"}))},
		{name: "Cilium pools by namespace annotation", want: decided, objs: append(base("ipam.cilium.io/ip-pool", "shared", "acme"),
			ciliumPool("acme", "10.244.1.0/24"), ciliumPool("shared", "10.244.2.0/24"), ciliumPool("default", "10.244.0.0/16"))},
		{name: "an annotation naming a pool the snapshot lacks decides nothing for its namespace",
			want: []string{"hooli→globex unknown networkpolicy *"},
			objs: append(base("ipam.cilium.io/ip-pool", "shared", "acme"), ciliumPool("acme", "10.244.1.0/24"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := reach.Analyze(context.Background(), f.Env("kubernetes"), bs, f.Snapshot(tc.objs))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range g.Edges {
				if e.From == "hooli" && e.To != isolation.Platform && e.Verdict != reach.VerdictAllowed {
					got = append(got, fmt.Sprintf("%s→%s %s %s %s", e.From, e.To, e.Verdict, e.Kind, e.Ports))
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("hooli's edges (-want +got):\n%s", diff)
			}
		})
	}
}
