package postgres

import (
	"context"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/validate"
	"github.com/dealercare/dealercare/services/campaign/campaign"
	"github.com/jackc/pgx/v5"
)

// AddRecallVINs inserts the VINs the recall lacks, in one statement per
// call (unnest), so a list of thousands is one round trip.
func (s *Store) AddRecallVINs(ctx context.Context, scope campaign.Scope, owner, id string, vins []campaign.RecallVIN, now time.Time) (added, total int, err error) {
	n := len(vins)
	vin, dealer, customer, region := make([]string, n), make([]string, n), make([]*string, n), make([]string, n)
	for i, v := range vins {
		vin[i], dealer[i], region[i] = v.VIN, v.OwnerDealer, v.Region
		if v.OwnerCustomer != "" {
			c := v.OwnerCustomer
			customer[i] = &c
		}
	}
	err = pg.InTx(ctx, s.pool, scopeOf(scope), func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO recall_vins (dealer_id, campaign_id, vin, owner_dealer, owner_customer, region, import_time)
			SELECT $1, $2, v, d, c::uuid, r, $7 FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) AS t(v, d, c, r)
			ON CONFLICT DO NOTHING`, owner, id, vin, dealer, customer, region, now)
		if err != nil {
			return mapError(err, "recall VINs")
		}
		added = int(tag.RowsAffected())
		return tx.QueryRow(ctx, `SELECT count(*) FROM recall_vins WHERE dealer_id = $1 AND campaign_id = $2`, owner, id).Scan(&total)
	})
	return added, total, err
}

const recallColumns = `vin, owner_dealer, coalesce(owner_customer::text, ''), region, state, completed_dealer, repair_order, complete_time, chase_task`

func scanRecallVIN(row pgx.Row) (campaign.RecallVIN, error) {
	var v campaign.RecallVIN
	var at *time.Time
	err := row.Scan(&v.VIN, &v.OwnerDealer, &v.OwnerCustomer, &v.Region, &v.State, &v.CompletedDealer, &v.RepairOrder, &at, &v.ChaseTask)
	if at != nil {
		v.CompleteTime = at.UTC()
	}
	return v, err
}

// ListRecallVINs pages the recall's VINs in VIN order; the page token is
// the last VIN.
func (s *Store) ListRecallVINs(ctx context.Context, scope campaign.Scope, owner, id, state, ownerDealer string, p campaign.Page) ([]campaign.RecallVIN, string, error) {
	if p.After != "" {
		if _, err := validate.VIN(p.After); err != nil {
			return nil, "", apperr.Invalid("page_token", "is not a token returned by a previous call").ZhReason("不是上一次调用返回的分页令牌")
		}
	}
	size := pageSize(p.Size)
	var out []campaign.RecallVIN
	err := pg.InReadOnlyTx(ctx, s.pool, scopeOf(scope), func(tx pgx.Tx) error {
		var ps pg.Params
		q := `SELECT ` + recallColumns + ` FROM recall_vins WHERE dealer_id = ` + ps.Add(owner) + ` AND campaign_id = ` + ps.Add(id) +
			` AND vin > ` + ps.Add(p.After)
		if state != "" {
			q += ` AND state = ` + ps.Add(state)
		}
		if ownerDealer != "" {
			q += ` AND owner_dealer = ` + ps.Add(ownerDealer)
		}
		q += ` ORDER BY vin LIMIT ` + ps.Add(size+1)
		rows, err := tx.Query(ctx, q, ps.Args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scanRecallVIN(rows)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > size {
		out = out[:size]
		next = out[size-1].VIN
	}
	return out, next, nil
}

// RecallTallies counts the recall's VINs per owning dealer and its repairs
// per repairing dealer.
func (s *Store) RecallTallies(ctx context.Context, scope campaign.Scope, owner, id string) ([]campaign.RecallTally, map[string]int64, error) {
	var owned []campaign.RecallTally
	repaired := map[string]int64{}
	err := pg.InReadOnlyTx(ctx, s.pool, scopeOf(scope), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT owner_dealer, region, count(*),
				count(*) FILTER (WHERE state = 'completed'),
				count(*) FILTER (WHERE state = 'completed' AND completed_dealer <> owner_dealer)
			FROM recall_vins WHERE dealer_id = $1 AND campaign_id = $2 GROUP BY owner_dealer, region ORDER BY owner_dealer`, owner, id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var t campaign.RecallTally
			if err := rows.Scan(&t.Key, &t.Region, &t.VINs, &t.Completed, &t.CompletedElsewhere); err != nil {
				rows.Close()
				return err
			}
			owned = append(owned, t)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT completed_dealer, count(*) FROM recall_vins
			WHERE dealer_id = $1 AND campaign_id = $2 AND state = 'completed' GROUP BY completed_dealer`, owner, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d string
			var n int64
			if err := rows.Scan(&d, &n); err != nil {
				return err
			}
			repaired[d] = n
		}
		return rows.Err()
	})
	return owned, repaired, err
}

// CompleteRecallVIN completes the open VIN on the recalls of code; the
// first repair wins, a repeat changes nothing.
func (s *Store) CompleteRecallVIN(ctx context.Context, vin, code, dealer, repairOrder string, at time.Time) (int, error) {
	var n int
	err := pg.InTx(ctx, s.pool, all, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE recall_vins r SET state = 'completed', completed_dealer = $3, repair_order = $4, complete_time = $5
			FROM campaigns c
			WHERE r.vin = $1 AND r.state = 'open' AND c.dealer_id = r.dealer_id AND c.id = r.campaign_id
			  AND c.kind = 'recall' AND c.code = $2 AND c.state <> 'cancelled'`, vin, code, dealer, repairOrder, at)
		n = int(tag.RowsAffected())
		return err
	})
	return n, err
}

// UnchasedRecallVINs lists open, owned VINs without a chase task.
func (s *Store) UnchasedRecallVINs(ctx context.Context, owner, id string, limit int) ([]campaign.RecallVIN, error) {
	var out []campaign.RecallVIN
	err := pg.InReadOnlyTx(ctx, s.pool, all, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+recallColumns+` FROM recall_vins
			WHERE dealer_id = $1 AND campaign_id = $2 AND state = 'open' AND chase_task = '' AND owner_dealer <> ''
			ORDER BY vin LIMIT $3`, owner, id, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scanRecallVIN(rows)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return rows.Err()
	})
	return out, err
}

// SetChaseTask records the chase task of a VIN.
func (s *Store) SetChaseTask(ctx context.Context, owner, id, vin, task string) error {
	return pg.InTx(ctx, s.pool, all, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE recall_vins SET chase_task = $4 WHERE dealer_id = $1 AND campaign_id = $2 AND vin = $3`, owner, id, vin, task)
		return err
	})
}

// UnendedChases lists the chase tasks not ended yet, of completed VINs
// and of every VIN of a cancelled recall, of one recall (id set) or of one
// VIN on every recall.
func (s *Store) UnendedChases(ctx context.Context, owner, id, vin string, limit int) ([]campaign.RecallChase, error) {
	var out []campaign.RecallChase
	err := pg.InReadOnlyTx(ctx, s.pool, all, func(tx pgx.Tx) error {
		var ps pg.Params
		q := `SELECT r.dealer_id, r.campaign_id::text, r.vin, r.owner_dealer, r.chase_task, r.completed_dealer, r.repair_order,
				c.state = 'cancelled', c.cancel_reason
			FROM recall_vins r JOIN campaigns c ON c.dealer_id = r.dealer_id AND c.id = r.campaign_id
			WHERE (r.state = 'completed' OR c.state = 'cancelled') AND r.chase_task NOT IN ('', 'refused') AND r.chase_end_time IS NULL`
		if id != "" {
			q += ` AND r.dealer_id = ` + ps.Add(owner) + ` AND r.campaign_id = ` + ps.Add(id)
		}
		if vin != "" {
			q += ` AND r.vin = ` + ps.Add(vin)
		}
		q += ` ORDER BY r.dealer_id, r.campaign_id, r.vin LIMIT ` + ps.Add(limit)
		rows, err := tx.Query(ctx, q, ps.Args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c campaign.RecallChase
			if err := rows.Scan(&c.Owner, &c.Campaign, &c.VIN, &c.OwnerDealer, &c.Task, &c.CompletedDealer, &c.RepairOrder,
				&c.Cancelled, &c.CancelReason); err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	return out, err
}

// SetChaseEnded records that the VIN's chase task was ended.
func (s *Store) SetChaseEnded(ctx context.Context, owner, id, vin string, at time.Time) error {
	return pg.InTx(ctx, s.pool, all, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE recall_vins SET chase_end_time = $4
			WHERE dealer_id = $1 AND campaign_id = $2 AND vin = $3 AND chase_end_time IS NULL`, owner, id, vin, at)
		return err
	})
}

// OpenRecallVINs counts the recall's open VINs.
func (s *Store) OpenRecallVINs(ctx context.Context, owner, id string) (int64, error) {
	var n int64
	err := pg.InReadOnlyTx(ctx, s.pool, all, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM recall_vins WHERE dealer_id = $1 AND campaign_id = $2 AND state = 'open'`, owner, id).Scan(&n)
	})
	return n, err
}
