package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/services/customer/archive"
	"github.com/dealercare/dealercare/services/customer/postgres"
)

// ownDealer lets dealer staff write their own dealer's archive.
type ownDealer struct{}

func (ownDealer) CanRead(ctx context.Context, dealer string) (bool, error) {
	p, _ := auth.PrincipalFromContext(ctx)
	return p.Dealer == dealer, nil
}

// A date typed for a dealer is in the future only after the dealer's
// today, wherever the service runs: at 02:30 in Shanghai (18:30 UTC the day
// before) a Shanghai dealer may archive a car bought today, a UTC dealer
// may not.
func TestDatesAreJudgedByTheDealersDay(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	admin := db.admin(t)
	if _, err := admin.Exec(ctx, `INSERT INTO regions (code, name) VALUES ('EAST', '华东');
		INSERT INTO dealers (dealer_id, name, region, time_zone) VALUES ('SH001', '上海', 'EAST', 'Asia/Shanghai'), ('UTC01', 'UTC', 'EAST', 'UTC')`); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 18, 30, 0, 0, time.UTC)
	svc := archive.NewService(postgres.NewArchiveStore(db.pool, db.cipher, db.index), ownDealer{}, func() time.Time { return now })

	for _, tt := range []struct {
		dealer, day string
		ok          bool
	}{
		{"SH001", "2026-11-23", true},
		{"SH001", "2026-11-24", false},
		{"UTC01", "2026-11-22", true},
		{"UTC01", "2026-11-23", false},
		{"NONE1", "2026-11-23", true}, // not in the network: China's zone
	} {
		as := auth.NewContextWithPrincipal(ctx, &auth.Principal{Subject: "agent", Roles: []auth.Role{auth.RoleAgent}, Dealer: tt.dealer})
		c, err := svc.CreateCustomer(as, tt.dealer, archive.Customer{Name: "王五"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = svc.CreateCustomer(as, tt.dealer, archive.Customer{Name: "赵六", Birthday: tt.day})
		wantDate(t, tt.dealer+" birthday "+tt.day, err, tt.ok, "customer.birthday")
		_, err = svc.CreateVehicle(as, tt.dealer, c.ID, archive.Vehicle{VIN: "LSVAU218XN2183294", PurchaseDate: tt.day})
		wantDate(t, tt.dealer+" purchase date "+tt.day, err, tt.ok, "vehicle.purchase_date")
		c.Birthday = tt.day
		_, err = svc.UpdateCustomer(as, tt.dealer, *c, []string{"birthday"})
		wantDate(t, tt.dealer+" birthday update "+tt.day, err, tt.ok, "customer.birthday")
	}
}

// wantDate checks err accepts (ok) or refuses a date naming field.
func wantDate(t *testing.T, what string, err error, ok bool, field string) {
	t.Helper()
	if ok {
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
		return
	}
	e, isApp := apperr.As(err)
	if !isApp || e.Code != apperr.EINVALID || len(e.Violations) != 1 || e.Violations[0].Field != field ||
		!strings.Contains(e.Violations[0].Reason, "future") {
		t.Errorf("%s: %v, want %s refused as in the future", what, err, field)
	}
}
