package importer_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dealercare/dealercare/services/customer/importer"
	"github.com/jackc/pgx/v5"
)

// TestImportBench imports a generated DMS export of 1,000,000 valid rows
// (or DEALERCARE_IMPORT_BENCH_ROWS) and, in the same run against the same
// cluster, loads the same file into a plain table of text columns with
// psql's \copy (pgx CopyFrom of the raw strings when psql is missing): the
// baseline the import's rate is compared with. The import runs twice, with
// one writer and with DEALERCARE_IMPORT_BENCH_WRITERS (default
// importer.DefaultWriters). It is a measurement, so it runs only when
// asked:
//
//	DEALERCARE_IMPORT_BENCH=1 go test -run TestImportBench -v -timeout 30m ./importer/
func TestImportBench(t *testing.T) {
	if os.Getenv("DEALERCARE_IMPORT_BENCH") != "1" {
		t.Skip("set DEALERCARE_IMPORT_BENCH=1 to run the import benchmark")
	}
	n := 1_000_000
	if s := os.Getenv("DEALERCARE_IMPORT_BENCH_ROWS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	batch, _ := strconv.Atoi(os.Getenv("DEALERCARE_IMPORT_BENCH_BATCH"))
	e := newEnv(t)
	ctx := context.Background()

	began := time.Now()
	content := []byte(testCSV(n, 1))
	path := filepath.Join(t.TempDir(), "dms.csv")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("generated %d rows, %.1f MB, in %v", n, float64(len(content))/1e6, time.Since(began).Round(time.Millisecond))

	// Baseline and floor, in a database of their own: the same rows into
	// a plain table of text columns (no indexes, no checks), then from
	// there into the archive's tables with one INSERT ... SELECT each and
	// no validation, encryption or upsert: the floor any importer pays
	// for the archive's indexes, constraints and foreign key.
	other := newEnv(t)
	admin, err := pgx.Connect(ctx, other.db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	checkpoint := func() {
		if _, err := admin.Exec(ctx, "CHECKPOINT"); err != nil {
			t.Fatal(err)
		}
	}
	cols := make([]string, 16)
	for i := range cols {
		cols[i] = "c" + strconv.Itoa(i) + " text"
	}
	if _, err := admin.Exec(ctx, "CREATE TABLE public.bench_plain ("+strings.Join(cols, ", ")+")"); err != nil {
		t.Fatal(err)
	}
	how := "psql \\copy"
	checkpoint()
	began = time.Now()
	if psql, err := exec.LookPath("psql"); err == nil {
		out, err := exec.Command(psql, other.db.AdminURL, "-v", "ON_ERROR_STOP=1", "-c",
			`\copy public.bench_plain FROM '`+path+`' WITH (FORMAT csv, HEADER true)`).CombinedOutput()
		if err != nil {
			t.Fatalf("psql: %v: %s", err, out)
		}
	} else {
		how = "pgx CopyFrom of the raw strings"
		rows, err := csv.NewReader(strings.NewReader(string(content))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		src := make([][]any, 0, len(rows)-1)
		for _, r := range rows[1:] {
			vals := make([]any, len(r))
			for i, v := range r {
				vals[i] = v
			}
			src = append(src, vals)
		}
		names := make([]string, 16)
		for i := range names {
			names[i] = "c" + strconv.Itoa(i)
		}
		if _, err := admin.CopyFrom(ctx, pgx.Identifier{"public", "bench_plain"}, names, pgx.CopyFromRows(src)); err != nil {
			t.Fatal(err)
		}
	}
	baseline := time.Since(began)
	var copied int
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM public.bench_plain").Scan(&copied); err != nil || copied != n {
		t.Fatalf("baseline copied %d rows (%v), want %d", copied, err, n)
	}

	// The importer's own work, with no database: reading, validating,
	// planning and encrypting every row, on one goroutine (the runner's
	// producer does it on one).
	began = time.Now()
	customers, vehicles, err := importer.PrepareFile(content, max(batch, importer.DefaultBatchSize), e.store.IndexIDNumber, e.cipher.Encrypt)
	if err != nil || customers != n || vehicles != n {
		t.Fatalf("prepared %d customers and %d vehicles (%v), want %d each", customers, vehicles, err, n)
	}
	prepare := time.Since(began)

	checkpoint()
	began = time.Now()
	if _, err := admin.Exec(ctx, `SET search_path = customer; SELECT set_config('app.all_dealers', 'on', false);
		INSERT INTO customers (dealer_id, id, kind, name, gender, birthday, mobile, address, id_number_enc, id_number_index,
			source, tier, dms_id, trigger_time, problems)
		SELECT 'D001', ('00000000-0000-7000-8000-' || lpad(to_hex(row_number() OVER ()), 12, '0'))::uuid, 'individual', c1,
			CASE c3 WHEN '男' THEN 'male' ELSE 'female' END, c4::date, '+86' || c2, c6,
			decode(nullif(md5(c5), md5('')), 'hex'), decode(nullif(md5(c5), md5('')), 'hex'), 'import', 'regular', c0,
			c15::timestamptz, '[]'
		FROM public.bench_plain;
		INSERT INTO vehicles (dealer_id, id, customer_id, vin, plate, brand, model, model_year, purchase_date, dms_id)
		SELECT 'D001', ('00000000-0000-7000-9000-' || lpad(to_hex(row_number() OVER ()), 12, '0'))::uuid, c.id, p.c10, p.c11,
			p.c12, p.c13, p.c14::integer, p.c15::date, p.c9
		FROM public.bench_plain p JOIN customers c ON c.dealer_id = 'D001' AND c.dms_id = p.c0`); err != nil {
		t.Fatal(err)
	}
	floor := time.Since(began)

	// copyRows copies the archive's rows, now in place, into new copies of
	// its two tables: with every index, constraint and the foreign key
	// when indexed (the floor of an import in as many sessions), with
	// their primary keys only otherwise (what the rows cost without the
	// indexes the archive's search, duplicate checks and upserts need).
	// Each of sessions sessions takes a share of the customers, then of
	// the vehicles.
	copies := 0
	copyRows := func(indexed bool, sessions int) time.Duration {
		copies++
		c, v := fmt.Sprintf("public.bench_copy%d_c", copies), fmt.Sprintf("public.bench_copy%d_v", copies)
		ddl := `CREATE TABLE ` + c + ` (LIKE customer.customers INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
			ALTER TABLE ` + c + ` ADD PRIMARY KEY (dealer_id, id);
			CREATE TABLE ` + v + ` (LIKE customer.vehicles INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
			ALTER TABLE ` + v + ` ADD PRIMARY KEY (dealer_id, id)`
		if indexed {
			ddl = `CREATE TABLE ` + c + ` (LIKE customer.customers INCLUDING ALL);
				CREATE TABLE ` + v + ` (LIKE customer.vehicles INCLUDING ALL);
				ALTER TABLE ` + v + ` ADD FOREIGN KEY (dealer_id, customer_id) REFERENCES ` + c + ` (dealer_id, id)`
		}
		if _, err := admin.Exec(ctx, ddl); err != nil {
			t.Fatal(err)
		}
		const cCols = `dealer_id, id, kind, name, gender, birthday, mobile, address, id_number_enc, id_number_index, source, tier, dms_id, trigger_time, problems`
		const vCols = `dealer_id, id, customer_id, vin, plate, brand, model, model_year, purchase_date, dms_id`
		conns := make([]*pgx.Conn, sessions)
		for i := range conns {
			if conns[i], err = pgx.Connect(ctx, other.db.AdminURL); err != nil {
				t.Fatal(err)
			}
			defer conns[i].Close(ctx)
		}
		checkpoint()
		began := time.Now()
		for _, table := range []struct{ to, from, cols string }{{c, "customers", cCols}, {v, "vehicles", vCols}} {
			var wg sync.WaitGroup
			for i, conn := range conns {
				wg.Go(func() {
					if _, err := conn.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (%s) SELECT %s FROM customer.%s WHERE abs(hashtext(id::text)) %% %d = %d`,
						table.to, table.cols, table.cols, table.from, sessions, i)); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
		}
		return time.Since(began)
	}
	bare := copyRows(false, 1)

	// The import, from upload to the last batch's commit: with one writer,
	// then (into a database of its own, so both start empty) with the
	// runner's default or DEALERCARE_IMPORT_BENCH_WRITERS writers.
	writers := importer.DefaultWriters
	if s := os.Getenv("DEALERCARE_IMPORT_BENCH_WRITERS"); s != "" {
		if writers, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	floor1, floorN := copyRows(true, 1), copyRows(true, writers)
	importRun := func(e *env, writers int) (*importer.Import, time.Duration, time.Duration) {
		checkpoint()
		began := time.Now()
		imp, err := e.svc.CreateImport(agentOf("D001"), "D001", "dms.csv", content, "")
		if err != nil {
			t.Fatal(err)
		}
		stored := time.Since(began)
		done := e.runUntilDone(t, "D001", imp.ID, importer.RunnerConfig{BatchSize: batch, Writers: writers})
		return done, time.Since(began), stored
	}
	single, took1, stored1 := importRun(newEnv(t), 1)
	wantCounts(t, single, n, n, 0, 0, 0)
	done, took, stored := importRun(e, writers)
	wantCounts(t, done, n, n, 0, 0, 0)

	baseRate, floorRate, rate1, rate := float64(n)/baseline.Seconds(), float64(n)/floor.Seconds(), float64(n)/took1.Seconds(), float64(n)/took.Seconds()
	t.Logf("baseline (%s into a plain table): %v, %.0f rows/s", how, baseline.Round(time.Millisecond), baseRate)
	t.Logf("floor (one INSERT ... SELECT from that table into customers + vehicles): %v, %.0f rows/s", floor.Round(time.Millisecond), floorRate)
	t.Logf("the importer's own work, no database (read, validate, plan, encrypt; one goroutine): %v, %.0f rows/s, %.3f of the baseline",
		prepare.Round(time.Millisecond), float64(n)/prepare.Seconds(), float64(n)/prepare.Seconds()/baseRate)
	t.Logf("rows alone (the same rows into copies of customers + vehicles with primary keys only): %v, %.0f rows/s, %.3f of the baseline",
		bare.Round(time.Millisecond), float64(n)/bare.Seconds(), float64(n)/bare.Seconds()/baseRate)
	t.Logf("import, 1 writer (customers + vehicles, upsert, validation, encryption; upload took %v): %v, %.0f rows/s",
		stored1.Round(time.Millisecond), took1.Round(time.Millisecond), rate1)
	t.Logf("import, %d writers (upload took %v): %v, %.0f rows/s, %.2f× one writer",
		writers, stored.Round(time.Millisecond), took.Round(time.Millisecond), rate, rate/rate1)
	t.Logf("ratio to the baseline: import %.3f (1 writer %.3f), floor %.3f; import/floor: %.3f (1 writer %.3f)",
		rate/baseRate, rate1/baseRate, floorRate/baseRate, rate/floorRate, rate1/floorRate)
	t.Logf("the archive's rows into indexed copies of its tables: 1 session %v, %d sessions %v (%.2f×); import/that floor: 1 writer %.3f, %d writers %.3f",
		floor1.Round(time.Millisecond), writers, floorN.Round(time.Millisecond), floor1.Seconds()/floorN.Seconds(),
		floor1.Seconds()/took1.Seconds(), writers, floorN.Seconds()/took.Seconds())

	// Re-importing the same file: every row unchanged.
	checkpoint()
	began = time.Now()
	imp2, err := e.svc.CreateImport(agentOf("D001"), "D001", "dms.csv", content, "")
	if err != nil {
		t.Fatal(err)
	}
	again := e.runUntilDone(t, "D001", imp2.ID, importer.RunnerConfig{BatchSize: batch, Writers: writers})
	wantCounts(t, again, n, 0, 0, n, 0)
	t.Logf("re-import (all unchanged): %v, %.0f rows/s", time.Since(began).Round(time.Millisecond), float64(n)/time.Since(began).Seconds())
}
