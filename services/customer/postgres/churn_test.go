package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/dealercare/dealercare/services/customer/postgres"
)

// TestChurnMarkOnTheArchive: the vehicle workflow's churn mark shows on
// every dealer's archive of the VIN, on the vehicle and on its customer,
// and goes when it is cleared.
func TestChurnMarkOnTheArchive(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	admin := db.admin(t)
	const vin = "LSVAU2180N2183294"
	if _, err := admin.Exec(ctx, `INSERT INTO customers (dealer_id, id, kind, tier, name) VALUES
		  ('D1', '00000000-0000-7000-8000-0000000000c1', 'individual', 'regular', '王五'),
		  ('D2', '00000000-0000-7000-8000-0000000000c2', 'individual', 'regular', '赵六');
		INSERT INTO vehicles (dealer_id, id, customer_id, vin) VALUES
		  ('D1', '00000000-0000-7000-8000-0000000000f1', '00000000-0000-7000-8000-0000000000c1', '`+vin+`'),
		  ('D2', '00000000-0000-7000-8000-0000000000f2', '00000000-0000-7000-8000-0000000000c2', '`+vin+`')`); err != nil {
		t.Fatal(err)
	}
	store := postgres.NewArchiveStore(db.pool, db.cipher, db.index)
	segments := postgres.NewSegmentStore(db.pool)
	since := time.Date(2027, 8, 7, 2, 0, 0, 0, time.UTC)
	check := func(want time.Time) {
		t.Helper()
		for _, k := range []struct{ dealer, customer, vehicle string }{
			{"D1", "00000000-0000-7000-8000-0000000000c1", "00000000-0000-7000-8000-0000000000f1"},
			{"D2", "00000000-0000-7000-8000-0000000000c2", "00000000-0000-7000-8000-0000000000f2"},
		} {
			v, err := store.GetVehicle(ctx, k.dealer, k.customer, k.vehicle)
			if err != nil || !v.Service.ChurnRiskSince.Equal(want) {
				t.Errorf("vehicle at %s: churn since %v (%v), want %v", k.dealer, v.Service.ChurnRiskSince, err, want)
			}
			c, err := store.GetCustomer(ctx, k.dealer, k.customer)
			if err != nil || !c.ChurnRiskSince.Equal(want) {
				t.Errorf("customer at %s: churn since %v (%v), want %v", k.dealer, c.ChurnRiskSince, err, want)
			}
		}
	}
	check(time.Time{})
	if n, err := segments.MarkChurnRisk(ctx, vin, true, since); err != nil || n != 2 {
		t.Fatalf("mark: %d %v", n, err)
	}
	check(since)
	if n, err := segments.MarkChurnRisk(ctx, vin, false, time.Time{}); err != nil || n != 2 {
		t.Fatalf("clear: %d %v", n, err)
	}
	check(time.Time{})
}
