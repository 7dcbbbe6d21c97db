package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/jackc/pgx/v5"
)

// TaskChange is a task as the change feed hands it out.
type TaskChange struct {
	Dealer, Task, Kind, SourceID, Status string
	DueTime, Deadline, CompleteTime      time.Time
	Score                                float64
	Cursor                               pg.ChangeCursor
}

// ListTaskChanges returns up to limit task changes after the cursor, in
// feed order (pkg/postgres change feed), and whether more are ready. It
// reads across dealers: only the platform's service identity calls it.
func (s *Store) ListTaskChanges(ctx context.Context, after pg.ChangeCursor, limit int) ([]TaskChange, bool, error) {
	limit = pg.ChangeLimit(limit)
	var out []TaskChange
	err := pg.InReadOnlyTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT dealer_id, id::text, kind, source_id, status, due_time, deadline, complete_time, score,
			change_xid::text, change_seq FROM callback_tasks
			WHERE `+pg.ChangesAfter("", "$1", "$2")+` ORDER BY `+pg.ChangeOrder("")+` LIMIT $3`,
			strconv.FormatUint(after.Xid, 10), after.Seq, limit+1)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (TaskChange, error) {
			var c TaskChange
			var xid string
			if err := r.Scan(&c.Dealer, &c.Task, &c.Kind, &c.SourceID, &c.Status, &c.DueTime, &c.Deadline, pg.OptTime{Dst: &c.CompleteTime},
				&c.Score, &xid, &c.Cursor.Seq); err != nil {
				return c, err
			}
			c.Cursor.Xid, err = strconv.ParseUint(xid, 10, 64)
			return c, err
		})
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("list task changes: %w", err)
	}
	page, more := pg.ChangePage(out, limit)
	return page, more, nil
}
