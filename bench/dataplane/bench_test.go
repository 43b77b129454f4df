package dataplanebench

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/drift/pgdrift"
	"github.com/connectsoft/tenantctl/drift/pgdrift/pgdrifttest"
	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/pgcatalog"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

const examples = "../../examples/tenants"

// converge writes the fleet's plan to the package's server, on a fresh database set: the server
// is shared by the package, so each size gets its own run of the package (go test -run/-bench).
func converge(tb testing.TB, f *Fleet) *pgx.ConnConfig {
	tb.Helper()
	pg := testenv.Postgres(tb)
	ctx := context.Background()
	sql := pgdrifttest.Render(f.Tenants, f.Platform)
	for _, db := range append([]string{""}, dbs(sql)...) {
		name := db
		if name == "" {
			name = "postgres"
		}
		cfg, err := pg.ConnConfig(name)
		if err != nil {
			tb.Fatal(err)
		}
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			tb.Fatal(err)
		}
		if db == "" {
			// CREATE DATABASE refuses to run in a pipeline.
			for _, s := range sql[db] {
				if _, err := c.Exec(ctx, s); err != nil {
					tb.Fatalf("converge: %s: %v", s, err)
				}
			}
		} else {
			// One round trip per database: the setup is not what is measured.
			b := &pgx.Batch{}
			for _, s := range sql[db] {
				b.Queue(s)
			}
			if err := c.SendBatch(ctx, b).Close(); err != nil {
				tb.Fatalf("converge %s: %v", name, err)
			}
		}
		c.Close(ctx)
	}
	cfg, err := pg.ConnConfig("postgres")
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

func dbs(sql map[string][]string) []string {
	var out []string
	for db := range sql {
		if db != "" {
			out = append(out, db)
		}
	}
	return out
}

// fastPath is the drift check's data-plane pass: every database's catalog, compared with the plans.
func fastPath(ctx context.Context, cfg *pgx.ConnConfig, f *Fleet) ([]finding.Finding, error) {
	cats, err := pgcatalog.ReadServer(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return pgdrift.Compare(pgdrift.Input{Environment: "dev", Tenants: f.Tenants, Platform: f.Platform, Catalogs: cats}), nil
}

// TestFastPathOnAGeneratedFleet keeps the generator honest at a size every test run affords: a
// converged fleet has no finding, and both readers see every planned object.
func TestFastPathOnAGeneratedFleet(t *testing.T) {
	ctx := context.Background()
	f, err := Generate(ctx, examples, 25)
	if err != nil {
		t.Fatal(err)
	}
	cfg := converge(t, f)
	fs, err := fastPath(ctx, cfg, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 0 {
		t.Fatalf("a converged fleet has %d findings, first %+v", len(fs), fs[0])
	}
	n, err := PerResourceRead(ctx, cfg, f)
	if err != nil {
		t.Fatal(err)
	}
	if want := f.Resources(); n != want {
		t.Errorf("per-resource read visited %d resources, the fleet has %d", n, want)
	}
}

var (
	fleetOnce sync.Once
	fleet     *Fleet
	fleetCfg  *pgx.ConnConfig
)

// benchFleet converges 1,000 pool and 1,000 shared tenants once for both benchmarks.
func benchFleet(b *testing.B) (*Fleet, *pgx.ConnConfig) {
	fleetOnce.Do(func() {
		f, err := Generate(context.Background(), examples, 1_000)
		if err != nil {
			b.Fatal(err)
		}
		fleet, fleetCfg = f, converge(b, f)
	})
	if fleet == nil {
		b.Fatal("fleet setup failed")
	}
	return fleet, fleetCfg
}

// BenchmarkFastPath2k: one catalog pass over 1,000 pool schemas and 1,000 row-filtered tenants.
// `go test -run ^$ -bench . -benchtime 3x ./bench/dataplane` runs it beside the baseline.
func BenchmarkFastPath2k(b *testing.B) {
	f, cfg := benchFleet(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		fs, err := fastPath(ctx, cfg, f)
		if err != nil {
			b.Fatal(err)
		}
		if len(fs) != 0 {
			b.Fatalf("%d findings on a converged fleet", len(fs))
		}
	}
	b.ReportMetric(float64(f.Resources()), "resources")
}

// BenchmarkPerResourceRead2k: the same objects read one resource at a time, as a refresh does.
func BenchmarkPerResourceRead2k(b *testing.B) {
	f, cfg := benchFleet(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := PerResourceRead(ctx, cfg, f); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(f.Resources()), "resources")
}
