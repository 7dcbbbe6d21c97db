package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/jackc/pgx/v5"
)

// TargetChange is a campaign target (a recipient of a started campaign)
// as the change feed hands it out. Dealer is the customer's dealer, the
// one whose KPIs the target counts in; Owner is the campaign's (” for an
// HQ campaign).
type TargetChange struct {
	Dealer, Owner, Campaign, Customer, VIN, Kind, Code string
	WindowStart, WindowEnd                             time.Time
	Cursor                                             pg.ChangeCursor
}

// ListTargetChanges returns up to limit target changes after the cursor,
// in feed order (pkg/postgres change feed), and whether more are ready.
// Recipients of a campaign not started yet are left out: the start
// restamps them. It reads across dealers: only the platform's service
// identity calls it.
func (s *Store) ListTargetChanges(ctx context.Context, after pg.ChangeCursor, limit int) ([]TargetChange, bool, error) {
	limit = pg.ChangeLimit(limit)
	var out []TargetChange
	err := pg.InReadOnlyTx(ctx, s.pool, all, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT r.customer_dealer, r.dealer_id, r.campaign_id::text, r.customer_id::text, r.vin, c.kind, c.code,
			c.start_time, c.start_time + make_interval(secs => c.return_window_s), r.change_xid::text, r.change_seq
			FROM recipients r JOIN campaigns c ON c.dealer_id = r.dealer_id AND c.id = r.campaign_id
			WHERE `+pg.ChangesAfter("r", "$1", "$2")+` AND c.start_time IS NOT NULL
			ORDER BY `+pg.ChangeOrder("r")+` LIMIT $3`,
			strconv.FormatUint(after.Xid, 10), after.Seq, limit+1)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (TargetChange, error) {
			var c TargetChange
			var xid string
			if err := r.Scan(&c.Dealer, &c.Owner, &c.Campaign, &c.Customer, &c.VIN, &c.Kind, &c.Code, &c.WindowStart, &c.WindowEnd,
				&xid, &c.Cursor.Seq); err != nil {
				return c, err
			}
			c.Cursor.Xid, err = strconv.ParseUint(xid, 10, 64)
			return c, err
		})
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("list target changes: %w", err)
	}
	page, more := pg.ChangePage(out, limit)
	return page, more, nil
}
