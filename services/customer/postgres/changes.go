package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ChangeStore reads the archive's change feed (pkg/postgres change feed):
// repair orders, deliveries, archive entries and maintenance dues, with no
// personal data.
type ChangeStore struct {
	pool *pgxpool.Pool
}

// NewChangeStore returns the feed's store over pool (the service role).
func NewChangeStore(pool *pgxpool.Pool) *ChangeStore { return &ChangeStore{pool: pool} }

// Kinds of ArchiveChange.
const (
	ChangeRepairOrder = "repair_order"
	ChangeSale        = "sale"
	ChangeCustomer    = "customer"
	ChangeServiceDue  = "service_due"
)

// ArchiveChange is one changed row. Which fields are set depends on Kind:
// a repair order (ID, VIN, Type, OpenTime, CloseTime, ByAppointment,
// CampaignCode), a sale (ID, VIN, Time: delivered), a customer (ID,
// TriggerTime, Time: entered, Valid), a service due (VIN, Time: the start
// of the due day in the dealer's time zone, at the dealer of the last
// visit).
type ArchiveChange struct {
	Kind, Dealer, ID, VIN, Type, CampaignCode string
	OpenTime, CloseTime, Time, TriggerTime    time.Time
	ByAppointment, Valid                      bool
	Cursor                                    pg.ChangeCursor
}

// ListChanges returns up to limit changes after the cursor, in feed
// order, and whether more are ready. It reads across dealers: only the
// platform's service identity calls it.
func (s *ChangeStore) ListChanges(ctx context.Context, after pg.ChangeCursor, limit int) ([]ArchiveChange, bool, error) {
	limit = pg.ChangeLimit(limit)
	var out []ArchiveChange
	err := pg.InReadOnlyTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
(SELECT 'repair_order', r.dealer_id, r.id::text, r.vin, r.type, r.campaign_code, r.open_time, r.close_time, NULL::timestamptz, NULL::timestamptz,
        r.by_appointment, false, r.change_xid::text::bigint, r.change_seq
 FROM repair_orders r WHERE `+pg.ChangesAfter("r", "$1", "$2")+` ORDER BY `+pg.ChangeOrder("r")+` LIMIT $3)
UNION ALL
(SELECT 'sale', s.dealer_id, s.id::text, v.vin, '', '', NULL, NULL, s.delivered_time, NULL, false, false, s.change_xid::text::bigint, s.change_seq
 FROM sales s JOIN vehicles v ON v.dealer_id = s.dealer_id AND v.id = s.vehicle_id
 WHERE `+pg.ChangesAfter("s", "$1", "$2")+` ORDER BY `+pg.ChangeOrder("s")+` LIMIT $3)
UNION ALL
(SELECT 'customer', c.dealer_id, c.id::text, '', '', '', NULL, NULL, c.create_time, coalesce(c.trigger_time, c.create_time), false,
        c.problem_count = 0, c.change_xid::text::bigint, c.change_seq
 FROM customers c WHERE `+pg.ChangesAfter("c", "$1", "$2")+` ORDER BY `+pg.ChangeOrder("c")+` LIMIT $3)
UNION ALL
(SELECT 'service_due', v.dealer_id, '', v.vin, '', '', NULL, NULL,
        v.next_service_due_date::timestamp AT TIME ZONE coalesce(d.time_zone, 'Asia/Shanghai'), NULL, false, false, v.change_xid::text::bigint, v.change_seq
 FROM vehicles v LEFT JOIN dealers d ON d.dealer_id = v.dealer_id
 WHERE `+pg.ChangesAfter("v", "$1", "$2")+` AND v.next_service_due_date IS NOT NULL
   AND v.dealer_id = coalesce(nullif(v.last_visit_dealer, ''), v.dealer_id)
 ORDER BY `+pg.ChangeOrder("v")+` LIMIT $3)
ORDER BY 13, 14 LIMIT $3`, strconv.FormatUint(after.Xid, 10), after.Seq, limit+1)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ArchiveChange, error) {
			var c ArchiveChange
			var xid int64
			if err := r.Scan(&c.Kind, &c.Dealer, &c.ID, &c.VIN, &c.Type, &c.CampaignCode,
				pg.OptTime{Dst: &c.OpenTime}, pg.OptTime{Dst: &c.CloseTime}, pg.OptTime{Dst: &c.Time}, pg.OptTime{Dst: &c.TriggerTime},
				&c.ByAppointment, &c.Valid, &xid, &c.Cursor.Seq); err != nil {
				return c, err
			}
			c.Cursor.Xid = uint64(xid)
			return c, nil
		})
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("list archive changes: %w", err)
	}
	page, more := pg.ChangePage(out, limit)
	return page, more, nil
}
