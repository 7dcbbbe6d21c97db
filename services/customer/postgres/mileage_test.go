package postgres_test

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/pgtest"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/customer/archive"
	"github.com/dealercare/dealercare/services/customer/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationsBefore is the customer schema's migrations up to, not
// including, the one whose name starts with prefix.
func migrationsBefore(t *testing.T, prefix string) fs.FS {
	t.Helper()
	all, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.ReadDir(all, ".")
	if err != nil {
		t.Fatal(err)
	}
	before := fstest.MapFS{}
	for _, f := range files {
		if f.Name() < prefix {
			body, err := fs.ReadFile(all, f.Name())
			if err != nil {
				t.Fatal(err)
			}
			before[f.Name()] = &fstest.MapFile{Data: body}
		}
	}
	return before
}

// migrateRest runs the migrations db does not have yet, as a release
// would, and returns a pool of the service role.
func migrateRest(t *testing.T, db *pgtest.DB) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	all, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if err := pg.Migrate(ctx, db.OwnerURL, postgres.Schema, pgtest.AppRole, all); err != nil {
		t.Fatal(err)
	}
	return db.AppPool(t, pg.Config{})
}

// Repair orders archived before 0006_mileage_readings become the vehicle's
// first readings: the closing reading of a closed order, the opening one
// of an open order, none for an order without a reading.
func TestMileageReadingsMigration(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, postgres.Schema, migrationsBefore(t, "0006"))
	admin, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `SET search_path = `+postgres.Schema+`;
		INSERT INTO customers (dealer_id, id, kind, tier, name) VALUES ('D1', '00000000-0000-7000-8000-0000000000c1', 'individual', 'regular', '王五');
		INSERT INTO vehicles (dealer_id, id, customer_id, vin) VALUES ('D1', '00000000-0000-7000-8000-0000000000f1', '00000000-0000-7000-8000-0000000000c1', 'LSVAU2180N2183294');
		INSERT INTO repair_orders (dealer_id, id, number, vehicle_id, vin, customer_id, type, state, open_time, close_time, mileage_km) VALUES
		('D1', '00000000-0000-7000-8000-000000000001', 'RO-1', '00000000-0000-7000-8000-0000000000f1', 'LSVAU2180N2183294', '00000000-0000-7000-8000-0000000000c1', 'maintenance', 'closed', '2026-01-10 09:00+08', '2026-01-10 15:00+08', 5000),
		('D1', '00000000-0000-7000-8000-000000000002', 'RO-2', '00000000-0000-7000-8000-0000000000f1', 'LSVAU2180N2183294', '00000000-0000-7000-8000-0000000000c1', 'repair', 'closed', '2026-02-10 09:00+08', '2026-02-10 15:00+08', 0),
		('D1', '00000000-0000-7000-8000-000000000003', 'RO-3', '00000000-0000-7000-8000-0000000000f1', 'LSVAU2180N2183294', '00000000-0000-7000-8000-0000000000c1', 'repair', 'open', '2026-03-10 09:00+08', NULL, 7100)`); err != nil {
		t.Fatal(err)
	}
	pool := migrateRest(t, db)
	got, _, err := postgres.NewArchiveStore(pool, nil, nil).ListMileage(ctx, "D1", "00000000-0000-7000-8000-0000000000c1", "00000000-0000-7000-8000-0000000000f1", archive.Page{Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	if s := readingsString(got); s != "2026-03-10T01:00:00Z 7100 repair_order D1 RO-3 | 2026-01-10T07:00:00Z 5000 repair_order D1 RO-1" {
		t.Errorf("readings after the migration: %s", s)
	}
}

func readingsString(rs []archive.MileageReading) string {
	var out []string
	for _, r := range rs {
		s := fmt.Sprintf("%s %d %s %s %s", r.ReadTime.UTC().Format(time.RFC3339), r.MileageKM, r.Source, r.ReadDealer, r.RepairOrderNumber)
		if r.LowerThanEarlier {
			s += " lower"
		}
		out = append(out, s)
	}
	return strings.Join(out, " | ")
}

// The network's readings reach every archive of the VIN once, however often
// the vehicle's workflow repeats them, and the row-level-security policy
// keeps each dealer's copy to itself.
func TestNetworkReadings(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	admin := db.admin(t)
	const vin = "LSVAU2180N2183294"
	if _, err := admin.Exec(ctx, `INSERT INTO customers (dealer_id, id, kind, tier, name) VALUES ('SH001', '00000000-0000-7000-8000-0000000000c1', 'individual', 'regular', '王五'), ('BJ001', '00000000-0000-7000-8000-0000000000c2', 'individual', 'regular', '王五');
		INSERT INTO vehicles (dealer_id, id, customer_id, vin, mileage_km) VALUES
		('SH001', '00000000-0000-7000-8000-0000000000f1', '00000000-0000-7000-8000-0000000000c1', '`+vin+`', 9000),
		('BJ001', '00000000-0000-7000-8000-0000000000f2', '00000000-0000-7000-8000-0000000000c2', '`+vin+`', 0)`); err != nil {
		t.Fatal(err)
	}
	s := postgres.NewArchiveStore(db.pool, db.cipher, db.index)
	at := time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)
	readings := []archive.MileageReading{
		{ReadTime: at.AddDate(0, -2, 0), MileageKM: 0, Source: archive.MileageDelivery, ReadDealer: "SH001", Ref: "00000000-0000-7000-8000-000000000051"},
		{ReadTime: at, MileageKM: 8000, Source: archive.MileageRepairOrder, ReadDealer: "HZ001", Ref: "00000000-0000-7000-8000-000000000052"},
	}
	for range 2 {
		if _, err := s.SetServiceState(ctx, vin, archive.ServiceState{LastVisitTime: at, LastVisitDealer: "HZ001", NextDueDate: "2026-09-01", NextDueMileageKM: 13000}, readings); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct{ dealer, customer, vehicle, want string }{
		{"SH001", "00000000-0000-7000-8000-0000000000c1", "00000000-0000-7000-8000-0000000000f1", "2026-03-01T06:00:00Z 8000 repair_order HZ001  | 2026-01-01T06:00:00Z 0 delivery SH001 "},
		{"BJ001", "00000000-0000-7000-8000-0000000000c2", "00000000-0000-7000-8000-0000000000f2", "2026-03-01T06:00:00Z 8000 repair_order HZ001  | 2026-01-01T06:00:00Z 0 delivery SH001 "},
	} {
		got, _, err := s.ListMileage(ctx, tt.dealer, tt.customer, tt.vehicle, archive.Page{Size: 10})
		if err != nil {
			t.Fatal(err)
		}
		if s := readingsString(got); s != tt.want {
			t.Errorf("%s's readings of %s: %q, want %q", tt.dealer, tt.vehicle, s, tt.want)
		}
	}
	// Another dealer's vehicle under one's own dealer: nothing, not even
	// that it exists.
	if got, _, err := s.ListMileage(ctx, "BJ001", "00000000-0000-7000-8000-0000000000c1", "00000000-0000-7000-8000-0000000000f1", archive.Page{Size: 10}); apperr.Code(err) != apperr.ENOTFOUND || len(got) != 0 {
		t.Errorf("BJ001 listing SH001's vehicle: %v, %v; want not found", got, err)
	}
	// The latest reading only ever rises: SH001 keeps its 9000 km.
	var kms string
	if err := admin.QueryRow(ctx, `SELECT string_agg(dealer_id || '=' || mileage_km, ' ' ORDER BY dealer_id) FROM `+postgres.Schema+`.vehicles`).Scan(&kms); err != nil {
		t.Fatal(err)
	}
	if kms != "BJ001=8000 SH001=9000" {
		t.Errorf("latest readings: %s", kms)
	}
	// Below the application: a transaction scoped to BJ001 reads BJ001's
	// rows only, and cannot write SH001's.
	err := pg.InReadOnlyTx(ctx, db.pool, pg.Dealers("BJ001"), func(tx pgx.Tx) error {
		var dealers string
		if err := tx.QueryRow(ctx, `SELECT string_agg(DISTINCT dealer_id, ',') FROM mileage_readings`).Scan(&dealers); err != nil {
			return err
		}
		if dealers != "BJ001" {
			t.Errorf("BJ001's transaction sees readings of %s", dealers)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = pg.InTx(ctx, db.pool, pg.Dealers("BJ001"), func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO mileage_readings (dealer_id, id, vehicle_id, read_time, mileage_km, source, read_dealer, ref)
			VALUES ('SH001', gen_random_uuid(), '00000000-0000-7000-8000-0000000000f1', now(), 1, 'repair_order', 'BJ001', gen_random_uuid())`)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "row-level security") {
		t.Errorf("BJ001 wrote SH001's reading: %v", err)
	}
}
