package idempotency_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/idempotency"
	"github.com/dealercare/dealercare/pkg/outbox"
	"github.com/dealercare/dealercare/pkg/pgtest"
	pg "github.com/dealercare/dealercare/pkg/postgres"
)

const thingsSQL = `CREATE TABLE things (dealer_id text NOT NULL, id text NOT NULL, name text NOT NULL, PRIMARY KEY (dealer_id, id));
` + `ALTER TABLE "things" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "things" FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "things"
    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));
`

func newDB(t *testing.T) (*pgtest.DB, *pgxpool.Pool) {
	t.Helper()
	db := pgtest.New(t, "idem", fstest.MapFS{
		"0001_things.sql":      {Data: []byte(thingsSQL)},
		"0082_idempotency.sql": {Data: []byte(idempotency.Migration)},
	})
	return db, db.AppPool(t, pg.Config{})
}

// keyed is the context the Interceptor gives a call of method with req,
// key and caller.
func keyed(t *testing.T, key, caller, method, name string) context.Context {
	t.Helper()
	var got context.Context
	md := metadata.Pairs(idempotency.MetadataKey, key)
	ctx := metadata.NewIncomingContext(auth.NewContextWithPrincipal(context.Background(), &auth.Principal{Subject: caller}), md)
	req, _ := structpb.NewStruct(map[string]any{"name": name})
	_, err := idempotency.Interceptor()(ctx, req, &grpc.UnaryServerInfo{FullMethod: method}, func(ctx context.Context, _ any) (any, error) {
		got = ctx
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// create is a store's create: one row of things, once per key.
func create(ctx context.Context, pool *pgxpool.Pool, dealer, name string, writes *int) (string, bool, error) {
	var id string
	var repeated bool
	err := pg.InTx(ctx, pool, pg.Dealers(dealer), func(tx pgx.Tx) (err error) {
		id, repeated, err = idempotency.Once(ctx, tx, dealer, func() (string, error) {
			*writes++
			id := outbox.NewID()
			_, err := tx.Exec(ctx, `INSERT INTO things (dealer_id, id, name) VALUES ($1, $2, $3)`, dealer, id, name)
			return id, err
		})
		return err
	})
	return id, repeated, err
}

func count(t *testing.T, pool *pgxpool.Pool, dealer string) int {
	t.Helper()
	var n int
	if err := pg.InTx(context.Background(), pool, pg.Dealers(dealer), func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM things`).Scan(&n)
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOnceCommitsOnePerKey(t *testing.T) {
	db, pool := newDB(t)
	if err := pg.VerifyTenantTables(context.Background(), pool, db.Schema); err != nil {
		t.Fatal(err)
	}
	const method = "/dealercare.test.v1.Things/CreateThing"
	writes := 0

	// Without a key every call writes.
	for range 2 {
		if _, _, err := create(context.Background(), pool, "D1", "plain", &writes); err != nil {
			t.Fatal(err)
		}
	}
	if writes != 2 || count(t, pool, "D1") != 2 {
		t.Fatalf("without a key: %d writes, %d rows, want 2 and 2", writes, count(t, pool, "D1"))
	}

	// With a key the first call writes and the retry gets its id.
	ctx := keyed(t, "k-1", "alice", method, "a")
	first, repeated, err := create(ctx, pool, "D1", "a", &writes)
	if err != nil || repeated {
		t.Fatalf("first keyed call: %v, repeated %v", err, repeated)
	}
	again, repeated, err := create(keyed(t, "k-1", "alice", method, "a"), pool, "D1", "a", &writes)
	if err != nil || !repeated || again != first {
		t.Fatalf("retry: id %q repeated %v err %v, want %q true nil", again, repeated, err, first)
	}
	if writes != 3 || count(t, pool, "D1") != 3 {
		t.Fatalf("after the retry: %d writes, %d rows, want 3 and 3", writes, count(t, pool, "D1"))
	}

	// The same key with another body or method is a conflict naming the key.
	for _, ctx := range []context.Context{keyed(t, "k-1", "alice", method, "b"), keyed(t, "k-1", "alice", "/dealercare.test.v1.Things/Other", "a")} {
		_, _, err = create(ctx, pool, "D1", "b", &writes)
		if e, ok := apperr.As(err); !ok || e.Code != apperr.ECONFLICT || e.Message != `Idempotency-Key "k-1" was already used with a different request` {
			t.Fatalf("reused key: %v, want a conflict naming Idempotency-Key", err)
		}
	}
	// Another caller's key, or the key at another dealer, is its own.
	for _, c := range []struct{ caller, dealer string }{{"bob", "D1"}, {"alice", "D2"}} {
		if _, repeated, err := create(keyed(t, "k-1", c.caller, method, "a"), pool, c.dealer, "a", &writes); err != nil || repeated {
			t.Fatalf("%s at %s: %v, repeated %v", c.caller, c.dealer, err, repeated)
		}
	}
	if writes != 5 {
		t.Fatalf("%d writes, want 5", writes)
	}
	// Dealer D2 cannot see D1's records (RLS).
	var n int
	if err := pg.InTx(context.Background(), pool, pg.Dealers("D2"), func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM idempotency_records WHERE dealer_id = 'D1'`).Scan(&n)
	}); err != nil || n != 0 {
		t.Fatalf("D2 sees %d of D1's records (%v)", n, err)
	}
}

func TestOnceConcurrentRetryRollsBack(t *testing.T) {
	_, pool := newDB(t)
	const method = "/dealercare.test.v1.Things/CreateThing"
	ctx := keyed(t, "k-2", "alice", method, "a")
	tx1, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx1.Rollback(context.Background())
	if _, err := tx1.Exec(ctx, "SELECT set_config('app.dealer_ids', 'D1', true)"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := idempotency.Once(ctx, tx1, "D1", func() (string, error) {
		_, err := tx1.Exec(ctx, `INSERT INTO things (dealer_id, id, name) VALUES ('D1', 'x1', 'a')`)
		return "x1", err
	}); err != nil {
		t.Fatal(err)
	}
	// A second run of the same keyed request while the first is not
	// committed: it waits in Remember, then must roll back.
	done := make(chan error, 1)
	writes := 0
	go func() {
		_, _, err := create(ctx, pool, "D1", "a", &writes)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the second run did not wait for the first: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	if err := tx1.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	err = <-done
	if !errors.Is(err, idempotency.ErrInProgress) || apperr.Code(err) != apperr.EUNAVAILABLE {
		t.Fatalf("second run: %v, want EUNAVAILABLE ErrInProgress", err)
	}
	if n := count(t, pool, "D1"); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
	// Its retry gets the first one's id.
	id, repeated, err := create(ctx, pool, "D1", "a", &writes)
	if err != nil || !repeated || id != "x1" {
		t.Fatalf("retry: %q %v %v, want x1 true nil", id, repeated, err)
	}
}

func TestExpiredRecordsAreReplacedAndSwept(t *testing.T) {
	db, pool := newDB(t)
	const method = "/dealercare.test.v1.Things/CreateThing"
	writes := 0
	for i := range 30 {
		if _, _, err := create(keyed(t, fmt.Sprintf("old-%d", i), "alice", method, "a"), pool, "D1", "a", &writes); err != nil {
			t.Fatal(err)
		}
	}
	admin, err := pgx.Connect(context.Background(), db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(context.Background(), `UPDATE idem.idempotency_records SET expire_time = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	// An expired key is a new request: it writes again and its record is
	// replaced; the call also sweeps a batch of expired records.
	if _, repeated, err := create(keyed(t, "old-0", "alice", method, "other"), pool, "D1", "other", &writes); err != nil || repeated {
		t.Fatalf("expired key: %v, repeated %v", err, repeated)
	}
	var live, all int
	if err := admin.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE expire_time > now()), count(*) FROM idem.idempotency_records`).Scan(&live, &all); err != nil {
		t.Fatal(err)
	}
	if live != 1 || all != 30-20+1 {
		t.Fatalf("%d live and %d records, want 1 and 11 (20 of 30 swept, 1 new)", live, all)
	}
}

func TestInterceptorRefusesBadKeys(t *testing.T) {
	p := auth.NewContextWithPrincipal(context.Background(), &auth.Principal{Subject: "alice"})
	req, _ := structpb.NewStruct(nil)
	for _, md := range []metadata.MD{
		metadata.Pairs(idempotency.MetadataKey, ""),
		metadata.Pairs(idempotency.MetadataKey, "a", idempotency.MetadataKey, "b"),
		metadata.Pairs(idempotency.MetadataKey, "caf\xc3\xa9"),
	} {
		_, err := idempotency.Interceptor()(metadata.NewIncomingContext(p, md), req, &grpc.UnaryServerInfo{FullMethod: "/x/Y"},
			func(context.Context, any) (any, error) { return nil, nil })
		e, ok := apperr.As(err)
		if !ok || e.Code != apperr.EINVALID || len(e.Violations) != 1 || e.Violations[0].Field != "Idempotency-Key" {
			t.Errorf("%v: got %v, want an invalid Idempotency-Key", md, err)
		}
	}
	// Without the key, or without a principal, nothing is added.
	for _, ctx := range []context.Context{p, metadata.NewIncomingContext(context.Background(), metadata.Pairs(idempotency.MetadataKey, "k"))} {
		_, _ = idempotency.Interceptor()(ctx, req, &grpc.UnaryServerInfo{FullMethod: "/x/Y"}, func(ctx context.Context, _ any) (any, error) {
			if _, ok := idempotency.FromContext(ctx); ok {
				t.Error("a keyed request without key or principal")
			}
			return nil, nil
		})
	}
}

// TestServiceMigrationsAreMigration: each service's copy of the table is
// Migration, byte for byte (the services' tests apply their files).
func TestServiceMigrationsAreMigration(t *testing.T) {
	files, err := filepath.Glob("../../services/*/postgres/migrations/*_idempotency.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("found %v, want the customer, callback, complaint and evaluation migrations", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != idempotency.Migration {
			t.Errorf("%s differs from idempotency.Migration", f)
		}
	}
}
