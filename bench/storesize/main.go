// Command storesize measures how the cost of one stack's first `up` grows with the number of
// other stacks in the same state store: the pulumi CLI's CPU (and, for postgres://, the server's)
// to create and update one stack of R component resources in a store already holding S stacks of
// the same project, file:// against postgres://.
//
//	go run ./bench/storesize -sizes 0,1000,4000 -resources 26 -runs 3
//
// Why: Pulumi's DIY backend saves the checkpoint after every step, and each save first lists the
// project's stack folder to find the checkpoint's compression variant (pkg/backend/diy state.go
// stackPath). On file:// that listing reads the whole folder — four entries per stack (the
// checkpoint, its backup and go-cloud's two attribute files) — so the cost of a save grows with the
// fleet; postgres:// answers the same listing from an index. The sibling stacks are copies of a
// real checkpoint (the listing's cost depends on how many there are, not on what they hold).
//
// It is a benchmark, not a test: it prints a Markdown table for docs/benchmarks.md.
package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/lib/pq"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/bench/internal/benchkit"
	"github.com/connectsoft/tenantctl/internal/toolchain"
)

func main() {
	sizes := flag.String("sizes", "0,1000,4000", "comma-separated numbers of sibling stacks; the first is the baseline")
	resources := flag.Int("resources", 26, "component resources in the measured stack (a pool tenant holds 26)")
	runs := flag.Int("runs", 3, "new stacks measured per store size (the table shows the median)")
	backends := flag.String("backends", "file,postgres", "state backends to compare: file, file-nometa (file:// with ?metadata=skip), postgres")
	pgURL := flag.String("postgres", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL for the postgres:// backend (a new table per size)")
	flag.Parse()
	ss, err := parseSizes(*sizes)
	if err == nil && (*resources < 1 || *runs < 1) {
		err = fmt.Errorf("-resources and -runs must be at least 1")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/storesize:", err)
		os.Exit(3)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout, strings.Split(*backends, ","), ss, *resources, *runs, *pgURL); err != nil {
		fmt.Fprintln(os.Stderr, "bench/storesize:", err)
		os.Exit(1)
	}
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("-sizes %q: want non-negative integers separated by commas", s)
		}
		out = append(out, n)
	}
	return out, nil
}

type result struct {
	backend   string
	size      int
	cliCPU    time.Duration // median CLI CPU of one new stack's first up
	serverCPU time.Duration // median PostgreSQL server CPU of the same (postgres:// only)
}

func run(ctx context.Context, out io.Writer, backends []string, sizes []int, resources, runs int, pgURL string) error {
	tc := toolchain.Default()
	if err := tc.CheckEngine(); err != nil {
		return err
	}
	var results []result
	for _, b := range backends {
		for _, size := range sizes {
			r, err := measure(ctx, tc, strings.TrimSpace(b), size, resources, runs, pgURL)
			if err != nil {
				return fmt.Errorf("%s, %d stacks: %w", b, size, err)
			}
			fmt.Fprintf(os.Stderr, "%s  %5d stacks  CLI %.2f s  server %.2f s\n", r.backend, size, r.cliCPU.Seconds(), r.serverCPU.Seconds())
			results = append(results, r)
		}
	}
	fmt.Fprintf(out, "\nFirst `up` of one new stack of %d component resources, median of %d; load %s\n\n", resources, runs, benchkit.LoadAverage())
	fmt.Fprintln(out, "| backend | stacks already in the store | CLI CPU | vs empty store | PostgreSQL server CPU |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---:|")
	base := map[string]time.Duration{}
	for _, r := range results {
		if _, ok := base[r.backend]; !ok {
			base[r.backend] = r.cliCPU
		}
		server := "—"
		if r.backend == "postgres" {
			server = fmt.Sprintf("%.2f s", r.serverCPU.Seconds())
		}
		fmt.Fprintf(out, "| %s | %d | %.2f s | %.2fx | %s |\n", r.backend, r.size, r.cliCPU.Seconds(),
			float64(r.cliCPU)/float64(base[r.backend]), server)
	}
	return nil
}

// measure fills a new store with size sibling stacks and times the first up of runs new stacks.
func measure(ctx context.Context, tc toolchain.Toolchain, backend string, size, resources, runs int, pgURL string) (result, error) {
	res := result{backend: backend, size: size}
	dir, err := os.MkdirTemp("", "storesize-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	opts := []automation.Option{automation.WithToolchain(tc), automation.WithDataDir(dir), automation.WithParallel(1),
		automation.WithSecrets(automation.SecretsConfig{Passphrase: "storesize-benchmark"})}
	var db *sql.DB
	var table string
	switch backend {
	case "file":
	case "file-nometa":
		// go-cloud's fileblob without its attribute side files (URL option metadata=skip)
		if err := os.MkdirAll(filepath.Join(dir, "state"), 0o700); err != nil {
			return res, err
		}
		opts = append(opts, automation.WithBackend("file://"+filepath.Join(dir, "state")+"?metadata=skip"))
	case "postgres":
		if db, err = sql.Open("postgres", pgURL); err != nil {
			return res, err
		}
		defer db.Close()
		table = fmt.Sprintf("storesize_%d", time.Now().UnixNano())
		defer db.Exec("DROP TABLE IF EXISTS " + table)
		sep := "?"
		if strings.Contains(pgURL, "?") {
			sep = "&"
		}
		opts = append(opts, automation.WithBackend(pgURL+sep+"table="+table))
	default:
		return res, fmt.Errorf("backend %q: want file, file-nometa or postgres", backend)
	}
	e, err := automation.New(opts...)
	if err != nil {
		return res, err
	}
	program := func(ctx *pulumi.Context) error {
		for i := range resources {
			var c struct{ pulumi.ResourceState }
			if err := ctx.RegisterComponentResource("bench:index:Part", fmt.Sprintf("part-%d", i), &c); err != nil {
				return err
			}
		}
		return nil
	}
	up := func(stack string) error {
		r := e.RunOne(ctx, automation.OpUp, automation.Target{Stack: stack, Program: program})
		return r.Err
	}
	// A real first stack: the store's bookkeeping, and the checkpoint the siblings copy.
	if err := up("seed"); err != nil {
		return res, err
	}
	if err := addSiblings(ctx, e, dir, db, table, size, backend != "file-nometa"); err != nil {
		return res, err
	}
	var cli, server []time.Duration
	for i := range runs {
		c0, s0 := benchkit.ChildrenCPUTime(), postgresCPU()
		if err := up(fmt.Sprintf("probe-%d", i)); err != nil {
			return res, err
		}
		cli = append(cli, benchkit.ChildrenCPUTime()-c0)
		server = append(server, postgresCPU()-s0)
	}
	res.cliCPU, res.serverCPU = median(cli), median(server)
	return res, nil
}

// addSiblings copies the seed stack's checkpoint to n stacks, with what Pulumi leaves beside each
// on that backend (a .bak backup; on file://, go-cloud's .attrs for both).
func addSiblings(ctx context.Context, e *automation.Engine, dir string, db *sql.DB, table string, n int, sideFiles bool) error {
	if db == nil {
		stacks := filepath.Join(dir, "state", ".pulumi", "stacks", e.ProjectName())
		seed, err := os.ReadFile(filepath.Join(stacks, "seed.json"))
		if err != nil {
			return err
		}
		attrs, err := os.ReadFile(filepath.Join(stacks, "seed.json.attrs"))
		if err != nil {
			attrs = []byte(`{"user.content_type":"application/octet-stream"}`)
		}
		for i := range n {
			base := filepath.Join(stacks, fmt.Sprintf("sibling-%05d.json", i))
			files := map[string][]byte{base: seed, base + ".bak": seed}
			if sideFiles {
				files[base+".attrs"], files[base+".bak.attrs"] = attrs, attrs
			}
			for name, data := range files {
				if err := os.WriteFile(name, data, 0o600); err != nil {
					return err
				}
			}
		}
		return nil
	}
	var key, doc string
	err := db.QueryRowContext(ctx, "SELECT key, data::text FROM "+table+" WHERE key LIKE '%/.pulumi/stacks/%/seed.json'").Scan(&key, &doc)
	if err != nil {
		return fmt.Errorf("seed row: %w", err)
	}
	var row struct{ Data string }
	if err := json.Unmarshal([]byte(doc), &row); err != nil {
		return err
	}
	if _, err := base64.StdEncoding.DecodeString(row.Data); err != nil {
		return err
	}
	prefix := strings.TrimSuffix(key, "seed.json")
	_, err = db.ExecContext(ctx, "INSERT INTO "+table+" (key, data) SELECT $1 || 'sibling-' || lpad(g::text, 5, '0') || suffix, $2::json "+
		"FROM generate_series(0, $3 - 1) g, (VALUES ('.json'), ('.json.bak')) s(suffix)", prefix, doc, n)
	return err
}

// postgresCPU is the CPU the PostgreSQL server's processes have used so far: the postmaster's own
// and that of the backends it has reaped, plus the live backends'.
func postgresCPU() time.Duration {
	var ticks int64
	entries, _ := os.ReadDir("/proc")
	for _, en := range entries {
		if _, err := strconv.Atoi(en.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", en.Name(), "stat"))
		if err != nil || !strings.Contains(string(b), "(postgres)") {
			continue
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		// fields after "(comm) ": state=0 ppid=1 … utime=11 stime=12 cutime=13 cstime=14
		if len(f) < 15 {
			continue
		}
		for _, i := range []int{11, 12, 13, 14} {
			v, _ := strconv.ParseInt(f[i], 10, 64)
			ticks += v
		}
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
