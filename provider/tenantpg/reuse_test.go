package tenantpg

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	rpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"
)

// process is one provider process as the engine talks to it: the gRPC server pulumi-go-provider
// builds around the provider, and the configuration the provider decoded.
type process struct {
	srv rpc.ResourceProviderServer
	cfg *Config
}

func newProcess(t *testing.T) process {
	t.Helper()
	prov, cfg, err := newProvider()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := p.RawServer(Name, Version, prov)(nil)
	if err != nil {
		t.Fatal(err)
	}
	return process{srv, cfg}
}

// engineRun is what one engine's update saw of the provider resource.
type engineRun struct {
	check      *rpc.CheckResponse
	diff       *rpc.DiffResponse // nil for a new stack
	configured Config
	recorded   *structpb.Struct // the provider's inputs as the engine records them
}

const providerURN = "urn:pulumi:dev::tenantctl::pulumi:providers:tenantpg::pg"

// update runs the provider resource of one update the way the engine does (Registry.Check, Diff,
// then Configure): olds is the stack's recorded provider state, nil for a new stack.
func (pr process) update(t *testing.T, olds *structpb.Struct, news resource.PropertyMap) engineRun {
	t.Helper()
	ctx := context.Background()
	mnews, err := plugin.MarshalProperties(news, plugin.MarshalOptions{KeepSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	check, err := pr.srv.CheckConfig(ctx, &rpc.CheckRequest{Urn: providerURN, Name: "pg", Type: "pulumi:providers:tenantpg", Olds: olds, News: mnews})
	if err != nil {
		t.Fatalf("CheckConfig: %v", err)
	}
	if len(check.GetFailures()) > 0 {
		t.Fatalf("CheckConfig failures: %v", check.GetFailures())
	}
	// The engine puts back the version the provider dropped (Registry.Check).
	recorded := check.GetInputs()
	if v, ok := news["version"]; ok && recorded.GetFields()["version"] == nil {
		recorded = &structpb.Struct{Fields: map[string]*structpb.Value{"version": structpb.NewStringValue(v.StringValue())}}
		for k, f := range check.GetInputs().GetFields() {
			recorded.Fields[k] = f
		}
	}
	run := engineRun{check: check, recorded: recorded}
	if olds != nil {
		run.diff, err = pr.srv.DiffConfig(ctx, &rpc.DiffRequest{Urn: providerURN, Name: "pg", Type: "pulumi:providers:tenantpg",
			Id: "7c1d6c1e", Olds: olds, News: recorded, OldInputs: olds})
		if err != nil {
			t.Fatalf("DiffConfig: %v", err)
		}
	}
	if _, err := pr.srv.Configure(ctx, &rpc.ConfigureRequest{Args: recorded, AcceptSecrets: true, AcceptResources: true,
		SendsOldInputs: true, SendsOldInputsToDelete: true}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	run.configured = *pr.cfg
	return run
}

// TestReusedProcessAnswersAsAFreshOne: a provider process that served one engine serves the next
// as a fresh process would, for a new stack's config and for an existing stack's (where a reused
// process used to replace the provider: fleet lifecycle test with tenantpg kept by the pool).
func TestReusedProcessAnswersAsAFreshOne(t *testing.T) {
	base := func(extra resource.PropertyMap) resource.PropertyMap {
		m := resource.PropertyMap{
			"host":     resource.NewProperty("127.0.0.1"),
			"port":     resource.NewProperty(55432.0),
			"username": resource.NewProperty("tenantctl_admin"),
			"password": resource.MakeSecret(resource.NewProperty("canary-admin-password")),
			"sslmode":  resource.NewProperty("disable"),
			"version":  resource.NewProperty(Version),
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	plain := base(nil)
	rich := base(resource.PropertyMap{
		"database":              resource.NewProperty("platform"),
		"auth":                  resource.NewProperty(AuthPassword),
		"sslrootcert":           resource.NewProperty("/etc/ssl/ca.pem"),
		"connectTimeoutSeconds": resource.NewProperty(30.0),
	})
	moved := base(resource.PropertyMap{"host": resource.NewProperty("10.0.0.9")})

	cases := []struct {
		name     string
		earlier  resource.PropertyMap // config of the stack the process served before
		recorded resource.PropertyMap // config the next stack was created with (by a fresh process)
		next     resource.PropertyMap // that stack's config now
		replace  bool                 // whether the provider must be replaced
	}{
		{name: "same config, next stack", earlier: plain, recorded: plain, next: plain},
		{name: "keys the earlier config set are left out", earlier: rich, recorded: plain, next: plain},
		{name: "keys the earlier config left out are set", earlier: plain, recorded: rich, next: rich},
		{name: "a changed host is still a replace", earlier: plain, recorded: plain, next: moved, replace: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			state := newProcess(t).update(t, nil, tc.recorded).recorded

			reused := newProcess(t)
			reused.update(t, nil, tc.earlier)
			got := reused.update(t, state, tc.next)
			want := newProcess(t).update(t, state, tc.next)

			if diff := cmp.Diff(want.check, got.check, protocmp.Transform()); diff != "" {
				t.Errorf("CheckConfig of a reused process (-fresh +reused):\n%s", diff)
			}
			if diff := cmp.Diff(want.diff, got.diff, protocmp.Transform()); diff != "" {
				t.Errorf("DiffConfig of a reused process (-fresh +reused):\n%s", diff)
			}
			if diff := cmp.Diff(want.configured, got.configured); diff != "" {
				t.Errorf("configuration of a reused process (-fresh +reused):\n%s", diff)
			}
			if replaced := len(got.diff.GetReplaces()) > 0; replaced != tc.replace {
				t.Errorf("provider replaced = %v, want %v (diff %v)", replaced, tc.replace, got.diff)
			}
		})
	}
}
