package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks"
	k8sstacks "github.com/connectsoft/tenantctl/stacks/kubernetes"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// typeRecorder is a Pulumi mock monitor that keeps the type token of every resource a program
// registers.
type typeRecorder struct {
	mu    sync.Mutex
	types map[string]bool
}

func (r *typeRecorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	r.mu.Lock()
	r.types[args.TypeToken] = true
	r.mu.Unlock()
	out := args.Inputs.Copy()
	if args.TypeToken == "tenantpg:index:Password" {
		out["result"] = resource.MakeSecret(resource.NewStringProperty("mock-generated-password"))
	}
	return args.Name + "-id", out, nil
}

func (r *typeRecorder) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return args.Args, nil
}

// TestProvisionRulesCoverThePrograms runs the kubernetes programs of every example environment
// on that target (platform and each tenant) against mocks and checks that the provisioning
// ClusterRole lets the provider create, read, patch (server-side apply) and delete every
// Kubernetes type they register: a type added to a program without a rule would make every
// in-cluster up fail with forbidden.
func TestProvisionRulesCoverThePrograms(t *testing.T) {
	state, err := isolation.Load(context.Background(), examplesDir)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	pw := filepath.Join(work, "password")
	conn := filepath.Join(work, "connection.json")
	b, _ := json.Marshal(stacks.PostgresConnection{Host: "127.0.0.1", Port: 5432, AdminRole: "postgres", PasswordFile: pw})
	if err := os.WriteFile(pw, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conn, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := map[string]string{stacks.FullConfigKey(stacks.ConfigKubeconfig): "/etc/tenantctl/kubeconfig/config", stacks.FullConfigKey(stacks.ConfigPostgres): conn}
	rec := &typeRecorder{types: map[string]bool{}}
	run := func(stack string, prog pulumi.RunFunc) {
		t.Helper()
		if err := pulumi.RunErr(prog, pulumi.WithMocks(tenantplan.ProjectName, stack, rec), func(info *pulumi.RunInfo) { info.Config = cfg }); err != nil {
			t.Fatalf("%s: %v", stack, err)
		}
	}
	programs := 0
	for _, env := range state.Environments {
		if env.Spec.Target != isolation.TargetKubernetes {
			continue
		}
		run(tenantplan.PlatformStackName(env.Name()), k8sstacks.PlatformProgram(env))
		for _, b := range state.BindingsIn(env.Name()) {
			run(tenantplan.TenantStackName(b.Spec.TenantID, env.Name()),
				k8sstacks.TenantProgram(tenantplan.Inputs{Binding: b, Env: env, Platform: tenantplan.ExpectedPlatformOutputs(env)}))
		}
		programs++
	}
	if programs == 0 {
		t.Fatal("no example environment on the kubernetes target")
	}
	rules := provisionRules()
	allows := func(group, res, verb string) bool {
		for _, r := range rules {
			if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, res) && slices.Contains(r.Verbs, verb) {
				return true
			}
		}
		return false
	}
	checked := 0
	for token := range rec.types {
		// kubernetes:<group>/<version>:<Kind>; the core group is written "core"
		parts := strings.Split(token, ":")
		if len(parts) != 3 || parts[0] != "kubernetes" {
			continue
		}
		group := strings.Split(parts[1], "/")[0]
		if group == "core" {
			group = ""
		}
		res := strings.ToLower(parts[2])
		switch {
		case strings.HasSuffix(res, "y"):
			res = strings.TrimSuffix(res, "y") + "ies"
		case strings.HasSuffix(res, "s"):
			res += "es"
		default:
			res += "s"
		}
		for _, verb := range []string{"get", "create", "patch", "delete"} {
			if !allows(group, res, verb) {
				t.Errorf("the programs create %s, but the provisioning role does not allow %s on %s in group %q", token, verb, res, group)
			}
		}
		checked++
	}
	if checked < 5 {
		t.Fatalf("only %d Kubernetes types seen: the mock run did not reach the programs' objects (%v)", checked, rec.types)
	}
}
