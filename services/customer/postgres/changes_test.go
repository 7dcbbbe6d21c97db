package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/pgtest"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/customer/postgres"
	"github.com/jackc/pgx/v5"
)

// The archive's feed hands out repair orders, deliveries, archive entries
// and the maintenance due of the last visit's dealer, each again when it
// changes, and no personal data.
func TestArchiveChanges(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewFrom(t, postgres.Schema, postgres.Migrations)
	pool := db.AppPool(t, pg.Config{})
	s := postgres.NewChangeStore(pool)
	at := time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)
	const vin = "LSVAM4187C2184847"
	exec := func(sql string, args ...any) {
		t.Helper()
		if err := pg.InTx(ctx, pool, pg.AllDealers(), func(tx pgx.Tx) error { _, err := tx.Exec(ctx, sql, args...); return err }); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO regions (code, name) VALUES ('EAST', 'East')`)
	exec(`INSERT INTO dealers (dealer_id, name, region, time_zone) VALUES ('SH001', 'A', 'EAST', 'Asia/Shanghai'), ('SH002', 'B', 'EAST', 'Asia/Shanghai')`)
	for _, d := range []string{"SH001", "SH002"} {
		exec(`INSERT INTO customers (dealer_id, id, kind, name, mobile, tier, trigger_time, problems)
			VALUES ($1, '00000000-0000-0000-0000-000000000001', 'individual', 'Zhang San', '+8613800138000', 'regular', $2, $3)`,
			d, at.Add(-48*time.Hour), map[string]string{"SH001": `[]`, "SH002": `["mobile"]`}[d])
		exec(`INSERT INTO vehicles (dealer_id, id, customer_id, vin) VALUES ($1, '00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-000000000001', $2)`, d, vin)
	}
	exec(`INSERT INTO repair_orders (dealer_id, id, number, vehicle_id, vin, customer_id, type, state, open_time, by_appointment)
		VALUES ('SH001', '00000000-0000-0000-0000-0000000000b1', 'RO1', '00000000-0000-0000-0000-0000000000a1', $1, '00000000-0000-0000-0000-000000000001', 'repair', 'open', $2, true)`, vin, at)
	exec(`INSERT INTO sales (dealer_id, id, vehicle_id, customer_id, delivered_time)
		VALUES ('SH001', '00000000-0000-0000-0000-0000000000c1', '00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-000000000001', $1)`, at)
	// The vehicle workflow writes the due on both archives; only the last
	// visit's dealer's enters the feed.
	exec(`UPDATE vehicles SET next_service_due_date = '2027-05-20', last_visit_dealer = 'SH001'`)

	all, more, err := pgtest.ChangesReady(t, 5, func() ([]postgres.ArchiveChange, bool, error) { return s.ListChanges(ctx, pg.ChangeCursor{}, 0) })
	if err != nil || more {
		t.Fatal(err, more)
	}
	kinds := map[string]int{}
	for _, c := range all {
		kinds[c.Kind+"/"+c.Dealer]++
		switch c.Kind {
		case postgres.ChangeCustomer:
			if c.Valid != (c.Dealer == "SH001") || !c.TriggerTime.Equal(at.Add(-48*time.Hour)) || c.Time.IsZero() {
				t.Errorf("customer change %+v", c)
			}
		case postgres.ChangeRepairOrder:
			if c.VIN != vin || c.Type != "repair" || !c.OpenTime.Equal(at) || !c.ByAppointment || !c.CloseTime.IsZero() {
				t.Errorf("repair order change %+v", c)
			}
		case postgres.ChangeSale:
			if c.VIN != vin || !c.Time.Equal(at) {
				t.Errorf("sale change %+v", c)
			}
		case postgres.ChangeServiceDue:
			if want := time.Date(2027, 5, 19, 16, 0, 0, 0, time.UTC); c.VIN != vin || !c.Time.Equal(want) {
				t.Errorf("due change %+v, want %s", c, want)
			}
		}
		if c.ID == "Zhang San" || c.VIN == "+8613800138000" {
			t.Errorf("personal data in %+v", c)
		}
	}
	want := map[string]int{"customer/SH001": 1, "customer/SH002": 1, "repair_order/SH001": 1, "sale/SH001": 1, "service_due/SH001": 1}
	if len(kinds) != len(want) {
		t.Errorf("changes by kind %v, want %v", kinds, want)
	}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("changes by kind %v, want %v", kinds, want)
		}
	}
	// Paging one at a time visits every change in the same order.
	var c pg.ChangeCursor
	for i := range all {
		page, _, err := s.ListChanges(ctx, c, 1)
		if err != nil || len(page) != 1 || page[0].Cursor != all[i].Cursor {
			t.Fatalf("page %d: %+v %v", i, page, err)
		}
		c = page[0].Cursor
	}
	// Closing the repair order brings it back, after the cursor, once.
	exec(`UPDATE repair_orders SET state = 'closed', close_time = $1`, at.Add(2*time.Hour))
	again, _, err := pgtest.ChangesReady(t, 1, func() ([]postgres.ArchiveChange, bool, error) { return s.ListChanges(ctx, all[len(all)-1].Cursor, 0) })
	if err != nil || len(again) != 1 || again[0].Kind != postgres.ChangeRepairOrder || !again[0].CloseTime.Equal(at.Add(2*time.Hour)) {
		t.Errorf("after closing: %+v %v", again, err)
	}
}
