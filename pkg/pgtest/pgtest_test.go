package pgtest_test

import (
	"context"
	"os"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dealercare/dealercare/pkg/pgtest"
)

var migrations = fstest.MapFS{
	"0001_things.sql": {Data: []byte("CREATE TABLE things (id int PRIMARY KEY);")},
}

func TestNew(t *testing.T) {
	ctx := context.Background()
	var name string
	t.Run("use", func(t *testing.T) {
		start := time.Now()
		db := pgtest.New(t, "svc", migrations)
		t.Logf("pgtest.New took %s", time.Since(start))
		name = db.Name

		var user, dbName string
		if err := db.Pool.QueryRow(ctx, "SELECT current_user, current_database()").Scan(&user, &dbName); err != nil {
			t.Fatal(err)
		}
		if user != pgtest.AppRole || dbName != db.Name {
			t.Errorf("pool connected as %s to %s, want %s to %s", user, dbName, pgtest.AppRole, db.Name)
		}
		if _, err := db.Pool.Exec(ctx, "INSERT INTO svc.things VALUES (1)"); err != nil {
			t.Errorf("app role cannot use the migrated table: %v", err)
		}

		// A connection the test forgets to close must not block the drop.
		if _, err := pgx.Connect(ctx, db.AppURL); err != nil {
			t.Fatal(err)
		}
	})

	admin := adminConn(t)
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %s still exists after its test ended", name)
	}
}

func TestNewGivesEachCallItsOwnDatabase(t *testing.T) {
	t.Parallel()
	a := pgtest.New(t, "svc", migrations)
	b := pgtest.New(t, "svc", migrations)
	if a.Name == b.Name {
		t.Fatalf("both calls got database %s", a.Name)
	}
	if _, err := a.Pool.Exec(context.Background(), "INSERT INTO svc.things VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.Pool.QueryRow(context.Background(), "SELECT count(*) FROM svc.things").Scan(&n); err != nil || n != 0 {
		t.Errorf("second database sees %d rows (%v), want 0", n, err)
	}
}

func TestNewParallel(t *testing.T) {
	// Parallel callers share the cluster-wide roles.
	for range 8 {
		t.Run("", func(t *testing.T) {
			t.Parallel()
			pgtest.New(t, "svc", migrations)
		})
	}
}

func adminConn(t *testing.T) *pgx.Conn {
	t.Helper()
	url := os.Getenv(pgtest.EnvURL)
	if url == "" {
		t.Skip(pgtest.EnvURL + " not set")
	}
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// recorder stands in for a test to observe New's skip or failure.
type recorder struct {
	testing.TB
	skipped, failed bool
}

type stop struct{}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(string, ...any) {
	r.skipped = true
	panic(stop{})
}
func (r *recorder) Fatalf(string, ...any) {
	r.failed = true
	panic(stop{})
}

func TestNewWithoutDatabase(t *testing.T) {
	run := func(require string) *recorder {
		t.Setenv(pgtest.EnvURL, "")
		t.Setenv(pgtest.EnvRequireIntegration, require)
		r := &recorder{TB: t}
		func() {
			defer func() {
				if p := recover(); p != nil && p != (stop{}) {
					panic(p)
				}
			}()
			pgtest.New(r, "svc", nil)
		}()
		return r
	}
	if r := run(""); !r.skipped || r.failed {
		t.Errorf("without %s: skipped=%v failed=%v, want a skip", pgtest.EnvURL, r.skipped, r.failed)
	}
	if r := run("1"); r.skipped || !r.failed {
		t.Errorf("with %s=1: skipped=%v failed=%v, want a failure", pgtest.EnvRequireIntegration, r.skipped, r.failed)
	}
}
