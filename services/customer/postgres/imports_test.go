package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/pgtest"
	"github.com/dealercare/dealercare/pkg/pii"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/customer/archive"
	"github.com/dealercare/dealercare/services/customer/importer"
	"github.com/dealercare/dealercare/services/customer/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// testDB is a migrated customer schema: the service role's pool, the
// database's admin URL and random PII keys.
type testDB struct {
	pool     *pgxpool.Pool
	adminURL string
	cipher   *pii.Cipher
	index    *pii.Index
}

func newTestDB(t *testing.T) testDB {
	t.Helper()
	db := pgtest.NewFrom(t, postgres.Schema, postgres.Migrations)
	pool := db.AppPool(t, pg.Config{})
	keys := pii.NewRandomKeys()
	cipher, err := keys.Cipher()
	if err != nil {
		t.Fatal(err)
	}
	index, err := keys.Index()
	if err != nil {
		t.Fatal(err)
	}
	return testDB{pool: pool, adminURL: db.AdminURL, cipher: cipher, index: index}
}

// admin connects as the database's admin, on the service's schema, for
// fixtures no API writes; the connection closes when the test ends.
func (db testDB) admin(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db.adminURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	if _, err := conn.Exec(ctx, `SET search_path = `+postgres.Schema); err != nil {
		t.Fatal(err)
	}
	return conn
}

func newImportStore(t *testing.T) *postgres.ImportStore {
	t.Helper()
	db := newTestDB(t)
	return postgres.NewImportStore(db.pool, db.cipher, db.index)
}

func createImport(t *testing.T, s *postgres.ImportStore, dealer, name string) *importer.Import {
	t.Helper()
	imp, err := s.CreateImport(context.Background(), &importer.Import{Dealer: dealer, FileName: name, State: importer.StateRunning, Creator: "u"}, []byte("dms_customer_id\nC1\n"))
	if err != nil {
		t.Fatal(err)
	}
	return imp
}

// Replicas claim different imports; a live lease is never claimed twice,
// an expired or released one is.
func TestImportClaimAndLease(t *testing.T) {
	s := newImportStore(t)
	ctx := context.Background()
	a := createImport(t, s, "D1", "a.csv")
	b := createImport(t, s, "D2", "b.csv")

	j1, err := s.ClaimImport(ctx, "r1", time.Minute)
	if err != nil || j1 == nil || j1.Lease.ImportID != a.ID || string(j1.Content) != "dms_customer_id\nC1\n" {
		t.Fatalf("r1 claims %+v, %v; want the oldest import with its file", j1, err)
	}
	j2, err := s.ClaimImport(ctx, "r2", time.Second)
	if err != nil || j2 == nil || j2.Lease.ImportID != b.ID || j2.Lease.Dealer != "D2" {
		t.Fatalf("r2 claims %+v, %v; want the other import", j2, err)
	}
	if j, err := s.ClaimImport(ctx, "r3", time.Minute); j != nil || err != nil {
		t.Fatalf("r3 claims %+v, %v; want nothing while both leases live", j, err)
	}
	time.Sleep(1200 * time.Millisecond)
	j3, err := s.ClaimImport(ctx, "r3", time.Minute)
	if err != nil || j3 == nil || j3.Lease.ImportID != b.ID {
		t.Fatalf("r3 claims %+v, %v; want r2's expired import", j3, err)
	}
	// r2 lost its lease: it can write nothing.
	err = s.ApplyBatch(ctx, j2.Lease, 0, 1, func(importer.BatchTx) (importer.Progress, error) {
		t.Error("batch ran without the lease")
		return importer.Progress{}, nil
	})
	if !errors.Is(err, importer.ErrLeaseLost) {
		t.Errorf("ApplyBatch with a lost lease: %v", err)
	}
	if _, err := s.StartImport(ctx, j2.Lease, importer.EncodingUTF8, 1, 1); !errors.Is(err, importer.ErrLeaseLost) {
		t.Errorf("StartImport with a lost lease: %v", err)
	}
	// The holder writes only once the import started, and only from
	// where the import stands.
	err = s.ApplyBatch(ctx, j3.Lease, 0, 1, func(importer.BatchTx) (importer.Progress, error) { return importer.Progress{}, nil })
	if !errors.Is(err, importer.ErrLeaseLost) {
		t.Errorf("ApplyBatch before StartImport: %v", err)
	}
	if lanes, err := s.StartImport(ctx, j3.Lease, importer.EncodingUTF8, 1, 1); err != nil || fmt.Sprint(lanes) != "[1]" {
		t.Fatalf("StartImport = %v, %v; want one lane at row 1", lanes, err)
	}
	err = s.ApplyBatch(ctx, j3.Lease, 0, 5, func(importer.BatchTx) (importer.Progress, error) { return importer.Progress{}, nil })
	if !errors.Is(err, importer.ErrLeaseLost) {
		t.Errorf("ApplyBatch from a wrong row: %v", err)
	}
	err = s.ApplyBatch(ctx, j3.Lease, 0, 1, func(tx importer.BatchTx) (importer.Progress, error) {
		return importer.Progress{Rows: 1, LastRow: 2, Failed: 1, Done: true}, tx.AddErrors(ctx, []importer.RowError{{Row: 2, Field: "vin", Reason: "bad"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	done, err := s.GetImport(ctx, "D2", b.ID)
	if err != nil || done.State != importer.StateSucceeded || done.ProcessedRows != 1 || done.Failed != 1 || done.TotalRows != 1 || done.FinishTime.IsZero() {
		t.Fatalf("finished import = %+v, %v", done, err)
	}

	// Released, r1's import is claimable at once; released after a failure,
	// only after the backoff, and the attempt is counted.
	if err := s.ReleaseImport(ctx, j1.Lease, 0, ""); err != nil {
		t.Fatal(err)
	}
	j4, err := s.ClaimImport(ctx, "r4", time.Minute)
	if err != nil || j4 == nil || j4.Lease.ImportID != a.ID || j4.Attempts != 0 {
		t.Fatalf("r4 claims %+v, %v", j4, err)
	}
	if err := s.ReleaseImport(ctx, j4.Lease, time.Second, "boom"); err != nil {
		t.Fatal(err)
	}
	if j, _ := s.ClaimImport(ctx, "r5", time.Minute); j != nil {
		t.Fatalf("claimed during the backoff: %+v", j)
	}
	time.Sleep(1200 * time.Millisecond)
	j5, err := s.ClaimImport(ctx, "r5", time.Minute)
	if err != nil || j5 == nil || j5.Attempts != 1 {
		t.Fatalf("r5 claims %+v, %v; want the import with 1 attempt", j5, err)
	}
	if err := s.FailImport(ctx, j5.Lease, "the header has no dms_customer_id column"); err != nil {
		t.Fatal(err)
	}
	if j, _ := s.ClaimImport(ctx, "r6", time.Minute); j != nil {
		t.Fatalf("a failed import was claimed: %+v", j)
	}
}

func TestImportListsPage(t *testing.T) {
	s := newImportStore(t)
	ctx := context.Background()
	var ids []string
	for i := range 5 {
		ids = append(ids, createImport(t, s, "D1", fmt.Sprintf("%d.csv", i)).ID)
	}
	createImport(t, s, "D2", "other.csv")
	var got []string
	p := archive.Page{Size: 2}
	for {
		is, next, err := s.ListImports(ctx, "D1", p)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range is {
			got = append(got, i.ID)
		}
		if next == "" {
			break
		}
		p.After = next
	}
	if fmt.Sprint(got) != fmt.Sprint([]string{ids[4], ids[3], ids[2], ids[1], ids[0]}) {
		t.Errorf("pages = %v, want D1's imports newest first %v", got, ids)
	}

	j, err := s.ClaimImport(ctx, "r", time.Minute)
	if err != nil || j == nil {
		t.Fatal(err)
	}
	if _, err := s.StartImport(ctx, j.Lease, importer.EncodingUTF8, 2, 1); err != nil {
		t.Fatal(err)
	}
	errs := []importer.RowError{{Row: 3, Field: "vin", Reason: "a"}, {Row: 2, Field: "mobile", Reason: "b"}, {Row: 3, Field: "plate", Reason: "c"}}
	if err := s.ApplyBatch(ctx, j.Lease, 0, 1, func(tx importer.BatchTx) (importer.Progress, error) {
		return importer.Progress{Rows: 2, LastRow: 3, Failed: 2}, tx.AddErrors(ctx, errs)
	}); err != nil {
		t.Fatal(err)
	}
	var all []importer.RowError
	p = archive.Page{Size: 2}
	for {
		es, next, err := s.ListImportErrors(ctx, j.Lease.Dealer, j.Lease.ImportID, p)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, es...)
		if next == "" {
			break
		}
		p.After = next
	}
	if fmt.Sprint(all) != "[{2 mobile b} {3 plate c} {3 vin a}]" {
		t.Errorf("errors = %v, want by row then field", all)
	}
	if _, _, err := s.ListImportErrors(ctx, "D1", j.Lease.ImportID, archive.Page{Size: 2, After: "!!"}); err == nil {
		t.Error("a bad page token was accepted")
	}
}

// Replicas claiming at the same moment: each import goes to exactly one.
func TestImportClaimConcurrent(t *testing.T) {
	s := newImportStore(t)
	for i := range 3 {
		createImport(t, s, "D1", fmt.Sprintf("%d.csv", i))
	}
	var wg sync.WaitGroup
	claims := make(chan string, 8)
	for i := range 8 {
		wg.Go(func() {
			j, err := s.ClaimImport(context.Background(), fmt.Sprintf("r%d", i), time.Minute)
			if err != nil {
				t.Error(err)
			}
			if j != nil {
				claims <- j.Lease.ImportID
			}
		})
	}
	wg.Wait()
	close(claims)
	seen := map[string]bool{}
	for id := range claims {
		if seen[id] {
			t.Errorf("import %s claimed twice", id)
		}
		seen[id] = true
	}
	if len(seen) != 3 {
		t.Errorf("%d imports claimed, want 3", len(seen))
	}
}

// Lanes: fixed when the import first starts, each with its own
// checkpoint; batches of two lanes are in flight at once (the import's
// row is not locked while a batch works), a lane's stale checkpoint is
// refused, and the batch that says Done finishes the import.
func TestImportLanes(t *testing.T) {
	s := newImportStore(t)
	ctx := context.Background()
	imp := createImport(t, s, "D1", "lanes.csv")
	j, err := s.ClaimImport(ctx, "r1", time.Minute)
	if err != nil || j == nil {
		t.Fatal(j, err)
	}
	if lanes, err := s.StartImport(ctx, j.Lease, importer.EncodingUTF8, 30, 3); err != nil || fmt.Sprint(lanes) != "[1 1 1]" {
		t.Fatalf("StartImport = %v, %v; want three lanes at row 1", lanes, err)
	}

	// Lane 1's batch waits inside its transaction until lane 2's has
	// committed.
	lane2Done := make(chan error, 1)
	err = s.ApplyBatch(ctx, j.Lease, 1, 1, func(importer.BatchTx) (importer.Progress, error) {
		go func() {
			lane2Done <- s.ApplyBatch(ctx, j.Lease, 2, 1, func(importer.BatchTx) (importer.Progress, error) {
				return importer.Progress{Rows: 4, LastRow: 9, Inserted: 4}, nil
			})
		}()
		select {
		case err := <-lane2Done:
			if err != nil {
				t.Errorf("lane 2 while lane 1 is open: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("lane 2's batch waited for lane 1's")
		}
		return importer.Progress{Rows: 3, LastRow: 7, Inserted: 2, Failed: 1}, nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// A resumed import keeps its lanes, whatever the new runner asks for.
	if err := s.ReleaseImport(ctx, j.Lease, 0, ""); err != nil {
		t.Fatal(err)
	}
	j2, err := s.ClaimImport(ctx, "r2", time.Minute)
	if err != nil || j2 == nil {
		t.Fatal(j2, err)
	}
	if lanes, err := s.StartImport(ctx, j2.Lease, importer.EncodingUTF8, 30, 1); err != nil || fmt.Sprint(lanes) != "[1 7 9]" {
		t.Fatalf("resumed StartImport = %v, %v; want the lanes' checkpoints [1 7 9]", lanes, err)
	}
	err = s.ApplyBatch(ctx, j2.Lease, 2, 1, func(importer.BatchTx) (importer.Progress, error) {
		t.Error("a batch ran from lane 2's old checkpoint")
		return importer.Progress{}, nil
	})
	if !errors.Is(err, importer.ErrLeaseLost) {
		t.Errorf("ApplyBatch from a stale checkpoint: %v", err)
	}
	running, err := s.GetImport(ctx, "D1", imp.ID)
	if err != nil || running.State != importer.StateRunning || running.ProcessedRows != 7 || running.Inserted != 6 || running.Failed != 1 {
		t.Fatalf("after two lanes' batches: %+v, %v", running, err)
	}
	err = s.ApplyBatch(ctx, j2.Lease, 0, 1, func(importer.BatchTx) (importer.Progress, error) {
		return importer.Progress{Rows: 1, LastRow: 30, Unchanged: 1, Done: true}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	done, err := s.GetImport(ctx, "D1", imp.ID)
	if err != nil || done.State != importer.StateSucceeded || done.ProcessedRows != 8 || done.Unchanged != 1 || done.FinishTime.IsZero() {
		t.Fatalf("finished import = %+v, %v", done, err)
	}
	if j, err := s.ClaimImport(ctx, "r3", time.Minute); j != nil || err != nil {
		t.Fatalf("claimed %+v, %v after it finished", j, err)
	}
}

// An import part-way through when 0005_import_lanes runs goes on in one
// lane from the row it had reached; one not started yet gets the lanes
// its runner asks for.
func TestImportLanesMigration(t *testing.T) {
	ctx := context.Background()
	before := migrationsBefore(t, "0005")
	db := pgtest.New(t, postgres.Schema, before)
	admin, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `INSERT INTO customer.imports (dealer_id, id, state, total_rows, last_row, content, create_time) VALUES
		('D1', '00000000-0000-7000-8000-000000000001', 'running', 9, 5, 'dms_customer_id', now() - interval '1 minute'),
		('D1', '00000000-0000-7000-8000-000000000002', 'running', NULL, 1, 'dms_customer_id', now())`); err != nil {
		t.Fatal(err)
	}
	pool := migrateRest(t, db)
	s := postgres.NewImportStore(pool, nil, nil)
	for _, want := range []string{"[5]", "[1 1 1]"} {
		j, err := s.ClaimImport(ctx, "r", time.Minute)
		if err != nil || j == nil {
			t.Fatal(j, err)
		}
		if lanes, err := s.StartImport(ctx, j.Lease, importer.EncodingUTF8, 9, 3); err != nil || fmt.Sprint(lanes) != want {
			t.Errorf("import %s: lanes %v, %v; want %s", j.Lease.ImportID, lanes, err, want)
		}
	}
}
