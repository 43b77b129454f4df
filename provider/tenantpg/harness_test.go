package tenantpg

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"testing"

	"github.com/blang/semver"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/integration"
	presource "github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/connectsoft/tenantctl/internal/localpostgres"
	"github.com/connectsoft/tenantctl/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// harness drives the provider in-process over its gRPC surface (pulumi-go-provider's integration
// server) against the package's local PostgreSQL instance.
type harness struct {
	t  *testing.T
	s  integration.Server
	pg *localpostgres.Instance
}

func newServer(t *testing.T) integration.Server {
	t.Helper()
	prov, err := New()
	if err != nil {
		t.Fatal(err)
	}
	s, err := integration.NewServer(context.Background(), Name, semver.MustParse(Version), integration.WithProvider(prov))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newHarness configures a provider for the local instance; override changes config keys.
func newHarness(t *testing.T, override map[string]property.Value) *harness {
	t.Helper()
	pg := testenv.Postgres(t)
	pw, err := pg.Password()
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]property.Value{
		"host":     property.New(pg.Host),
		"port":     property.New(float64(pg.Port)),
		"username": property.New(pg.AdminRole),
		"password": property.New(pw).WithSecret(true),
		"sslmode":  property.New("disable"),
	}
	for k, v := range override {
		cfg[k] = v
	}
	return &harness{t: t, s: configured(t, cfg), pg: pg}
}

// newOfflineHarness configures a provider for a server that does not exist, for resources that
// must never need one (Password).
func newOfflineHarness(t *testing.T) *harness {
	t.Helper()
	return &harness{t: t, s: configured(t, map[string]property.Value{
		"host":     property.New("127.0.0.1"),
		"port":     property.New(float64(1)),
		"username": property.New("nobody"),
		"password": secret("not-used"),
		"sslmode":  property.New("disable"),
	})}
}

func configured(t *testing.T, cfg map[string]property.Value) integration.Server {
	t.Helper()
	s := newServer(t)
	checked, err := s.CheckConfig(p.CheckRequest{Urn: presource.CreateURN("default", "pulumi:providers:tenantpg", "", "test", "test"), Inputs: property.NewMap(cfg)})
	if err != nil {
		t.Fatalf("CheckConfig: %v", err)
	}
	if len(checked.Failures) > 0 {
		t.Fatalf("CheckConfig failures: %+v", checked.Failures)
	}
	if err := s.Configure(p.ConfigureRequest{Args: checked.Inputs}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return s
}

// captureLogs collects what the provider logs for the rest of the test: outside the engine,
// pulumi-go-provider's logger writes to slog's default logger.
func captureLogs(t *testing.T) *syncBuffer {
	t.Helper()
	buf := &syncBuffer{}
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return buf
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// props builds a property map from plain Go values (string, bool, int, []string,
// map[string]string, property.Value).
func props(m map[string]any) property.Map {
	out := map[string]property.Value{}
	for k, v := range m {
		switch x := v.(type) {
		case string:
			out[k] = property.New(x)
		case bool:
			out[k] = property.New(x)
		case int:
			out[k] = property.New(float64(x))
		case []string:
			vs := make([]property.Value, len(x))
			for i, s := range x {
				vs[i] = property.New(s)
			}
			out[k] = property.New(property.NewArray(vs))
		case map[string]string:
			vs := make(map[string]property.Value, len(x))
			for mk, mv := range x {
				vs[mk] = property.New(mv)
			}
			out[k] = property.New(property.NewMap(vs))
		case property.Value:
			out[k] = x
		default:
			panic("props: unsupported type")
		}
	}
	return property.NewMap(out)
}

func secret(s string) property.Value { return property.New(s).WithSecret(true) }

// res is one resource driven through its lifecycle.
type res struct {
	h      *harness
	urn    presource.URN
	id     string
	inputs property.Map
	state  property.Map
}

func (h *harness) urn(typ, name string) presource.URN {
	return presource.NewURN("test", "tenantpg", "", tokens.Type("tenantpg:index:"+typ), name)
}

// check runs Check and fails the test on an error; failures are returned.
func (h *harness) check(urn presource.URN, olds, inputs property.Map) (property.Map, []p.CheckFailure) {
	h.t.Helper()
	resp, err := h.s.Check(p.CheckRequest{Urn: urn, State: olds, Inputs: inputs})
	if err != nil {
		h.t.Fatalf("Check %s: %v", urn.Name(), err)
	}
	return resp.Inputs, resp.Failures
}

// create previews and creates; it fails the test on any error.
func (h *harness) create(typ, name string, inputs map[string]any) *res {
	h.t.Helper()
	r, err := h.tryCreate(typ, name, inputs)
	if err != nil {
		h.t.Fatalf("create %s %s: %v", typ, name, err)
	}
	return r
}

func (h *harness) tryCreate(typ, name string, inputs map[string]any) (*res, error) {
	h.t.Helper()
	urn := h.urn(typ, name)
	checked, failures := h.check(urn, property.Map{}, props(inputs))
	if len(failures) > 0 {
		h.t.Fatalf("Check %s: %+v", name, failures)
	}
	if _, err := h.s.Create(p.CreateRequest{Urn: urn, Properties: checked, DryRun: true}); err != nil {
		return nil, err
	}
	resp, err := h.s.Create(p.CreateRequest{Urn: urn, Properties: checked})
	if err != nil {
		return nil, err
	}
	return &res{h: h, urn: urn, id: resp.ID, inputs: checked, state: resp.Properties}, nil
}

// refresh reads the live state like `pulumi refresh`; it reports false when the object is gone.
func (r *res) refresh() bool {
	r.h.t.Helper()
	resp, err := r.h.s.Read(p.ReadRequest{ID: r.id, Urn: r.urn, Properties: r.state, Inputs: r.inputs})
	if err != nil {
		r.h.t.Fatalf("Read %s: %v", r.id, err)
	}
	if resp.ID == "" {
		return false
	}
	r.state, r.inputs = resp.Properties, resp.Inputs
	return true
}

// diff compares the state with new inputs (as the program declares them).
func (r *res) diff(inputs map[string]any) p.DiffResponse {
	r.h.t.Helper()
	checked, failures := r.h.check(r.urn, r.inputs, props(inputs))
	if len(failures) > 0 {
		r.h.t.Fatalf("Check %s: %+v", r.id, failures)
	}
	d, err := r.h.s.Diff(p.DiffRequest{ID: r.id, Urn: r.urn, State: r.state, Inputs: checked, OldInputs: r.inputs})
	if err != nil {
		r.h.t.Fatalf("Diff %s: %v", r.id, err)
	}
	return d
}

// update applies new inputs in place.
func (r *res) update(inputs map[string]any) {
	r.h.t.Helper()
	if err := r.tryUpdate(inputs); err != nil {
		r.h.t.Fatalf("Update %s: %v", r.id, err)
	}
}

// tryUpdate previews and applies new inputs in place; the state is kept when the update fails.
func (r *res) tryUpdate(inputs map[string]any) error {
	r.h.t.Helper()
	checked, failures := r.h.check(r.urn, r.inputs, props(inputs))
	if len(failures) > 0 {
		r.h.t.Fatalf("Check %s: %+v", r.id, failures)
	}
	if _, err := r.h.s.Update(p.UpdateRequest{ID: r.id, Urn: r.urn, State: r.state, Inputs: checked, OldInputs: r.inputs, DryRun: true}); err != nil {
		r.h.t.Fatalf("preview update %s: %v", r.id, err)
	}
	resp, err := r.h.s.Update(p.UpdateRequest{ID: r.id, Urn: r.urn, State: r.state, Inputs: checked, OldInputs: r.inputs})
	if err != nil {
		return err
	}
	r.state, r.inputs = resp.Properties, checked
	return nil
}

func (r *res) delete() {
	r.h.t.Helper()
	if err := r.h.s.Delete(p.DeleteRequest{ID: r.id, Urn: r.urn, Properties: r.state, OldInputs: r.inputs}); err != nil {
		r.h.t.Fatalf("Delete %s: %v", r.id, err)
	}
}

// importRead is what `pulumi import` does: Read with nothing but the ID.
func (h *harness) importRead(typ, id string) p.ReadResponse {
	h.t.Helper()
	resp, err := h.s.Read(p.ReadRequest{ID: id, Urn: h.urn(typ, "imported")})
	if err != nil {
		h.t.Fatalf("import %s %s: %v", typ, id, err)
	}
	return resp
}

// changed lists the properties a diff reports, with "!" marking replacements.
func changed(d p.DiffResponse) []string {
	var out []string
	for k, v := range d.DetailedDiff {
		switch v.Kind {
		case p.UpdateReplace, p.AddReplace, p.DeleteReplace:
			k += "!"
		}
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func wantChanged(t *testing.T, what string, d p.DiffResponse, want ...string) {
	t.Helper()
	if diff := cmp.Diff(want, changed(d), cmpEmpty); diff != "" {
		t.Errorf("%s: changed properties (-want +got):\n%s", what, diff)
	}
	if d.HasChanges != (len(want) > 0) {
		t.Errorf("%s: HasChanges = %v", what, d.HasChanges)
	}
}

var cmpEmpty = cmp.Transformer("nilIsEmpty", func(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
})

// admin runs fn on an admin connection to database.
func (h *harness) admin(database string, fn func(context.Context, *pgx.Conn) error) {
	h.t.Helper()
	ctx := context.Background()
	c, err := h.pg.Connect(ctx, database)
	if err != nil {
		h.t.Fatal(err)
	}
	defer c.Close(ctx)
	if err := fn(ctx, c); err != nil {
		h.t.Fatal(err)
	}
}

// sql runs statements as the admin in database.
func (h *harness) sql(database string, stmts ...string) {
	h.t.Helper()
	h.admin(database, func(ctx context.Context, c *pgx.Conn) error {
		for _, s := range stmts {
			if _, err := c.Exec(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
}

// query returns the first column of every row.
func (h *harness) query(database, q string, args ...any) (out []string) {
	h.t.Helper()
	h.admin(database, func(ctx context.Context, c *pgx.Conn) error {
		rows, err := c.Query(ctx, q, args...)
		if err == nil {
			out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		}
		if err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		return nil
	})
	return out
}

// loginAs connects as role with password.
func (h *harness) loginAs(database, role, password string) (*pgx.Conn, error) {
	cfg, err := h.pg.ConnConfig(database)
	if err != nil {
		h.t.Fatal(err)
	}
	cfg.User, cfg.Password = role, password
	return pgx.ConnectConfig(context.Background(), cfg)
}

// unique returns a short unique identifier (valid for PostgreSQL).
func unique(prefix string) string {
	n := testenv.UniqueName(prefix)
	out := []rune(n)
	for i, r := range out {
		if r == '-' {
			out[i] = '_'
		}
	}
	return string(out)
}
