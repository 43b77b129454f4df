package tenantpg

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/google/go-cmp/cmp"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/connectsoft/tenantctl/internal/testenv"
)

// fakeCredential issues a fixed token (the local server's admin password, so the token path
// really signs in) and records what it was asked for.
type fakeCredential struct {
	mu     sync.Mutex
	token  string
	err    error
	ttl    time.Duration
	scopes []string
	calls  int
}

func (f *fakeCredential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.scopes = append(f.scopes, o.Scopes...)
	if f.err != nil {
		return azcore.AccessToken{}, f.err
	}
	ttl := f.ttl
	if ttl == 0 {
		ttl = time.Hour
	}
	return azcore.AccessToken{Token: f.token, ExpiresOn: time.Now().Add(ttl)}, nil
}

func (f *fakeCredential) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// useEntraCredential makes the provider sign in with cred (and a fresh token cache) for the rest
// of the test. Tests of this package do not run in parallel.
func useEntraCredential(t *testing.T, cred TokenCredential) {
	t.Helper()
	prevNew, prevTokens := newEntraCredential, entraTokens
	newEntraCredential = func() (TokenCredential, error) { return cred, nil }
	entraTokens = newTokenSource()
	t.Cleanup(func() { newEntraCredential, entraTokens = prevNew, prevTokens })
}

// newEntraHarness configures a provider with auth entra on the local server: no password in the
// configuration, the token of cred as the password of every connection.
func newEntraHarness(t *testing.T, cred *fakeCredential, override map[string]property.Value) *harness {
	t.Helper()
	pg := testenv.Postgres(t)
	useEntraCredential(t, cred)
	cfg := map[string]property.Value{
		"host":     property.New(pg.Host),
		"port":     property.New(float64(pg.Port)),
		"username": property.New(pg.AdminRole),
		"auth":     property.New(AuthEntra),
		"sslmode":  property.New("disable"),
	}
	for k, v := range override {
		cfg[k] = v
	}
	return &harness{t: t, s: configured(t, cfg), pg: pg}
}

func adminPassword(t *testing.T) string {
	t.Helper()
	pw, err := testenv.Postgres(t).Password()
	if err != nil {
		t.Fatal(err)
	}
	return pw
}

// installPgaadauthStub creates, in the local server's postgres database, a stand-in for Azure's
// pgaadauth_create_principal_with_oid that does to the catalog what Azure's does as far as roles
// go: a LOGIN role, mapped to the principal by a pgaadauth security label (written into
// pg_shseclabel directly, since no pgaadauth label provider is loaded here). Like Azure's, it
// runs with its owner's rights, so an admin that is no superuser may call it.
func installPgaadauthStub(h *harness) {
	h.t.Helper()
	h.sql("postgres", `CREATE OR REPLACE FUNCTION pg_catalog.pgaadauth_create_principal_with_oid(roleName text, objectId text, objectType text, isAdmin boolean, isMfa boolean)
		RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
		BEGIN
			IF objectType NOT IN ('user', 'group', 'service') THEN
				RAISE EXCEPTION 'invalid objectType %', objectType;
			END IF;
			EXECUTE format('CREATE ROLE %I LOGIN', roleName);
			INSERT INTO pg_catalog.pg_shseclabel (objoid, classoid, provider, label)
				SELECT oid, 'pg_catalog.pg_authid'::regclass, 'pgaadauth',
					format('aadauth,oid=%s,type=%s', objectId, objectType) || CASE WHEN isAdmin THEN ',admin' ELSE '' END
				FROM pg_catalog.pg_roles WHERE rolname = roleName;
			RETURN format('Created role for "%s"', roleName);
		END $$`)
}

func entraPrincipal(objectID, typ string) property.Value {
	return property.New(property.NewMap(map[string]property.Value{"objectId": property.New(objectID), "type": property.New(typ)}))
}

// label is the role's pgaadauth label as the server holds it ("" when none).
func (h *harness) label(role string) string {
	h.t.Helper()
	got := h.query("postgres", `SELECT s.label FROM pg_shseclabel s JOIN pg_roles r ON r.oid = s.objoid WHERE s.provider = 'pgaadauth' AND r.rolname = $1`, role)
	if len(got) == 0 {
		return ""
	}
	return got[0]
}

func TestEntraTokenAuth(t *testing.T) {
	pw := adminPassword(t)

	t.Run("the token signs in, asked for the scope once and cached", func(t *testing.T) {
		cred := &fakeCredential{token: pw}
		h := newEntraHarness(t, cred, nil)
		for i := range 3 {
			name := unique("tok")
			r := h.create("Role", name, map[string]any{"name": name})
			if !r.refresh() {
				t.Fatalf("role %d not read back", i)
			}
			r.delete()
		}
		if n := cred.callCount(); n != 1 {
			t.Errorf("credential asked %d times, want once (the token is cached until shortly before it expires)", n)
		}
		if diff := cmp.Diff([]string{DefaultEntraScope}, cred.scopes); diff != "" {
			t.Errorf("scopes (-want +got):\n%s", diff)
		}
	})

	t.Run("a token about to expire is replaced", func(t *testing.T) {
		cred := &fakeCredential{token: pw, ttl: 2 * time.Minute}
		h := newEntraHarness(t, cred, map[string]property.Value{"entraScope": property.New("api://custom/.default")})
		name := unique("tok")
		r := h.create("Role", name, map[string]any{"name": name})
		r.refresh()
		r.delete()
		if n := cred.callCount(); n < 3 {
			t.Errorf("credential asked %d times for a token with 2 minutes left, want once per connection", n)
		}
		for _, s := range cred.scopes {
			if s != "api://custom/.default" {
				t.Errorf("scope %q, want the configured one", s)
			}
		}
	})

	t.Run("a wrong token is refused with a clear error", func(t *testing.T) {
		const token = "eyJ0eXAi.wrong-token.sig"
		h := newEntraHarness(t, &fakeCredential{token: token}, nil)
		_, err := h.tryCreate("Role", "r", map[string]any{"name": "never_created_entra"})
		if err == nil || !strings.Contains(err.Error(), "refused the Microsoft Entra access token") || !strings.Contains(err.Error(), "SQLSTATE 28P01") {
			t.Fatalf("err = %v, want the refused token named", err)
		}
		if strings.Contains(err.Error(), token) {
			t.Error("the error echoes the token")
		}
	})

	t.Run("a credential that fails", func(t *testing.T) {
		h := newEntraHarness(t, &fakeCredential{err: errors.New("no managed identity endpoint")}, nil)
		_, err := h.tryCreate("Role", "r", map[string]any{"name": "never_created_entra"})
		if err == nil || !strings.Contains(err.Error(), "get a microsoft entra access token for scope "+DefaultEntraScope) || !strings.Contains(err.Error(), "no managed identity endpoint") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestTokenSourceRefresh(t *testing.T) {
	cred := &fakeCredential{token: "t1", ttl: 10 * time.Minute}
	useEntraCredential(t, cred)
	s := newTokenSource()
	now := time.Now()
	s.now = func() time.Time { return now }
	for range 2 {
		if tok, err := s.token(context.Background(), "s"); err != nil || tok != "t1" {
			t.Fatalf("token = %q, %v", tok, err)
		}
	}
	if n := cred.callCount(); n != 1 {
		t.Fatalf("asked %d times within the token's life, want 1", n)
	}
	now = now.Add(6 * time.Minute) // 4 minutes left: inside the refresh margin
	if _, err := s.token(context.Background(), "s"); err != nil {
		t.Fatal(err)
	}
	if n := cred.callCount(); n != 2 {
		t.Errorf("asked %d times after the token came within %s of expiry, want 2", n, tokenRefreshMargin)
	}
	cred.token = ""
	now = now.Add(time.Hour)
	if _, err := s.token(context.Background(), "s"); err == nil || !strings.Contains(err.Error(), "empty token") {
		t.Errorf("empty token: err = %v", err)
	}
}

func TestEntraConfig(t *testing.T) {
	base := map[string]any{"host": "psql-shared-prod.postgres.database.azure.com", "port": 5432, "username": "tenantctl-deployer@contoso.com",
		"auth": AuthEntra, "entraScope": DefaultEntraScope, "sslmode": "verify-full", "database": "postgres", "connectTimeoutSeconds": 5}
	// with returns base with the given keys set (a nil value removes the key).
	with := func(kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		cfg     map[string]any
		wantErr string
	}{
		{"entra, verify-full, a principal name as the admin", base, ""},
		{"entra to a loopback address without TLS (tests, tunnels)", with("host", "127.0.0.1", "sslmode", "disable"), ""},
		{"entra without TLS to a remote server", with("sslmode", "require"), "needs verify-full"},
		{"entra with a password", with("password", secret("pw")), "tenantpg:password must not be set"},
		{"entra admin name with a control character", with("username", "a\nb"), "control character"},
		{"entra admin name too long", with("username", strings.Repeat("a", 64)), "longer than PostgreSQL's 63"},
		{"unknown auth", with("auth", "kerberos"), `tenantpg:auth "kerberos"`},
		{"password auth without a password", with("auth", AuthPassword, "username", "tenantctl_admin"), "tenantpg:password is required"},
		{"password auth keeps the admin an identifier", with("auth", AuthPassword, "password", secret("pw")), "tenantpg:username"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := newServer(t).Configure(p.ConfigureRequest{Args: props(tc.cfg)})
			if tc.wantErr == "" && err != nil {
				t.Fatalf("Configure: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestVerifyFullIsEnforced: verify-full to a server without TLS must fail instead of connecting
// in clear (pgx derives TLS from the host it parses; the host must be in what it parses).
func TestVerifyFullIsEnforced(t *testing.T) {
	for _, mode := range []string{"verify-full", "require"} {
		h := newHarness(t, map[string]property.Value{"sslmode": property.New(mode)})
		_, err := h.tryCreate("Role", "r", map[string]any{"name": "never_created_tls"})
		if err == nil {
			t.Fatalf("sslmode %s connected to a server without TLS", mode)
		}
		if !strings.Contains(strings.ToLower(err.Error()), "tls") {
			t.Errorf("sslmode %s: err = %v, want a TLS error", mode, err)
		}
	}
}

func TestEntraRoleLifecycle(t *testing.T) {
	h := newEntraHarness(t, &fakeCredential{token: adminPassword(t)}, nil)
	installPgaadauthStub(h)
	name := unique("app")
	const oid = "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b"
	inputs := map[string]any{"name": name, "login": true, "entraPrincipal": entraPrincipal(strings.ToUpper(oid), EntraService)}
	r := h.create("Role", name, inputs)
	if got := r.state.Get("entraPrincipal").AsMap().Get("objectId").AsString(); got != oid {
		t.Errorf("state objectId %q, want it lower-cased %q", got, oid)
	}
	if got, want := h.label(name), "aadauth,oid="+oid+",type=service"; got != want {
		t.Errorf("label %q, want %q (created through pgaadauth_create_principal_with_oid)", got, want)
	}
	got := h.query("postgres", `SELECT concat_ws(',', rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, rolinherit, rolconnlimit, rolpassword IS NULL) FROM pg_authid WHERE rolname = $1`, name)
	if diff := cmp.Diff([]string{"t,f,f,f,f,t,-1,t"}, got); diff != "" {
		t.Errorf("role attributes (-want +got), no password:\n%s", diff)
	}
	if !r.refresh() {
		t.Fatal("Read lost the role")
	}
	wantChanged(t, "as declared", r.diff(inputs))

	// Attributes are changed in place, the principal too (a new identity, same role).
	r.update(map[string]any{"name": name, "login": true, "connectionLimit": 4, "entraPrincipal": entraPrincipal(oid, EntraService)})
	if got := h.query("postgres", `SELECT rolconnlimit::text FROM pg_roles WHERE rolname = $1`, name); len(got) != 1 || got[0] != "4" {
		t.Errorf("connection limit %v, want 4", got)
	}
	const other = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	moved := map[string]any{"name": name, "login": true, "connectionLimit": 4, "entraPrincipal": entraPrincipal(other, EntraService)}
	wantChanged(t, "another principal", r.diff(moved), "entraPrincipal")
	// No pgaadauth label provider is loaded here: the relabel fails, saying why.
	if err := r.tryUpdate(moved); err == nil || !strings.Contains(err.Error(), "no Microsoft Entra support (pgaadauth)") {
		t.Errorf("relabel without the pgaadauth provider: err = %v", err)
	}

	// Drift: the mapping removed, or made an Entra administrator, out of band.
	r.refresh()
	h.sql("postgres", `UPDATE pg_shseclabel SET label = label || ',admin' WHERE provider = 'pgaadauth' AND objoid = (SELECT oid FROM pg_roles WHERE rolname = '`+name+`')`)
	r.refresh()
	wantChanged(t, "label made admin out of band", r.diff(map[string]any{"name": name, "login": true, "connectionLimit": 4, "entraPrincipal": entraPrincipal(oid, EntraService)}), "entraPrincipal")
	h.sql("postgres", `DELETE FROM pg_shseclabel WHERE provider = 'pgaadauth' AND objoid = (SELECT oid FROM pg_roles WHERE rolname = '`+name+`')`)
	r.refresh()
	if v := r.state.Get("entraPrincipal"); !v.IsNull() {
		t.Errorf("state after the label was removed: entraPrincipal %v, want none", v)
	}

	// Import reads the mapping back.
	h.sql("postgres", `INSERT INTO pg_shseclabel SELECT oid, 'pg_authid'::regclass, 'pgaadauth', 'aadauth,oid=`+oid+`,type=group' FROM pg_roles WHERE rolname = '`+name+`'`)
	imp := h.importRead("Role", name)
	if e := imp.Inputs.Get("entraPrincipal").AsMap(); e.Get("objectId").AsString() != oid || e.Get("type").AsString() != EntraGroup {
		t.Errorf("imported entraPrincipal %v", imp.Inputs.Get("entraPrincipal"))
	}
	if v := imp.Inputs.Get("password"); !v.IsNull() {
		t.Errorf("imported Entra role has a password input %v", v)
	}
	ir := &res{h: h, urn: h.urn("Role", "imported"), id: imp.ID, inputs: imp.Inputs, state: imp.Properties}
	wantChanged(t, "imported, declared as it is", ir.diff(map[string]any{"name": name, "login": true, "connectionLimit": 4, "entraPrincipal": entraPrincipal(oid, EntraGroup)}))

	r.delete()
	if got := h.query("postgres", `SELECT rolname FROM pg_roles WHERE rolname = $1`, name); len(got) != 0 {
		t.Error("role still exists after delete")
	}
	if h.label(name) != "" || len(h.query("postgres", `SELECT label FROM pg_shseclabel WHERE label LIKE '%`+oid+`%'`)) != 0 {
		t.Error("the role's label outlived it")
	}
}

func TestEntraRoleBadInput(t *testing.T) {
	h := newEntraHarness(t, &fakeCredential{token: adminPassword(t)}, nil)
	installPgaadauthStub(h)
	before := h.query("postgres", `SELECT count(*)::text FROM pg_roles`)
	const oid = "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b"
	for _, tc := range []struct {
		name, prop string
		inputs     map[string]any
	}{
		{"object id not a UUID", "entraPrincipal", map[string]any{"name": "e1", "login": true, "entraPrincipal": entraPrincipal("not-a-uuid", EntraService)}},
		{"object id carrying SQL", "entraPrincipal", map[string]any{"name": "e2", "login": true, "entraPrincipal": entraPrincipal(`'); DROP ROLE postgres; --`, EntraService)}},
		{"unknown principal type", "entraPrincipal", map[string]any{"name": "e3", "login": true, "entraPrincipal": entraPrincipal(oid, "admin")}},
		{"Entra role with a password", "password", map[string]any{"name": "e4", "login": true, "password": secret("Passw0rd-x"), "entraPrincipal": entraPrincipal(oid, EntraService)}},
		{"Entra role without login", "login", map[string]any{"name": "e5", "entraPrincipal": entraPrincipal(oid, EntraService)}},
		{"role name carrying SQL", "name", map[string]any{"name": `x"; DROP ROLE postgres; --`, "login": true, "entraPrincipal": entraPrincipal(oid, EntraService)}},
	} {
		_, failures := h.check(h.urn("Role", "bad"), property.Map{}, props(tc.inputs))
		if len(failures) != 1 || failures[0].Property != tc.prop {
			t.Errorf("%s: failures %+v, want one on %q", tc.name, failures, tc.prop)
		}
	}
	if after := h.query("postgres", `SELECT count(*)::text FROM pg_roles`); !cmp.Equal(before, after) {
		t.Errorf("refused inputs changed the roles: %v -> %v", before, after)
	}

	// In a preview the object id is the principal id of an identity not created yet: not refused,
	// and kept unknown for the engine's second Check.
	unknown := entraPrincipalWith(property.New(property.Computed), EntraService)
	checked, failures := h.check(h.urn("Role", "u"), property.Map{}, props(map[string]any{"name": "later", "login": true, "entraPrincipal": unknown}))
	if len(failures) > 0 {
		t.Errorf("unknown object id: failures %+v", failures)
	}
	if !checked.Get("entraPrincipal").HasComputed() {
		t.Errorf("Check made the unknown object id known: %v", checked.Get("entraPrincipal"))
	}

	// A server without Azure's pgaadauth (here: a database without the function) says so.
	db := unique("noaad")
	h.sql("postgres", `CREATE DATABASE "`+db+`"`)
	t.Cleanup(func() { h.sql("postgres", `DROP DATABASE IF EXISTS "`+db+`"`) })
	plain := newEntraHarness(t, &fakeCredential{token: adminPassword(t)}, map[string]property.Value{"database": property.New(db)})
	_, err := plain.tryCreate("Role", "e", map[string]any{"name": unique("e"), "login": true, "entraPrincipal": entraPrincipal(oid, EntraService)})
	if err == nil || !strings.Contains(err.Error(), "no Microsoft Entra support (pgaadauth)") || !strings.Contains(err.Error(), "SQLSTATE 42883") {
		t.Errorf("err = %v, want the missing pgaadauth explained", err)
	}
}

func entraPrincipalWith(objectID property.Value, typ string) property.Value {
	return property.New(property.NewMap(map[string]property.Value{"objectId": objectID, "type": property.New(typ)}))
}

func TestEntraSchema(t *testing.T) {
	resp, err := newServer(t).GetSchema(p.GetSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Config struct {
			Variables map[string]struct {
				Default any  `json:"default"`
				Secret  bool `json:"secret"`
			} `json:"variables"`
			Required []string `json:"required"`
		} `json:"config"`
		Resources map[string]struct {
			InputProperties map[string]struct {
				Ref string `json:"$ref"`
			} `json:"inputProperties"`
		} `json:"resources"`
		Types map[string]json.RawMessage `json:"types"`
	}
	if err := json.Unmarshal([]byte(resp.Schema), &spec); err != nil {
		t.Fatal(err)
	}
	v := spec.Config.Variables
	// No defaults: they would be added to the inputs of providers created before the keys
	// existed, and a provider whose inputs change is replaced with every resource.
	if _, ok := v["auth"]; !ok || v["auth"].Default != nil || v["entraScope"].Default != nil || !v["password"].Secret {
		t.Errorf("config auth %+v, entraScope %+v, password %+v", v["auth"], v["entraScope"], v["password"])
	}
	for _, r := range spec.Config.Required {
		if r == "password" {
			t.Error("password is required config; with auth entra there is none")
		}
	}
	// A password provider configured as before the entra keys existed checks to the same inputs.
	s := newServer(t)
	old := props(map[string]any{"host": "127.0.0.1", "port": 5432, "username": "tenantctl_admin", "password": secret("pw"), "sslmode": "disable"})
	checked, err := s.CheckConfig(p.CheckRequest{Urn: "urn:pulumi:test::tenantpg::pulumi:providers:tenantpg::pg", Inputs: old})
	if err != nil || len(checked.Failures) > 0 {
		t.Fatalf("CheckConfig: %v %+v", err, checked.Failures)
	}
	for _, k := range []string{"auth", "entraScope"} {
		if v, ok := checked.Inputs.GetOk(k); ok && !v.IsNull() {
			t.Errorf("CheckConfig added %s = %#v to a password provider's inputs", k, v)
		}
	}
	// ... so its provider, checked before the keys existed, is not replaced (infer replaces a
	// provider on any change of its inputs, and every resource with it).
	before := checked.Inputs.Delete("auth", "entraScope")
	d, err := s.DiffConfig(p.DiffRequest{Urn: "urn:pulumi:test::tenantpg::pulumi:providers:tenantpg::pg", ID: "pg", OldInputs: before, State: before, Inputs: checked.Inputs})
	if err != nil || d.HasChanges {
		t.Errorf("DiffConfig of a password provider checked before the entra keys existed: %+v, %v", d, err)
	}
	if ref := spec.Resources["tenantpg:index:Role"].InputProperties["entraPrincipal"].Ref; ref != "#/types/tenantpg:index:EntraPrincipal" {
		t.Errorf("Role entraPrincipal $ref %q", ref)
	}
	if _, ok := spec.Types["tenantpg:index:EntraPrincipal"]; !ok {
		t.Error("no EntraPrincipal type in the schema")
	}
}

// TestNonSuperuserAdmin: the admin of an Azure server is no superuser, only CREATEROLE (and
// CREATEDB). With such an admin, signed in by token, roles and Entra roles are created, altered
// (naming only what changes: a non-superuser may not even say NOSUPERUSER) and dropped, also a
// role that still holds privileges no Grant declared, which takes DROP OWNED BY as its member.
func TestNonSuperuserAdmin(t *testing.T) {
	root := newHarness(t, nil)
	installPgaadauthStub(root)
	admin := unique("aadadmin")
	const pw = "Entra-admin-t0ken"
	root.sql("postgres", `CREATE ROLE "`+admin+`" LOGIN CREATEROLE CREATEDB PASSWORD '`+pw+`'`)
	t.Cleanup(func() { root.sql("postgres", `DROP ROLE IF EXISTS "`+admin+`"`) })
	h := newEntraHarness(t, &fakeCredential{token: pw}, map[string]property.Value{"username": property.New(admin)})

	const oid = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
	app := unique("app")
	e := h.create("Role", app, map[string]any{"name": app, "login": true, "connectionLimit": 3, "entraPrincipal": entraPrincipal(oid, EntraService)})
	e.update(map[string]any{"name": app, "login": true, "connectionLimit": 5, "entraPrincipal": entraPrincipal(oid, EntraService)})
	if got := h.query("postgres", `SELECT rolconnlimit::text FROM pg_roles WHERE rolname = $1`, app); len(got) != 1 || got[0] != "5" {
		t.Errorf("Entra role connection limit %v, want 5", got)
	}

	owner := unique("owner")
	o := h.create("Role", owner, map[string]any{"name": owner})
	// Drift repaired by an admin that is no superuser.
	root.sql("postgres", `ALTER ROLE "`+owner+`" CREATEDB CONNECTION LIMIT 7`)
	o.refresh()
	wantChanged(t, "owner drifted", o.diff(map[string]any{"name": owner}), "connectionLimit", "createDatabase")
	o.update(map[string]any{"name": owner})
	o.refresh()
	wantChanged(t, "owner repaired", o.diff(map[string]any{"name": owner}))

	// A privilege no Grant declared, on a table its owner role created later (default privileges,
	// migrations) and that is kept with its data; the admin is a member of the owner role, as
	// stacks/pgdata makes it.
	schema := unique("kept")
	root.sql("postgres", `GRANT "`+owner+`" TO "`+admin+`"`, `CREATE SCHEMA "`+schema+`" AUTHORIZATION "`+owner+`"`, `SET ROLE "`+owner+`"`,
		`CREATE TABLE "`+schema+`".rows (v int)`, `INSERT INTO "`+schema+`".rows VALUES (1)`,
		`GRANT USAGE ON SCHEMA "`+schema+`" TO "`+app+`"`, `GRANT SELECT ON "`+schema+`".rows TO "`+app+`"`, `RESET ROLE`)
	e.delete()
	if got := h.query("postgres", `SELECT rolname::text FROM pg_roles WHERE rolname = $1`, app); len(got) != 0 {
		t.Errorf("role %s still exists", app)
	}
	if got := h.query("postgres", `SELECT count(*)::text FROM "`+schema+`".rows`); len(got) != 1 || got[0] != "1" {
		t.Errorf("the kept table lost its rows: %v", got)
	}
	root.sql("postgres", `DROP SCHEMA "`+schema+`" CASCADE`)
	o.delete()
	if got := h.query("postgres", `SELECT rolname::text FROM pg_roles WHERE rolname = $1`, owner); len(got) != 0 {
		t.Errorf("role %s still exists", owner)
	}
}
