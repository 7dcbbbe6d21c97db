// Package pgtest gives integration tests a fresh PostgreSQL database per
// call, migrated by the real [postgres.Migrate] and reached through the
// non-owner service role, so row-level security is exercised exactly as in
// production.
//
// Tests need a cluster whose admin URL is in DEALERCARE_TEST_DATABASE_URL,
// e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable. Without
// it they skip, unless DEALERCARE_REQUIRE_INTEGRATION=1 (set in CI) makes
// them fail. A throwaway cluster for tests needs no durability:
//
//	initdb -D DIR -A trust -U postgres
//	pg_ctl -D DIR -o "-p 55432 -k DIR -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off" start
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dealercare/dealercare/pkg/postgres"
)

// Environment variables read by New.
const (
	EnvURL                = "DEALERCARE_TEST_DATABASE_URL"
	EnvRequireIntegration = "DEALERCARE_REQUIRE_INTEGRATION"
)

// Roles New creates once per cluster and reuses.
const (
	OwnerRole   = "dealercare_test_owner"
	AppRole     = "dealercare_test_app"
	appPassword = "dealercare_test_app"
)

// setupTimeout bounds New's work, so an unreachable server fails the test
// instead of hanging it.
const setupTimeout = 30 * time.Second

// DB is one test database.
type DB struct {
	// Pool connects as AppRole: no superuser, no BYPASSRLS, owns nothing.
	Pool *pgxpool.Pool
	// Name is the database's name.
	Name string
	// Schema is the schema the migrations were applied to.
	Schema string
	// AdminURL connects to this database as the admin (superuser).
	AdminURL string
	// OwnerURL connects as the admin acting as OwnerRole, as Migrate does.
	// Row-level security is forced, so it too sees rows only inside a scope.
	OwnerURL string
	// AppURL connects as AppRole, for tests that need their own pool.
	AppURL string
}

// AppPool opens a pool of its own as AppRole with Schema on the search
// path (what a service's store expects), closed when the test ends. cfg
// may set the pool's size and application name; its URL and an empty
// search path are filled in.
func (db *DB) AppPool(t testing.TB, cfg postgres.Config) *pgxpool.Pool {
	t.Helper()
	cfg.URL = db.AppURL
	if cfg.SearchPath == "" {
		cfg.SearchPath = db.Schema
	}
	pool, err := postgres.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("pgtest: open an app-role pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// NewFrom is New with the migrations of a service's postgres package
// (its Migrations function).
func NewFrom(t testing.TB, schema string, migrations func() (fs.FS, error)) *DB {
	t.Helper()
	fsys, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	return New(t, schema, fsys)
}

// New creates a uniquely named database, ensures the test roles, applies
// migrations (NNNN_description.sql files at the root of the FS; nil for
// none) to schema, and opens Pool as the app role. The database is dropped,
// with any connections still open, when the test ends.
func New(t testing.TB, schema string, migrations fs.FS) *DB {
	t.Helper()
	adminURL := os.Getenv(EnvURL)
	if adminURL == "" {
		if os.Getenv(EnvRequireIntegration) == "1" {
			t.Fatalf("pgtest: %s is not set but %s=1", EnvURL, EnvRequireIntegration)
		}
		t.Skipf("pgtest: set %s to an admin URL of a PostgreSQL cluster to run this integration test", EnvURL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()

	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", EnvURL, err)
	}
	defer admin.Close(context.Background())

	name := databaseName(t.Name())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE template0"); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() { dropDatabase(t, adminURL, name) })

	db := &DB{Name: name, Schema: schema}
	if db.AdminURL, err = postgres.WithDatabase(adminURL, name); err != nil {
		t.Fatalf("pgtest: %s: %v", EnvURL, err)
	}
	if db.OwnerURL, err = postgres.WithRole(db.AdminURL, OwnerRole); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if db.AppURL, err = postgres.WithUser(db.AdminURL, AppRole, appPassword); err != nil {
		t.Fatalf("pgtest: %v", err)
	}

	// Roles are cluster-wide and concurrent ALTER ROLEs fail, so every test
	// process serializes here on a lock in the admin database they share.
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock(hashtext('dealercare/pgtest/roles'))"); err != nil {
		t.Fatalf("pgtest: lock roles: %v", err)
	}
	err = postgres.EnsureRoles(ctx, db.AdminURL, OwnerRole, AppRole, appPassword)
	if _, uerr := admin.Exec(ctx, "SELECT pg_advisory_unlock(hashtext('dealercare/pgtest/roles'))"); uerr != nil && err == nil {
		err = uerr
	}
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}

	if err := postgres.Migrate(ctx, db.OwnerURL, schema, AppRole, migrations); err != nil {
		t.Fatalf("pgtest: %v", err)
	}

	db.Pool, err = postgres.Open(ctx, postgres.Config{URL: db.AppURL, MaxConns: 4, ApplicationName: "pgtest"})
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(db.Pool.Close) // Runs before the drop: cleanups are LIFO.
	if err := postgres.VerifyServiceRole(ctx, db.Pool, schema); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return db
}

// dropDatabase drops name, ending sessions a test left open.
func dropDatabase(t testing.TB, adminURL, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Errorf("pgtest: drop database %s: connect: %v", name, err)
		return
	}
	defer admin.Close(ctx)
	// WITH (FORCE) terminates the database's other sessions first.
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Errorf("pgtest: drop database %s: %v", name, err)
	}
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

// databaseName is unique, fits PostgreSQL's 63-byte limit, and starts with
// the test's name so a database left by a killed run can be traced.
func databaseName(testName string) string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // Never fails since Go 1.24.
	slug := strings.Trim(nonWord.ReplaceAllString(strings.ToLower(testName), "_"), "_")
	if len(slug) > 36 {
		slug = slug[:36]
	}
	return fmt.Sprintf("dctest_%s_%s", slug, hex.EncodeToString(b[:]))
}

// ChangesReady calls read until it answers at least n changes, or a minute
// has passed, and returns its last answer. A change feed hands out only
// what lies below the oldest transaction still open in the whole cluster
// (pg_snapshot_xmin), and the tests of other packages sharing the cluster
// hold that horizon back for a moment: a change is delayed, never lost.
func ChangesReady[T any](t testing.TB, n int, read func() ([]T, bool, error)) ([]T, bool, error) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		got, more, err := read()
		if err != nil || len(got) >= n || time.Now().After(deadline) {
			return got, more, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
