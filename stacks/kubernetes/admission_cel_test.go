package kubernetes

import (
	"encoding/json"
	"slices"
	"sort"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks/internal/stackstest"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// celEnv declares the variables a ValidatingAdmissionPolicy expression sees. They are dynamic
// here (the API server types them from the Pod schema), which evaluates has(), in, all and exists
// the same way over JSON objects.
func celEnv(t *testing.T) *cel.Env {
	t.Helper()
	env, err := cel.NewEnv(
		cel.Variable("object", cel.DynType),
		cel.Variable("namespaceObject", cel.DynType),
		cel.Variable("request", cel.DynType),
		cel.Variable("variables", cel.DynType),
	)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func evalCEL(t *testing.T, env *cel.Env, expr string, vars map[string]any) any {
	t.Helper()
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		t.Fatalf("compile %q: %v", expr, iss.Err())
	}
	prg, err := env.Program(ast)
	if err != nil {
		t.Fatalf("program %q: %v", expr, err)
	}
	out, _, err := prg.Eval(vars)
	if err != nil {
		// The policies fail closed (failurePolicy Fail), so an evaluation error is a denial; the
		// expressions are written so that it never happens, and this test holds them to it.
		t.Fatalf("eval %q: %v", expr, err)
	}
	return out.Value()
}

// admit evaluates every policy whose binding selects the namespace, as the API server would, and
// returns the messages of the validations that fail.
func admit(t *testing.T, env *cel.Env, ns, pod map[string]any, op string) []string {
	t.Helper()
	labels, _ := stackstest.Path(ns, "metadata.labels").(map[string]any)
	compute, labelled := labels[tenantplan.LayerLabel(isolation.LayerCompute)]
	vars := map[string]any{"object": pod, "namespaceObject": ns, "request": map[string]any{"operation": op}}
	tenant := evalCEL(t, env, tenantplan.CELTenant, vars)
	vars["variables"] = map[string]any{"tenant": tenant}
	var denied []string
	for _, ap := range tenantplan.AdmissionPolicies() {
		if !labelled || (len(ap.ComputeModes) > 0 && !slices.Contains(ap.ComputeModes, isolation.Mode(compute.(string)))) {
			continue
		}
		for _, v := range ap.Validations {
			if ok, _ := evalCEL(t, env, v.Expression, vars).(bool); !ok {
				denied = append(denied, v.Message)
			}
		}
	}
	sort.Strings(denied)
	return denied
}

func jsonObj(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("fixture %s: %v", s, err)
	}
	return m
}

func TestAdmissionPoliciesOnPods(t *testing.T) {
	env := celEnv(t)
	siloNS := jsonObj(t, `{"metadata":{"name":"t-acme","labels":{"tenantctl.io/tenant":"acme","tenantctl.io/compute":"dedicated-node-pool"}}}`)
	poolNS := jsonObj(t, `{"metadata":{"name":"t-globex","labels":{"tenantctl.io/tenant":"globex","tenantctl.io/compute":"dedicated-namespace"}}}`)
	sharedNS := jsonObj(t, `{"metadata":{"name":"shared-tenants","labels":{"tenantctl.io/compute":"shared-namespace"}}}`)
	ingressNS := jsonObj(t, `{"metadata":{"name":"platform-ingress","labels":{"tenantctl.io/role":"ingress"}}}`)

	const (
		mustSelect     = "silo pods must set nodeSelector tenantctl.io/tenant=<their tenant>"
		mustTolerate   = "silo pods must tolerate tenantctl.io/tenant=<their tenant>:NoSchedule"
		noWildcard     = "tenant pods may not tolerate every taint"
		ownToleration  = "tenant pods may only tolerate their own tenant's taint"
		ownNodes       = "tenant pods may only select their own tenant's nodes"
		noNodeName     = "tenant pods may not bypass the scheduler with spec.nodeName"
		needLabel      = "pods in the shared namespace must carry the tenantctl.io/tenant label"
		needSA         = "pods in the shared namespace must run as their tenant's ServiceAccount t-<tenant>"
		needSlice      = "pods in the shared namespace must use their tenant's quota slice, priorityClassName tenantctl-shared-<tenant>"
		ownClass       = "tenant pods may mount only their own tenant's SecretProviderClass t-<tenant>"
		ownAccount     = "tenant pods may run only as their tenant's ServiceAccount t-<tenant> (or the namespace's default account)"
		pinnedSpec     = `"nodeSelector":{"tenantctl.io/tenant":"acme"},"tolerations":[{"key":"tenantctl.io/tenant","operator":"Equal","value":"acme","effect":"NoSchedule"}]`
		sharedIdentity = `"serviceAccountName":"t-acme","priorityClassName":"tenantctl-shared-acme"`
	)
	tests := []struct {
		name string
		ns   map[string]any
		pod  string
		op   string
		want []string
	}{
		{name: "silo pod pinned to its nodes", ns: siloNS, pod: `{"metadata":{},"spec":{` + pinnedSpec + `}}`},
		{name: "silo pod pinned, with the default not-ready toleration", ns: siloNS,
			pod: `{"metadata":{},"spec":{"nodeSelector":{"tenantctl.io/tenant":"acme"},"tolerations":[{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300},{"key":"tenantctl.io/tenant","value":"acme","effect":"NoSchedule"}]}}`},
		{name: "silo pod with nothing", ns: siloNS, pod: `{"metadata":{},"spec":{}}`, want: []string{mustSelect, mustTolerate}},
		{name: "silo pod selecting but not tolerating", ns: siloNS,
			pod: `{"metadata":{},"spec":{"nodeSelector":{"tenantctl.io/tenant":"acme"}}}`, want: []string{mustTolerate}},
		{name: "silo pod tolerating with Exists", ns: siloNS,
			pod:  `{"metadata":{},"spec":{"nodeSelector":{"tenantctl.io/tenant":"acme"},"tolerations":[{"key":"tenantctl.io/tenant","operator":"Exists","effect":"NoSchedule"}]}}`,
			want: []string{mustTolerate, ownToleration}},
		{name: "silo pod aimed at another tenant's nodes", ns: siloNS,
			pod:  `{"metadata":{},"spec":{"nodeSelector":{"tenantctl.io/tenant":"globex"},"tolerations":[{"key":"tenantctl.io/tenant","operator":"Equal","value":"globex","effect":"NoSchedule"}]}}`,
			want: []string{mustSelect, mustTolerate, ownNodes, ownToleration}},
		{name: "pool pod with no scheduling constraints", ns: poolNS, pod: `{"metadata":{},"spec":{}}`},
		{name: "pool pod tolerating a silo tenant", ns: poolNS,
			pod:  `{"metadata":{},"spec":{"tolerations":[{"key":"tenantctl.io/tenant","value":"acme","effect":"NoSchedule"}]}}`,
			want: []string{ownToleration}},
		{name: "pool pod selecting a silo tenant's nodes", ns: poolNS,
			pod: `{"metadata":{},"spec":{"nodeSelector":{"tenantctl.io/tenant":"acme"}}}`, want: []string{ownNodes}},
		{name: "pool pod tolerating every taint", ns: poolNS,
			pod: `{"metadata":{},"spec":{"tolerations":[{"operator":"Exists"}]}}`, want: []string{noWildcard}},
		{name: "pool pod created on a named node", ns: poolNS, op: "CREATE",
			pod: `{"metadata":{},"spec":{"nodeName":"silo-acme-1"}}`, want: []string{noNodeName}},
		{name: "pool pod updated after the scheduler bound it", ns: poolNS, op: "UPDATE",
			pod: `{"metadata":{},"spec":{"nodeName":"pool-node-1"}}`},
		{name: "shared pod with its identity and slice", ns: sharedNS,
			pod: `{"metadata":{"labels":{"tenantctl.io/tenant":"acme"}},"spec":{` + sharedIdentity + `}}`},
		{name: "shared pod without a tenant label", ns: sharedNS,
			pod: `{"metadata":{},"spec":{` + sharedIdentity + `}}`, want: []string{needLabel, needSA, needSlice}},
		{name: "shared pod claiming another tenant's identity", ns: sharedNS,
			pod: `{"metadata":{"labels":{"tenantctl.io/tenant":"globex"}},"spec":{` + sharedIdentity + `}}`, want: []string{needSA, needSlice}},
		{name: "pool pod mounting its own class as its own account", ns: poolNS,
			pod: `{"metadata":{},"spec":{"serviceAccountName":"t-globex","volumes":[{"name":"s","csi":{"driver":"secrets-store.csi.k8s.io","readOnly":true,"volumeAttributes":{"secretProviderClass":"t-globex"}}},{"name":"c","configMap":{"name":"x"}}]}}`},
		{name: "pool pod on the namespace's default account, no secrets", ns: poolNS, pod: `{"metadata":{},"spec":{"serviceAccountName":"default"}}`},
		{name: "pool pod mounting another tenant's class", ns: poolNS,
			pod:  `{"metadata":{},"spec":{"volumes":[{"name":"s","csi":{"driver":"secrets-store.csi.k8s.io","volumeAttributes":{"secretProviderClass":"t-acme"}}}]}}`,
			want: []string{ownClass}},
		{name: "pool pod mounting the driver without naming a class", ns: poolNS,
			pod:  `{"metadata":{},"spec":{"volumes":[{"name":"s","csi":{"driver":"secrets-store.csi.k8s.io"}}]}}`,
			want: []string{ownClass}},
		{name: "pool pod running as another tenant's account name", ns: poolNS,
			pod: `{"metadata":{},"spec":{"serviceAccountName":"t-acme"}}`, want: []string{ownAccount}},
		{name: "pool pod with another CSI driver", ns: poolNS,
			pod: `{"metadata":{},"spec":{"volumes":[{"name":"d","csi":{"driver":"disk.csi.azure.com","volumeAttributes":{"secretProviderClass":"t-acme"}}}]}}`},
		{name: "shared pod mounting its tenant's class", ns: sharedNS,
			pod: `{"metadata":{"labels":{"tenantctl.io/tenant":"acme","azure.workload.identity/use":"true"}},"spec":{` + sharedIdentity + `,"volumes":[{"name":"s","csi":{"driver":"secrets-store.csi.k8s.io","volumeAttributes":{"secretProviderClass":"t-acme"}}}]}}`},
		{name: "shared pod mounting a neighbour's class", ns: sharedNS,
			pod:  `{"metadata":{"labels":{"tenantctl.io/tenant":"acme"}},"spec":{` + sharedIdentity + `,"volumes":[{"name":"s","csi":{"driver":"secrets-store.csi.k8s.io","volumeAttributes":{"secretProviderClass":"t-initech"}}}]}}`,
			want: []string{ownClass}},
		{name: "shared pod using another tenant's slice", ns: sharedNS,
			pod:  `{"metadata":{"labels":{"tenantctl.io/tenant":"acme"}},"spec":{"serviceAccountName":"t-acme","priorityClassName":"tenantctl-shared-globex"}}`,
			want: []string{needSlice}},
		{name: "shared pod tolerating a silo tenant", ns: sharedNS,
			pod:  `{"metadata":{"labels":{"tenantctl.io/tenant":"globex"}},"spec":{"serviceAccountName":"t-globex","priorityClassName":"tenantctl-shared-globex","tolerations":[{"key":"tenantctl.io/tenant","value":"acme","effect":"NoSchedule"}]}}`,
			want: []string{ownToleration}},
		{name: "platform namespace is not governed", ns: ingressNS,
			pod: `{"metadata":{},"spec":{"tolerations":[{"operator":"Exists"}],"nodeName":"any"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			op := tc.op
			if op == "" {
				op = "CREATE"
			}
			want := append([]string(nil), tc.want...)
			sort.Strings(want)
			if d := cmp.Diff(want, admit(t, env, tc.ns, jsonObj(t, tc.pod), op), cmp.Transformer("nilEmpty", func(s []string) []string {
				if len(s) == 0 {
					return nil
				}
				return s
			})); d != "" {
				t.Errorf("denials (-want +got):\n%s", d)
			}
		})
	}
}
