package postgres_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dealercare/dealercare/pkg/pgtest"
	"github.com/dealercare/dealercare/pkg/postgres"
)

var complaintMigrations = fstest.MapFS{
	"0001_complaints.sql": file(`CREATE TABLE complaints (
	dealer_id text NOT NULL,
	id        text NOT NULL,
	subject   text NOT NULL,
	PRIMARY KEY (dealer_id, id)
);
` + postgres.TenantPolicySQL("complaints")),
}

// newComplaints returns a database with complaints of dealers D1, D2, D3.
func newComplaints(t *testing.T) *pgtest.DB {
	t.Helper()
	db := pgtest.New(t, "svc", complaintMigrations)
	err := postgres.InTx(context.Background(), db.Pool, postgres.AllDealers(), func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `INSERT INTO svc.complaints VALUES
			('D1', 'c1', 'noise'), ('D1', 'c2', 'paint'), ('D2', 'c1', 'brakes'), ('D3', 'c1', 'wait')`)
		return err
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	return db
}

// visible lists dealer/id of the complaints q sees.
func visible(t *testing.T, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) []string {
	t.Helper()
	rows, _ := q.Query(context.Background(), "SELECT dealer_id || '/' || id FROM svc.complaints ORDER BY 1")
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func visibleIn(t *testing.T, db *pgtest.DB, scope postgres.Scope) []string {
	t.Helper()
	var got []string
	err := postgres.InReadOnlyTx(context.Background(), db.Pool, scope, func(tx pgx.Tx) error {
		got = visible(t, tx)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestRowLevelSecurityReads(t *testing.T) {
	t.Parallel()
	db := newComplaints(t)
	tests := []struct {
		name  string
		scope postgres.Scope
		want  []string
	}{
		{"dealer", postgres.Dealers("D1"), []string{"D1/c1", "D1/c2"}},
		{"region", postgres.Dealers("D1", "D3"), []string{"D1/c1", "D1/c2", "D3/c1"}},
		{"HQ", postgres.AllDealers(), []string{"D1/c1", "D1/c2", "D2/c1", "D3/c1"}},
		{"unknown dealer", postgres.Dealers("D9"), nil},
		{"region without dealers", postgres.Dealers(), nil},
		{"zero scope", postgres.Scope{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := visibleIn(t, db, tt.scope); !slices.Equal(got, tt.want) {
				t.Errorf("visible in %v = %v, want %v", tt.scope, got, tt.want)
			}
		})
	}

	// Outside InTx nothing is set, so nothing is visible.
	if got := visible(t, db.Pool); len(got) != 0 {
		t.Errorf("visible without scope = %v, want none", got)
	}
}

func TestRowLevelSecurityWrites(t *testing.T) {
	t.Parallel()
	db := newComplaints(t)
	ctx := context.Background()
	d1 := postgres.Dealers("D1")

	exec := func(scope postgres.Scope, sql string) (int64, error) {
		var n int64
		err := postgres.InTx(ctx, db.Pool, scope, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, sql)
			n = tag.RowsAffected()
			return err
		})
		return n, err
	}

	if _, err := exec(d1, "INSERT INTO svc.complaints VALUES ('D2', 'c9', 'smuggled')"); !isCode(err, "42501") {
		t.Errorf("D1 inserting a D2 row: err = %v, want row-level security violation (42501)", err)
	}
	if _, err := exec(d1, "UPDATE svc.complaints SET dealer_id = 'D2' WHERE id = 'c2'"); !isCode(err, "42501") {
		t.Errorf("D1 moving its row to D2: err = %v, want 42501", err)
	}
	if n, err := exec(d1, "UPDATE svc.complaints SET subject = 'hijacked' WHERE dealer_id = 'D2'"); err != nil || n != 0 {
		t.Errorf("D1 updating D2 rows: %d rows, %v; want 0 rows", n, err)
	}
	if n, err := exec(d1, "DELETE FROM svc.complaints WHERE dealer_id = 'D2'"); err != nil || n != 0 {
		t.Errorf("D1 deleting D2 rows: %d rows, %v; want 0 rows", n, err)
	}
	if n, err := exec(postgres.Scope{}, "DELETE FROM svc.complaints"); err != nil || n != 0 {
		t.Errorf("delete with no scope: %d rows, %v; want 0 rows", n, err)
	}
	if _, err := db.Pool.Exec(ctx, "INSERT INTO svc.complaints VALUES ('D1', 'c8', 'no scope')"); !isCode(err, "42501") {
		t.Errorf("insert outside InTx: err = %v, want 42501", err)
	}

	// D1's own rows stay writable.
	if _, err := exec(d1, "INSERT INTO svc.complaints VALUES ('D1', 'c3', 'new')"); err != nil {
		t.Errorf("D1 inserting its own row: %v", err)
	}
	if n, err := exec(d1, "UPDATE svc.complaints SET subject = 'fixed'"); err != nil || n != 3 {
		t.Errorf("D1 updating everything it sees: %d rows, %v; want its 3 rows", n, err)
	}

	var d2subject string
	err := postgres.InTx(ctx, db.Pool, postgres.AllDealers(), func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT subject FROM svc.complaints WHERE dealer_id = 'D2'").Scan(&d2subject)
	})
	if err != nil || d2subject != "brakes" {
		t.Errorf("D2 row after D1's attempts: %q, %v; want it untouched", d2subject, err)
	}
	if got := visibleIn(t, db, postgres.AllDealers()); len(got) != 5 {
		t.Errorf("rows = %v, want the 4 seeded and D1/c3", got)
	}
}

func TestScopeIsTransactionLocal(t *testing.T) {
	t.Parallel()
	db := newComplaints(t)
	ctx := context.Background()
	// One connection, so the second transaction reuses the first one's
	// session: it must not inherit the scope.
	pool, err := postgres.Open(ctx, postgres.Config{URL: db.AppURL, MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	var pid1, pid2 int
	var inside []string
	err = postgres.InTx(ctx, pool, postgres.AllDealers(), func(tx pgx.Tx) error {
		inside = visible(t, tx)
		return tx.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid1)
	})
	if err != nil || len(inside) != 4 {
		t.Fatalf("inside AllDealers: %v, %v", inside, err)
	}

	var dealerIDs, all string
	var after []string
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		after = visible(t, tx)
		return tx.QueryRow(ctx, `SELECT pg_backend_pid(), coalesce(current_setting('app.dealer_ids', true), '<null>'),
			coalesce(current_setting('app.all_dealers', true), '<null>')`).Scan(&pid2, &dealerIDs, &all)
	})
	if err != nil {
		t.Fatal(err)
	}
	if pid1 != pid2 {
		t.Fatalf("backend pids %d and %d: the test needs one pooled connection", pid1, pid2)
	}
	if len(after) != 0 || all == "on" {
		t.Errorf("next transaction on the same connection sees %v (app.all_dealers=%q, app.dealer_ids=%q), want nothing", after, all, dealerIDs)
	}

	// The same holds after a rollback and for a dealer scope.
	_ = postgres.InTx(ctx, pool, postgres.Dealers("D1"), func(pgx.Tx) error { return errors.New("abort") })
	if got := visible(t, pool); len(got) != 0 {
		t.Errorf("after rolled-back D1 transaction, pool sees %v", got)
	}
}

func TestInTxRollsBack(t *testing.T) {
	t.Parallel()
	db := newComplaints(t)
	ctx := context.Background()
	// One connection: a transaction left open would block the next call.
	pool, err := postgres.Open(ctx, postgres.Config{URL: db.AppURL, MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	d1 := postgres.Dealers("D1")
	insert := func(tx pgx.Tx, id string) {
		if _, err := tx.Exec(ctx, "INSERT INTO svc.complaints VALUES ('D1', $1, 'x')", id); err != nil {
			t.Fatal(err)
		}
	}

	boom := errors.New("boom")
	err = postgres.InTx(ctx, pool, d1, func(tx pgx.Tx) error {
		insert(tx, "err")
		return boom
	})
	if err != boom {
		t.Errorf("InTx() = %v, want fn's error unchanged", err)
	}

	func() {
		defer func() {
			if p := recover(); p != "kaboom" {
				t.Errorf("recovered %v, want the panic to continue", p)
			}
		}()
		_ = postgres.InTx(ctx, pool, d1, func(tx pgx.Tx) error {
			insert(tx, "panic")
			panic("kaboom")
		})
	}()

	cancelled, cancel := context.WithCancel(ctx)
	_ = postgres.InTx(cancelled, pool, d1, func(tx pgx.Tx) error {
		insert(tx, "cancel")
		cancel()
		return cancelled.Err()
	})

	timeout, stop := context.WithTimeout(ctx, 5*time.Second)
	defer stop()
	var ids []string
	err = postgres.InReadOnlyTx(timeout, pool, d1, func(tx pgx.Tx) error {
		rows, _ := tx.Query(timeout, "SELECT id FROM svc.complaints ORDER BY id")
		var err error
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatalf("pool unusable after rollbacks: %v", err)
	}
	if !slices.Equal(ids, []string{"c1", "c2"}) {
		t.Errorf("D1 ids = %v, want only the seeded c1, c2", ids)
	}
}

func TestInReadOnlyTxRejectsWrites(t *testing.T) {
	t.Parallel()
	db := newComplaints(t)
	ctx := context.Background()
	err := postgres.InReadOnlyTx(ctx, db.Pool, postgres.Dealers("D1"), func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "DELETE FROM svc.complaints")
		return err
	})
	if !isCode(err, "25006") {
		t.Errorf("write in read-only tx: %v, want read_only_sql_transaction (25006)", err)
	}
}

func TestInTxRejectsMalformedDealerCode(t *testing.T) {
	called := false
	// No database needed: the scope is checked before BEGIN.
	err := postgres.InTx(context.Background(), nil, postgres.Dealers("D1,D2"), func(pgx.Tx) error {
		called = true
		return nil
	})
	if err == nil || called {
		t.Errorf("InTx(Dealers(\"D1,D2\")) = %v, called = %v; want an error before fn", err, called)
	}
	if err := postgres.InTx(context.Background(), nil, postgres.Dealers(""), nil); err == nil {
		t.Error("InTx(Dealers(\"\")) = nil error")
	}
}

func TestTenantPolicySQL(t *testing.T) {
	const pred = `(SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ',')))`
	want := `ALTER TABLE "svc"."complaints" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "svc"."complaints" FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "svc"."complaints"
    USING (` + pred + `)
    WITH CHECK (` + pred + `);
`
	if got := postgres.TenantPolicySQL("svc.complaints"); got != want {
		t.Errorf("TenantPolicySQL() =\n%s\nwant\n%s", got, want)
	}
}

func TestVerifyTenantTables(t *testing.T) {
	t.Parallel()
	migs := withFiles(complaintMigrations, map[string]string{
		"0002_unprotected.sql": `CREATE TABLE visits (dealer_id text, id int);
CREATE TABLE dealers (code text PRIMARY KEY); -- no dealer_id: not a tenant table
CREATE TABLE unforced (dealer_id text);
ALTER TABLE unforced ENABLE ROW LEVEL SECURITY;
CREATE TABLE widened (dealer_id text);
` + postgres.TenantPolicySQL("widened") + `
CREATE POLICY everyone ON widened USING (true);`,
	})
	db := pgtest.New(t, "svc", migs)
	err := postgres.VerifyTenantTables(context.Background(), db.Pool, "svc")
	if err == nil {
		t.Fatal("VerifyTenantTables() = nil, want the unprotected tables reported")
	}
	for _, want := range []string{"svc.visits: row level security not enabled", "svc.unforced: row level security not forced", "svc.widened: has permissive policies"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("VerifyTenantTables() = %v, want it to contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "complaints") || strings.Contains(err.Error(), "dealers") {
		t.Errorf("VerifyTenantTables() = %v, reports a table that is fine", err)
	}

	ok := pgtest.New(t, "svc", complaintMigrations)
	if err := postgres.VerifyTenantTables(context.Background(), ok.Pool, "svc"); err != nil {
		t.Errorf("VerifyTenantTables() on protected schema = %v", err)
	}
}

// withFiles returns base plus extra files.
func withFiles(base fstest.MapFS, extra map[string]string) fstest.MapFS {
	out := maps.Clone(base)
	for k, v := range extra {
		out[k] = file(v)
	}
	return out
}
