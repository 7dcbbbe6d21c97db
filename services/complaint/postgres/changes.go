package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/complaint/escalation"
	"github.com/jackc/pgx/v5"
)

// ComplaintChange is a complaint as the change feed hands it out: whether
// it was acknowledged and resolved before its targets breached (read off
// its timeline) and when it was last closed.
type ComplaintChange struct {
	Dealer, Complaint, Severity string
	CreateTime, CloseTime       time.Time
	ResponseMet, ResolutionMet  bool
	ReopenCount                 int
	Cursor                      pg.ChangeCursor
}

// ListComplaintChanges returns up to limit complaint changes after the
// cursor, in feed order (pkg/postgres change feed), and whether more are
// ready. It reads across dealers: only the platform's service identity
// calls it.
func (s *Store) ListComplaintChanges(ctx context.Context, after pg.ChangeCursor, limit int) ([]ComplaintChange, bool, error) {
	limit = pg.ChangeLimit(limit)
	var out []ComplaintChange
	err := pg.InReadOnlyTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT c.dealer_id, c.id::text, c.severity, c.create_time,
			coalesce(ack.time < coalesce(rb.time, 'infinity'), false),
			coalesce(res.time < coalesce(sb.time, 'infinity'), false),
			CASE WHEN c.state = 'closed' THEN cl.time END, c.reopen_count, c.change_xid::text, c.change_seq
			FROM complaints c
			LEFT JOIN LATERAL (SELECT min(time) AS time FROM complaint_events e WHERE e.complaint_id = c.id AND e.kind = 'acknowledged') ack ON true
			LEFT JOIN LATERAL (SELECT min(time) AS time FROM complaint_events e WHERE e.complaint_id = c.id AND e.kind = 'resolved') res ON true
			LEFT JOIN LATERAL (SELECT max(time) AS time FROM complaint_events e WHERE e.complaint_id = c.id AND e.kind = 'closed') cl ON true
			LEFT JOIN LATERAL (SELECT min(time) AS time FROM complaint_events e WHERE e.complaint_id = c.id AND e.key = $4) rb ON true
			LEFT JOIN LATERAL (SELECT min(time) AS time FROM complaint_events e WHERE e.complaint_id = c.id AND e.key = $5) sb ON true
			WHERE `+pg.ChangesAfter("c", "$1", "$2")+` ORDER BY `+pg.ChangeOrder("c")+` LIMIT $3`,
			strconv.FormatUint(after.Xid, 10), after.Seq, limit+1, escalation.ResponseBreachedKey, escalation.FirstResolutionBreachedKey)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ComplaintChange, error) {
			var c ComplaintChange
			var xid string
			var closed *time.Time
			if err := r.Scan(&c.Dealer, &c.Complaint, &c.Severity, &c.CreateTime, &c.ResponseMet, &c.ResolutionMet, &closed,
				&c.ReopenCount, &xid, &c.Cursor.Seq); err != nil {
				return c, err
			}
			if closed != nil {
				c.CloseTime = *closed
			}
			c.Cursor.Xid, err = strconv.ParseUint(xid, 10, 64)
			return c, err
		})
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("list complaint changes: %w", err)
	}
	page, more := pg.ChangePage(out, limit)
	return page, more, nil
}
