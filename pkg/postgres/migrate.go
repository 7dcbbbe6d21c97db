package postgres

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
)

// Migration is one file of a service's migrations.
type Migration struct {
	Version  int64  // the NNNN prefix
	Name     string // the description after the underscore
	File     string // file name, for messages
	SQL      string
	Checksum string // hex SHA-256 of SQL
}

var migrationName = regexp.MustCompile(`^([0-9]+)_([A-Za-z0-9_-]+)\.(?i:sql)$`)

// ReadMigrations lists the NNNN_description.sql files at the root of fsys in
// version order. Other files (a README) are ignored; a .sql file with any
// other name, or two files with one version, is an error rather than a
// migration silently skipped. A nil fsys holds no migrations.
//
// With //go:embed migrations/*.sql, pass fs.Sub(files, "migrations").
func ReadMigrations(fsys fs.FS) ([]Migration, error) {
	if fsys == nil {
		return nil, nil
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var migs []Migration
	seen := map[int64]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(strings.ToLower(e.Name()), ".sql") {
			continue
		}
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql", e.Name())
		}
		v, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: version must be a positive number", e.Name())
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", other, e.Name(), v)
		}
		seen[v] = e.Name()
		body, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		sum := sha256.Sum256(body)
		migs = append(migs, Migration{
			Version: v, Name: m[2], File: e.Name(), SQL: string(body),
			Checksum: hex.EncodeToString(sum[:]),
		})
	}
	slices.SortFunc(migs, func(a, b Migration) int { return cmp.Compare(a.Version, b.Version) })
	return migs, nil
}

// Migrate brings schema up to date with the migrations in fsys (see
// [ReadMigrations]), connecting with ownerURL, which should act as the
// schema's owner role (see [WithRole]), then grants appRole what a service
// needs: USAGE on the schema, SELECT/INSERT/UPDATE/DELETE on its tables,
// USAGE/SELECT on its sequences, the same by default for objects the owner
// creates later, and only SELECT on schema_migrations.
//
// Each migration runs in its own transaction with search_path set to the
// schema and app.all_dealers on (so data fixes see every dealer's rows
// despite FORCE ROW LEVEL SECURITY), and is recorded in
// <schema>.schema_migrations with its checksum. Migration files therefore
// must not contain BEGIN/COMMIT or statements that cannot run in a
// transaction (CREATE INDEX CONCURRENTLY).
//
// Every transaction first takes a transaction-level advisory lock for the
// schema, so replicas starting together apply each migration exactly once.
// Migrate refuses to run if an applied migration's file has changed, or if
// a file is older than the newest applied migration but was never applied
// (a merge that reordered history). Applied versions with no file are
// accepted: a newer release applied them and this one is being rolled back.
// Running it again with the same files changes nothing.
func Migrate(ctx context.Context, ownerURL, schema, appRole string, fsys fs.FS) error {
	if schema == "" {
		return errors.New("migrate: empty schema name")
	}
	if appRole == "" {
		return errors.New("migrate: empty app role")
	}
	migs, err := ReadMigrations(fsys)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", schema, err)
	}
	cc, err := pgx.ParseConfig(ownerURL)
	if err != nil {
		return fmt.Errorf("migrate %s: owner URL: %w", schema, err)
	}
	cc.Tracer = otelpgx.NewTracer()
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return fmt.Errorf("migrate %s: connect: %w", schema, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	m := migrator{conn: conn, schema: schema, ident: pgx.Identifier{schema}.Sanitize(), lockKey: lockKey("dealercare/migrate/" + schema)}
	applied, err := m.prepare(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", schema, err)
	}
	pending, err := pendingMigrations(migs, applied)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", schema, err)
	}
	for _, mig := range pending {
		if err := m.apply(ctx, mig); err != nil {
			return fmt.Errorf("migrate %s: %s: %w", schema, mig.File, err)
		}
	}
	if err := m.grant(ctx, appRole); err != nil {
		return fmt.Errorf("migrate %s: grant to %s: %w", schema, appRole, err)
	}
	return nil
}

type migrator struct {
	conn    *pgx.Conn
	schema  string
	ident   string // quoted schema
	lockKey int64
}

// locked runs fn in a transaction holding the schema's migration lock.
func (m migrator) locked(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, m.conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", m.lockKey); err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		}
		return fn(tx)
	})
}

// prepare creates the schema and the bookkeeping table if missing and
// returns the applied versions' checksums.
func (m migrator) prepare(ctx context.Context) (map[int64]appliedMigration, error) {
	applied := map[int64]appliedMigration{}
	err := m.locked(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+m.ident); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+m.ident+`.schema_migrations (
	version    bigint PRIMARY KEY,
	name       text NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now(),
	checksum   text NOT NULL
)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		rows, err := tx.Query(ctx, "SELECT version, name, checksum FROM "+m.ident+".schema_migrations")
		if err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		var a appliedMigration
		_, err = pgx.ForEachRow(rows, []any{&a.version, &a.name, &a.checksum}, func() error {
			applied[a.version] = a
			return nil
		})
		if err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		return nil
	})
	return applied, err
}

type appliedMigration struct {
	version        int64
	name, checksum string
}

// pendingMigrations checks the applied history against the files and
// returns the files still to apply.
func pendingMigrations(migs []Migration, applied map[int64]appliedMigration) ([]Migration, error) {
	var newest int64
	for v := range applied {
		newest = max(newest, v)
	}
	var pending []Migration
	for _, mig := range migs {
		a, ok := applied[mig.Version]
		switch {
		case ok && a.checksum != mig.Checksum:
			return nil, fmt.Errorf("%w: %s was applied with checksum %s, the file now has %s; add a new migration instead of editing an applied one",
				ErrMigrationChanged, mig.File, a.checksum, mig.Checksum)
		case ok:
		case mig.Version < newest:
			return nil, fmt.Errorf("%w: %s is not applied but version %d already is; renumber it after %d",
				ErrMigrationOutOfOrder, mig.File, newest, newest)
		default:
			pending = append(pending, mig)
		}
	}
	return pending, nil
}

// Migration errors, for errors.Is.
var (
	ErrMigrationChanged    = errors.New("applied migration changed")
	ErrMigrationOutOfOrder = errors.New("migration out of order")
)

// apply runs one migration unless another replica applied it while this one
// waited for the lock.
func (m migrator) apply(ctx context.Context, mig Migration) error {
	return m.locked(ctx, func(tx pgx.Tx) error {
		var sum string
		err := tx.QueryRow(ctx, "SELECT checksum FROM "+m.ident+".schema_migrations WHERE version = $1", mig.Version).Scan(&sum)
		switch {
		case err == nil && sum == mig.Checksum:
			return nil
		case err == nil:
			return fmt.Errorf("%w: applied concurrently with checksum %s, the file has %s", ErrMigrationChanged, sum, mig.Checksum)
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		if _, err := tx.Exec(ctx, "SET LOCAL search_path TO "+m.ident); err != nil {
			return fmt.Errorf("set search_path: %w", err)
		}
		if _, err := tx.Exec(ctx, "SELECT set_config('app.all_dealers', 'on', true)"); err != nil {
			return fmt.Errorf("set app.all_dealers: %w", err)
		}
		if _, err := tx.Exec(ctx, mig.SQL); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO "+m.ident+".schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
			mig.Version, mig.Name, mig.Checksum); err != nil {
			return fmt.Errorf("record: %w", err)
		}
		return nil
	})
}

// grant gives the app role DML rights. It holds the lock too: concurrent
// GRANTs on one object fail with "tuple concurrently updated".
func (m migrator) grant(ctx context.Context, appRole string) error {
	role := pgx.Identifier{appRole}.Sanitize()
	s := m.ident
	return m.locked(ctx, func(tx pgx.Tx) error {
		for _, stmt := range []string{
			"GRANT USAGE ON SCHEMA " + s + " TO " + role,
			"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + s + " TO " + role,
			"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA " + s + " TO " + role,
			"ALTER DEFAULT PRIVILEGES IN SCHEMA " + s + " GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO " + role,
			"ALTER DEFAULT PRIVILEGES IN SCHEMA " + s + " GRANT USAGE, SELECT ON SEQUENCES TO " + role,
			// The service may read its schema version but not rewrite history.
			"REVOKE ALL ON " + s + ".schema_migrations FROM " + role,
			"GRANT SELECT ON " + s + ".schema_migrations TO " + role,
		} {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
	})
}

// lockKey maps a name to an advisory lock key. Advisory locks are per
// database, so one schema name in two databases never contends.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64())
}
