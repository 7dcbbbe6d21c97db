package postgres_test

import (
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dealercare/dealercare/pkg/pgtest"
	"github.com/dealercare/dealercare/pkg/postgres"
)

func file(sql string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(sql)} }

func TestReadMigrations(t *testing.T) {
	migs, err := postgres.ReadMigrations(fstest.MapFS{
		"0010_later.sql":      file("SELECT 10"),
		"0002_second.sql":     file("SELECT 2"),
		"0001_first.sql":      file("SELECT 1"),
		"README.md":           file("not a migration"),
		"fixtures/0003_x.sql": file("in a subdirectory: ignored"),
		"0003_upper-Case.SQL": file("SELECT 3"),
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range migs {
		got = append(got, m.Name)
	}
	if want := "first second upper-Case later"; strings.Join(got, " ") != want {
		t.Errorf("order = %v, want %s", got, want)
	}

	for name, fsys := range map[string]fstest.MapFS{
		"no description": {"0001.sql": file("")},
		"no number":      {"init.sql": file("")},
		"duplicate":      {"0001_a.sql": file(""), "1_b.sql": file("")},
		"zero version":   {"0000_a.sql": file("")},
		"space in name":  {"0001_a b.sql": file("")},
	} {
		if _, err := postgres.ReadMigrations(fsys); err == nil {
			t.Errorf("%s: ReadMigrations() = nil error", name)
		}
	}
}

var baseMigrations = fstest.MapFS{
	"0001_create_dealers.sql": file(`CREATE TABLE dealers (code text PRIMARY KEY, name text NOT NULL);`),
	"0002_seed.sql":           file(`INSERT INTO dealers VALUES ('D1', 'First'); INSERT INTO dealers VALUES ('D2', 'Second');`),
	"0003_add_region.sql":     file(`ALTER TABLE dealers ADD COLUMN region text; CREATE SEQUENCE ticket_no;`),
}

func TestMigrateAppliesInOrderAndIsIdempotent(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, "svc", baseMigrations)
	ctx := context.Background()

	type row struct {
		Version   int64
		Name      string
		AppliedAt time.Time
		Checksum  string
	}
	history := func() []row {
		t.Helper()
		rows, _ := db.Pool.Query(ctx, "SELECT version, name, applied_at, checksum FROM svc.schema_migrations ORDER BY version")
		got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	first := history()
	if len(first) != 3 || first[0].Name != "create_dealers" || first[2].Version != 3 || len(first[0].Checksum) != 64 {
		t.Fatalf("schema_migrations = %+v", first)
	}

	// The app role got DML on tables created by the migrations and on the
	// sequence, in the migrations' schema (search_path), but may not rewrite
	// history.
	if _, err := db.Pool.Exec(ctx, "UPDATE svc.dealers SET region = 'North' WHERE code = 'D1'"); err != nil {
		t.Errorf("app role update: %v", err)
	}
	if _, err := db.Pool.Exec(ctx, "SELECT nextval('svc.ticket_no')"); err != nil {
		t.Errorf("app role nextval: %v", err)
	}
	if _, err := db.Pool.Exec(ctx, "DELETE FROM svc.schema_migrations"); !isCode(err, "42501") {
		t.Errorf("app role delete from schema_migrations: err = %v, want insufficient_privilege", err)
	}
	if _, err := db.Pool.Exec(ctx, "CREATE TABLE svc.intruder (x int)"); !isCode(err, "42501") {
		t.Errorf("app role create table: err = %v, want insufficient_privilege", err)
	}

	if err := postgres.Migrate(ctx, db.OwnerURL, "svc", pgtest.AppRole, baseMigrations); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if again := history(); len(again) != 3 || !again[2].AppliedAt.Equal(first[2].AppliedAt) {
		t.Errorf("second Migrate changed history: %+v, was %+v", again, first)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM svc.dealers").Scan(&n); err != nil || n != 2 {
		t.Errorf("dealers = %d, %v; want the seed applied once", n, err)
	}

	// A later migration adds a table; the app role can use it at once.
	more := maps.Clone(baseMigrations)
	more["0004_notes.sql"] = file(`CREATE TABLE notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text);`)
	if err := postgres.Migrate(ctx, db.OwnerURL, "svc", pgtest.AppRole, more); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, "INSERT INTO svc.notes (body) VALUES ('hi')"); err != nil {
		t.Errorf("app role insert into new table: %v", err)
	}

	// Tables belong to the owner role, not the admin that connected.
	var owner string
	if err := db.Pool.QueryRow(ctx, "SELECT tableowner FROM pg_tables WHERE schemaname = 'svc' AND tablename = 'notes'").Scan(&owner); err != nil || owner != pgtest.OwnerRole {
		t.Errorf("owner of svc.notes = %q, %v; want %s", owner, err, pgtest.OwnerRole)
	}
}

func TestMigrateRefusesChangedMigration(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, "svc", baseMigrations)
	changed := maps.Clone(baseMigrations)
	changed["0002_seed.sql"] = file(`INSERT INTO dealers VALUES ('D3', 'Edited after the fact');`)
	changed["0004_more.sql"] = file(`CREATE TABLE more (x int);`)

	err := postgres.Migrate(context.Background(), db.OwnerURL, "svc", pgtest.AppRole, changed)
	if !errors.Is(err, postgres.ErrMigrationChanged) || !strings.Contains(err.Error(), "0002_seed.sql") {
		t.Fatalf("Migrate() = %v, want ErrMigrationChanged naming 0002_seed.sql", err)
	}
	if tableExists(t, db, "svc", "more") {
		t.Error("0004 was applied although history was inconsistent")
	}
}

func TestMigrateRefusesOutOfOrderAndAcceptsNewerDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t, "svc", fstest.MapFS{
		"0001_a.sql": file("CREATE TABLE a (x int);"),
		"0003_c.sql": file("CREATE TABLE c (x int);"),
	})
	gap := fstest.MapFS{
		"0001_a.sql": file("CREATE TABLE a (x int);"),
		"0002_b.sql": file("CREATE TABLE b (x int);"),
		"0003_c.sql": file("CREATE TABLE c (x int);"),
	}
	if err := postgres.Migrate(ctx, db.OwnerURL, "svc", pgtest.AppRole, gap); !errors.Is(err, postgres.ErrMigrationOutOfOrder) {
		t.Errorf("Migrate() with a gap filled = %v, want ErrMigrationOutOfOrder", err)
	}
	// The previous release, without 0003, still starts.
	old := fstest.MapFS{"0001_a.sql": file("CREATE TABLE a (x int);")}
	if err := postgres.Migrate(ctx, db.OwnerURL, "svc", pgtest.AppRole, old); err != nil {
		t.Errorf("Migrate() of an older release = %v", err)
	}
}

func TestMigrateFailureRollsBackThatMigrationOnly(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, "base", nil)
	migs := fstest.MapFS{
		"0001_ok.sql":     file("CREATE TABLE ok (x int);"),
		"0002_broken.sql": file("CREATE TABLE half (x int); SELECT no_such_function();"),
	}
	err := postgres.Migrate(context.Background(), db.OwnerURL, "svc", pgtest.AppRole, migs)
	if err == nil || !strings.Contains(err.Error(), "0002_broken.sql") {
		t.Fatalf("Migrate() = %v, want an error naming 0002_broken.sql", err)
	}
	if !tableExists(t, db, "svc", "ok") || tableExists(t, db, "svc", "half") {
		t.Error("want 0001 applied and 0002 rolled back entirely")
	}
}

func TestMigrateConcurrentReplicas(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, "base", nil)
	migs := fstest.MapFS{
		"0001_slow.sql":  file("SELECT pg_sleep(0.05); CREATE TABLE counters (n int);"),
		"0002_seed.sql":  file("INSERT INTO counters VALUES (1);"),
		"0003_index.sql": file("CREATE INDEX counters_n ON counters (n);"),
	}
	const replicas = 8
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	for i := range replicas {
		wg.Go(func() {
			errs[i] = postgres.Migrate(context.Background(), db.OwnerURL, "race", pgtest.AppRole, migs)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
	var rows, applied int
	if err := db.Pool.QueryRow(context.Background(),
		"SELECT (SELECT count(*) FROM race.counters), (SELECT count(*) FROM race.schema_migrations)").Scan(&rows, &applied); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || applied != 3 {
		t.Errorf("counters rows = %d, migrations recorded = %d; want each migration applied once", rows, applied)
	}
}

func TestMigrateDataFixSeesAllDealers(t *testing.T) {
	t.Parallel()
	// FORCE ROW LEVEL SECURITY binds the owner too; Migrate opens the scope
	// so a data migration is not silently a no-op.
	migs := fstest.MapFS{
		"0001_tickets.sql": file("CREATE TABLE tickets (dealer_id text, id int, status text, PRIMARY KEY (dealer_id, id));\n" +
			postgres.TenantPolicySQL("tickets")),
	}
	db := pgtest.New(t, "svc", migs)
	ctx := context.Background()
	err := postgres.InTx(ctx, db.Pool, postgres.AllDealers(), func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO svc.tickets VALUES ('D1', 1, 'open'), ('D2', 1, 'open')")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	migs["0002_close_all.sql"] = file("UPDATE tickets SET status = 'closed';")
	if err := postgres.Migrate(ctx, db.OwnerURL, "svc", pgtest.AppRole, migs); err != nil {
		t.Fatal(err)
	}
	var open int
	err = postgres.InTx(ctx, db.Pool, postgres.AllDealers(), func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT count(*) FROM svc.tickets WHERE status = 'open'").Scan(&open)
	})
	if err != nil || open != 0 {
		t.Errorf("open tickets after data fix = %d, %v; want 0", open, err)
	}
}

func tableExists(t *testing.T, db *pgtest.DB, schema, table string) bool {
	t.Helper()
	var ok bool
	if err := db.Pool.QueryRow(context.Background(),
		"SELECT EXISTS (SELECT FROM pg_tables WHERE schemaname = $1 AND tablename = $2)", schema, table).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

func isCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}
