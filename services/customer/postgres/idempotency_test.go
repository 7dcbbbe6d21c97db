package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/idempotency"
	"github.com/dealercare/dealercare/services/customer/archive"
	"github.com/dealercare/dealercare/services/customer/importer"
	"github.com/dealercare/dealercare/services/customer/postgres"
)

// TestKeyedWritesRunOnce: each keyed archive write run again (its first
// answer was lost) answers the first one's resource and writes nothing
// more: no second customer, no "already in the archive", no "already
// exists", no "already closed", no second import, no second credit of
// loyalty points, no "delivery already recorded".
func TestKeyedWritesRunOnce(t *testing.T) {
	db := newTestDB(t)
	s := postgres.NewArchiveStore(db.pool, db.cipher, db.index)
	imports := postgres.NewImportStore(db.pool, db.cipher, db.index)
	keyed := func(key string) context.Context {
		return idempotency.NewContext(context.Background(), idempotency.Request{Key: key, Caller: "agent-1", Method: "/" + key, Hash: []byte(key)})
	}
	twice := func(what string, run func() (string, error)) string {
		t.Helper()
		first, err := run()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		again, err := run()
		if err != nil {
			t.Fatalf("%s again: %v", what, err)
		}
		if again != first {
			t.Fatalf("%s again answered %s, want %s", what, again, first)
		}
		return first
	}
	ctx := keyed("customer")
	cust := twice("create customer", func() (string, error) {
		in := archive.Customer{Name: "陈静", Mobile: "13912345678"}
		if err := in.Normalize(time.Now()); err != nil {
			return "", err
		}
		in.Dealer = "D1"
		c, err := s.CreateCustomer(ctx, &in)
		if err != nil {
			return "", err
		}
		return c.ID, nil
	})
	ctx = keyed("vehicle")
	vehicle := twice("create vehicle", func() (string, error) {
		v, err := s.CreateVehicle(ctx, &archive.Vehicle{Dealer: "D1", Customer: cust, VIN: "LSVAU2180N2183294"})
		if err != nil {
			return "", err
		}
		return v.ID, nil
	})
	ctx = keyed("open")
	at := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	ro := twice("open repair order", func() (string, error) {
		ro, err := s.CreateRepairOrder(ctx, &archive.RepairOrder{Dealer: "D1", Number: "RO-1", VIN: "LSVAU2180N2183294", Type: archive.ROMaintenance, OpenTime: at})
		if err != nil {
			return "", err
		}
		return ro.ID, nil
	})
	ctx = keyed("close")
	twice("close repair order", func() (string, error) {
		out, err := s.CloseRepairOrder(ctx, "D1", ro, func(ro *archive.RepairOrder) error { return ro.Close(at.Add(30*time.Minute), 5000, 0) })
		if err != nil {
			return "", err
		}
		if out.State != archive.ROClosed {
			t.Fatalf("close answered state %s", out.State)
		}
		return out.ID, nil
	})
	ctx = keyed("import")
	twice("create import", func() (string, error) {
		imp, err := imports.CreateImport(ctx, &importer.Import{Dealer: "D1", FileName: "dms.csv", State: importer.StateRunning, Creator: "agent-1"}, []byte("dms_customer_id\nC1\n"))
		if err != nil {
			return "", err
		}
		return imp.ID, nil
	})

	ctx = keyed("points")
	twice("adjust loyalty points", func() (string, error) {
		tx, err := s.AdjustPoints(ctx, "D1", cust, 120, "保养积分")
		if err != nil {
			return "", err
		}
		if tx.Balance != 120 {
			t.Fatalf("balance after the credit %d, want 120 (credited once)", tx.Balance)
		}
		return tx.ID, nil
	})
	ctx = keyed("sale")
	twice("create sale", func() (string, error) {
		sale, err := s.CreateSale(ctx, &archive.Sale{Dealer: "D1", Vehicle: vehicle, Salesperson: "王磊", DeliveredTime: at})
		if err != nil {
			return "", err
		}
		return sale.ID, nil
	})

	conn := db.admin(t)
	var points int64
	if err := conn.QueryRow(context.Background(), `SELECT loyalty_points FROM customers WHERE id = $1`, cust).Scan(&points); err != nil {
		t.Fatal(err)
	}
	if points != 120 {
		t.Errorf("loyalty points %d, want 120 (one credit)", points)
	}
	for _, c := range []struct {
		table string
		want  int
	}{{"customers", 1}, {"vehicles", 1}, {"repair_orders", 1}, {"imports", 1}, {"loyalty_transactions", 1}, {"sales", 1}, {"idempotency_records", 7}} {
		var n int
		if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM `+c.table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != c.want {
			t.Errorf("%d rows in %s, want %d", n, c.table, c.want)
		}
	}
	var events int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM outbox_events WHERE payload::text LIKE '%' || $1 || '%'`, ro).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if events != 3 { // the vehicle's, the 3DC callback's and the webhook's
		t.Errorf("%d outbox events of the close, want 3 (one close)", events)
	}
}
