package tenantpg

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
)

func TestTableLifecycle(t *testing.T) {
	h := newHarness(t, nil)
	owner, other := unique("owner"), unique("other")
	h.create("Role", owner, map[string]any{"name": owner})
	h.create("Role", other, map[string]any{"name": other})
	schema := unique("shared")
	h.sql("postgres", `CREATE SCHEMA "`+schema+`"`)
	inputs := map[string]any{"schema": schema, "name": "items", "owner": owner}
	tb := h.create("Table", "items", inputs)
	if tb.id != "postgres/"+schema+"/items" {
		t.Errorf("ID %q", tb.id)
	}
	column := func(name string) []string {
		return h.query("postgres", `SELECT format_type(a.atttypid, a.atttypmod) || ',' || a.attnotnull FROM pg_attribute a
			WHERE a.attrelid = $1::regclass AND a.attname = $2 AND NOT a.attisdropped`, `"`+schema+`".items`, name)
	}
	indexes := func() []string {
		return h.query("postgres", `SELECT indexname::text || ':' || indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'items'`, schema)
	}
	tableOwner := func() []string {
		return h.query("postgres", `SELECT tableowner::text FROM pg_tables WHERE schemaname = $1 AND tablename = 'items'`, schema)
	}
	if got := column("tenant_id"); !slices.Equal(got, []string{"text,true"}) {
		t.Errorf("tenant_id type,notnull = %v", got)
	}
	if got := indexes(); len(got) != 1 || !strings.HasPrefix(got[0], "items_tenant_id_idx:") || !strings.Contains(got[0], "(tenant_id)") {
		t.Errorf("indexes = %v", got)
	}
	if got := tableOwner(); !slices.Equal(got, []string{owner}) {
		t.Errorf("owner = %v", got)
	}
	for k, want := range map[string]string{"tenantColumn": "tenant_id", "declaredTenantColumn": "tenant_id", "owner": owner, "database": "postgres"} {
		if got := tb.state.Get(k); got.AsString() != want {
			t.Errorf("state %s = %v, want %q", k, got, want)
		}
	}
	tb.refresh()
	wantChanged(t, "after refresh", tb.diff(inputs))

	// The application's migrations own every other column: not drift.
	h.sql("postgres", `ALTER TABLE "`+schema+`".items ADD COLUMN v int, ADD COLUMN note text`)
	tb.refresh()
	wantChanged(t, "columns added by the application", tb.diff(inputs))

	// Drift of the tenant column reads as tenantColumn "" and is repaired in place.
	for _, tc := range []struct {
		name    string
		sql     []string // %s is the table
		wantErr string
		fix     string
	}{
		{name: "NOT NULL dropped", sql: []string{`ALTER TABLE %s ALTER COLUMN tenant_id DROP NOT NULL`}},
		{name: "column dropped", sql: []string{`ALTER TABLE %s DROP COLUMN tenant_id`}},
		{name: "retyped", sql: []string{`ALTER TABLE %s ALTER COLUMN tenant_id TYPE varchar(64)`},
			wantErr: "is character varying(64), not text: change its type with a migration", fix: `ALTER TABLE %s ALTER COLUMN tenant_id TYPE text`},
		{name: "rows without a tenant", sql: []string{`ALTER TABLE %s ALTER COLUMN tenant_id DROP NOT NULL`, `INSERT INTO %s (v) VALUES (1)`},
			wantErr: "give those rows a tenant", fix: `DELETE FROM %s`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := `"` + schema + `".items`
			for _, s := range tc.sql {
				h.sql("postgres", strings.ReplaceAll(s, "%s", q))
			}
			tb.refresh()
			if got := tb.state.Get("tenantColumn").AsString(); got != "" {
				t.Errorf("state tenantColumn after drift = %q, want \"\"", got)
			}
			if got := tb.state.Get("declaredTenantColumn").AsString(); got != "tenant_id" {
				t.Errorf("state declaredTenantColumn after drift = %q", got)
			}
			d := tb.diff(inputs)
			wantChanged(t, "drifted tenant column", d, "tenantColumn")
			if tc.wantErr != "" {
				err := tb.tryUpdate(inputs)
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("update: err = %v, want %q", err, tc.wantErr)
				}
				if got := column("tenant_id"); len(got) != 1 {
					t.Fatalf("a failed repair changed the column: %v", got)
				}
				h.sql("postgres", strings.ReplaceAll(tc.fix, "%s", q))
			}
			tb.update(inputs)
			if got := column("tenant_id"); !slices.Equal(got, []string{"text,true"}) {
				t.Errorf("after update tenant_id type,notnull = %v", got)
			}
			if got := indexes(); len(got) != 1 || !strings.HasPrefix(got[0], "items_tenant_id_idx:") {
				t.Errorf("after update indexes = %v", got)
			}
			tb.refresh()
			wantChanged(t, "after repair", tb.diff(inputs))
		})
	}
	if got := column("v"); !slices.Equal(got, []string{"integer,false"}) {
		t.Errorf("the repairs touched the application's column v: %v", got)
	}

	// Owner: in place, both changed out of band and declared.
	h.sql("postgres", `ALTER TABLE "`+schema+`".items OWNER TO "`+other+`"`)
	tb.refresh()
	wantChanged(t, "owner changed out of band", tb.diff(inputs), "owner")
	tb.update(inputs)
	if got := tableOwner(); !slices.Equal(got, []string{owner}) {
		t.Errorf("owner after update = %v", got)
	}
	wantChanged(t, "owner defaults to the admin role", tb.diff(map[string]any{"schema": schema, "name": "items"}), "owner")
	wantChanged(t, "owner, declared as the admin role", tb.diff(map[string]any{"schema": schema, "name": "items", "owner": h.pg.AdminRole}), "owner")

	// Identity and the tenant column's name need a new table.
	for _, tc := range []struct {
		name   string
		inputs map[string]any
		want   []string
	}{
		{"tenant column renamed", map[string]any{"schema": schema, "name": "items", "owner": owner, "tenantColumn": "org_id"}, []string{"tenantColumn!"}},
		{"explicit default column", map[string]any{"schema": schema, "name": "items", "owner": owner, "tenantColumn": "tenant_id"}, nil},
		{"database", map[string]any{"database": "template1", "schema": schema, "name": "items", "owner": owner}, []string{"database!"}},
		{"explicit default database", map[string]any{"database": "postgres", "schema": schema, "name": "items", "owner": owner}, nil},
		{"schema", map[string]any{"schema": schema + "x", "name": "items", "owner": owner}, []string{"schema!"}},
		{"name", map[string]any{"schema": schema, "name": "things", "owner": owner}, []string{"name!"}},
		{"forceDestroy", map[string]any{"schema": schema, "name": "items", "owner": owner, "forceDestroy": true}, []string{"forceDestroy"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tb.diff(tc.inputs)
			wantChanged(t, tc.name, d, tc.want...)
			if len(tc.want) > 0 && strings.HasSuffix(tc.want[0], "!") && !d.DeleteBeforeReplace {
				t.Error("a table replaced under its name must be deleted first")
			}
		})
	}
	// A rename while the column is drifted is still a rename.
	h.sql("postgres", `ALTER TABLE "`+schema+`".items ALTER COLUMN tenant_id DROP NOT NULL`)
	tb.refresh()
	wantChanged(t, "rename of a drifted column", tb.diff(map[string]any{"schema": schema, "name": "items", "owner": owner, "tenantColumn": "org_id"}), "tenantColumn!")
	tb.update(inputs)

	// Import: the ID is enough, and the table as declared has no diff.
	imp := h.importRead("Table", tb.id)
	if imp.ID != tb.id || imp.Inputs.Get("owner").AsString() != owner || imp.Inputs.Get("tenantColumn").AsString() != "tenant_id" {
		t.Fatalf("import: %+v", imp)
	}
	ir := &res{h: h, urn: h.urn("Table", "imported"), id: imp.ID, inputs: imp.Inputs, state: imp.Properties}
	wantChanged(t, "imported table as declared", ir.diff(inputs))
	if resp := h.importRead("Table", "postgres/"+schema+"/missing"); resp.ID != "" {
		t.Errorf("import of a missing table returned ID %q", resp.ID)
	}
	for _, bad := range []string{"postgres/" + schema, `postgres/` + schema + `/x"; DROP TABLE y; --`} {
		if _, err := h.s.Read(p.ReadRequest{ID: bad, Urn: h.urn("Table", "bad")}); err == nil {
			t.Errorf("import with ID %q was not refused", bad)
		}
	}

	// Dropped out of band: gone on refresh, and deleting it succeeds.
	h.sql("postgres", `DROP TABLE "`+schema+`".items`)
	if tb.refresh() {
		t.Error("Read of a dropped table reports it exists")
	}
	tb.delete()
}

func TestTableRetention(t *testing.T) {
	h := newHarness(t, nil)
	schema := unique("keep")
	h.sql("postgres", `CREATE SCHEMA "`+schema+`"`)
	exists := func(table string) bool {
		return len(h.query("postgres", `SELECT tablename::text FROM pg_tables WHERE schemaname = $1 AND tablename = $2`, schema, table)) == 1
	}
	logs := captureLogs(t)

	// A table holding rows survives delete without forceDestroy, with a warning.
	inputs := map[string]any{"schema": schema, "name": "rows"}
	tb := h.create("Table", "rows", inputs)
	h.sql("postgres", `INSERT INTO "`+schema+`".rows VALUES ('acme')`)
	tb.delete()
	if !exists("rows") {
		t.Fatal("a table holding rows was dropped without forceDestroy")
	}
	if !strings.Contains(logs.String(), "table postgres/"+schema+"/rows retained: it holds rows; set forceDestroy: true") {
		t.Errorf("no retention warning in the log:\n%s", logs)
	}
	// Created again under its name while retained: the error says how to take it back.
	if _, err := h.tryCreate("Table", "rows", inputs); err == nil || !strings.Contains(err.Error(), "import it with ID postgres/"+schema+"/rows") {
		t.Errorf("create over a retained table: err = %v", err)
	}
	// forceDestroy drops it with its rows.
	tb.update(map[string]any{"schema": schema, "name": "rows", "forceDestroy": true})
	tb.delete()
	if exists("rows") {
		t.Fatal("forceDestroy did not drop the table")
	}

	// An empty table is dropped (rows inserted and deleted again leave it empty).
	empty := h.create("Table", "empty", map[string]any{"schema": schema, "name": "empty"})
	h.sql("postgres", `INSERT INTO "`+schema+`".empty VALUES ('acme')`, `DELETE FROM "`+schema+`".empty`)
	empty.delete()
	if exists("empty") {
		t.Fatal("an empty table was not dropped")
	}
	// Rows that row-level security hides from the admin role count as rows: a non-superuser admin
	// owns the table (FORCE ROW LEVEL SECURITY binds it, no policy lets a row through).
	admin := unique("adm")
	h.create("Role", admin, map[string]any{"name": admin, "login": true, "password": secret("adm-Passw0rd")})
	h.sql("postgres", `GRANT USAGE, CREATE ON SCHEMA "`+schema+`" TO "`+admin+`"`)
	ha := newHarness(t, map[string]property.Value{"username": property.New(admin), "password": secret("adm-Passw0rd")})
	hidden := ha.create("Table", "hidden", map[string]any{"schema": schema, "name": "hidden"})
	h.sql("postgres", `INSERT INTO "`+schema+`".hidden VALUES ('acme')`,
		`ALTER TABLE "`+schema+`".hidden ENABLE ROW LEVEL SECURITY`, `ALTER TABLE "`+schema+`".hidden FORCE ROW LEVEL SECURITY`)
	hidden.delete()
	if !exists("hidden") {
		t.Fatal("a table whose rows row-level security hides from the admin was dropped")
	}
	if !strings.Contains(logs.String(), "table postgres/"+schema+"/hidden retained: row-level security hides its rows") {
		t.Errorf("no retention warning for hidden rows in the log:\n%s", logs)
	}

	// Its schema dropped out of band: delete has nothing to do.
	gone := h.create("Table", "gone", map[string]any{"schema": schema, "name": "gone"})
	h.sql("postgres", `DROP SCHEMA "`+schema+`" CASCADE`)
	gone.delete()
}

// TestTableKeywordsAndOtherDatabase: keyword names, a custom tenant column and a long name whose
// index name is cut to PostgreSQL's 63 bytes, in a database other than the provider's.
func TestTableKeywordsAndOtherDatabase(t *testing.T) {
	h := newHarness(t, nil)
	db := unique("tbl")
	h.create("Database", db, map[string]any{"name": db, "forceDestroy": true})
	h.sql(db, `CREATE SCHEMA "user"`)
	order := h.create("Table", "order", map[string]any{"database": db, "schema": "user", "name": "order", "tenantColumn": "group"})
	if order.id != db+"/user/order" {
		t.Errorf("ID %q", order.id)
	}
	long := strings.Repeat("l", 60)
	lt := h.create("Table", "long", map[string]any{"database": db, "schema": "user", "name": long, "tenantColumn": "org-id"})
	got := h.query(db, `SELECT tablename::text || '/' || indexname::text FROM pg_indexes WHERE schemaname = 'user' ORDER BY 1`)
	if len(got) != 2 || got[1] != "order/order_group_idx" || !strings.HasPrefix(got[0], long+"/") {
		t.Fatalf("indexes = %v", got)
	}
	if idx := strings.TrimPrefix(got[0], long+"/"); len(idx) > 63 || !strings.HasSuffix(idx, "_idx") {
		t.Errorf("long table's index %q", idx)
	}
	if cols := h.query(db, `SELECT column_name::text || ',' || data_type || ',' || is_nullable FROM information_schema.columns WHERE table_schema = 'user' AND table_name = 'order'`); !slices.Equal(cols, []string{"group,text,NO"}) {
		t.Errorf("columns of order = %v", cols)
	}
	for _, r := range []*res{order, lt} {
		if !r.refresh() {
			t.Errorf("%s: not found on refresh", r.id)
		}
		wantChanged(t, r.id, r.diff(map[string]any{"database": db, "schema": "user", "name": r.state.Get("name").AsString(), "tenantColumn": r.state.Get("tenantColumn").AsString()}))
		r.delete()
	}
	if got := h.query(db, `SELECT count(*)::text FROM pg_tables WHERE schemaname = 'user'`); !slices.Equal(got, []string{"0"}) {
		t.Errorf("tables left: %v", got)
	}
}

// TestTableSchemaFlags: the generated SDKs force a replacement on every change of a property marked
// replaceOnChanges, so tenantColumn (repaired in place when it drifts) must not be marked.
func TestTableSchemaFlags(t *testing.T) {
	resp, err := newServer(t).GetSchema(p.GetSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Resources map[string]struct {
			InputProperties map[string]struct {
				ReplaceOnChanges bool `json:"replaceOnChanges"`
				Secret           bool `json:"secret"`
			} `json:"inputProperties"`
			Properties map[string]struct {
				Secret bool `json:"secret"`
			} `json:"properties"`
			Required []string `json:"required"`
		} `json:"resources"`
	}
	if err := json.Unmarshal([]byte(resp.Schema), &spec); err != nil {
		t.Fatal(err)
	}
	var replace []string
	for name, prop := range spec.Resources["tenantpg:index:Table"].InputProperties {
		if prop.ReplaceOnChanges {
			replace = append(replace, name)
		}
	}
	slices.Sort(replace)
	if diff := cmp.Diff([]string{"database", "name", "schema"}, replace); diff != "" {
		t.Errorf("Table replaceOnChanges (-want +got):\n%s", diff)
	}
	pw := spec.Resources["tenantpg:index:Password"]
	if !pw.Properties["result"].Secret || !slices.Contains(pw.Required, "result") {
		t.Errorf("Password result: secret %v, required outputs %v", pw.Properties["result"].Secret, pw.Required)
	}
	if !pw.InputProperties["length"].ReplaceOnChanges || !pw.InputProperties["keepers"].ReplaceOnChanges {
		t.Error("Password length and keepers must be replaceOnChanges")
	}
}
