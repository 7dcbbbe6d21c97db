package postgres

import (
	"context"
	"fmt"

	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
	"github.com/jackc/pgx/v5"
)

// drillFacts are, per KPI, the facts behind one dealer's ($1) figure over
// [$2, $3): the same predicates as dayFigures' branch for the KPI, one row
// per denominator unit, counted when in the numerator. Columns: kind, id,
// t (the instant the definition names), counted, status, score, due,
// deadline, complete.
var drillFacts = map[string]string{
	evaluation.CallbackRate3DC: callbackRateFacts("3DC"),
	evaluation.CallbackRate7DC: callbackRateFacts("7DC"),
	evaluation.SSI:             scoreFacts("3DC"),
	evaluation.CSI:             scoreFacts("7DC"),
	evaluation.NewCustomerCallbackRate: `
SELECT 'delivery', d.sale_id, d.delivered_time, c.task_id IS NOT NULL, coalesce(c.status, ''), NULL::bigint,
       c.due_time, c.deadline, c.complete_time
FROM delivery_facts d
LEFT JOIN LATERAL (
    SELECT * FROM callback_facts c WHERE c.dealer_id = d.dealer_id AND c.kind = '7DC' AND c.source_id = d.sale_id
      AND c.status = 'completed' AND c.complete_time <= c.deadline
    ORDER BY c.task_id LIMIT 1
) c ON true
WHERE d.dealer_id = $1 AND d.delivered_time >= $2 AND d.delivered_time < $3`,
	evaluation.ComplaintOneTimeClosure: `
SELECT 'complaint', f.complaint_id, f.close_time, f.reopen_count = 0,
       CASE WHEN f.reopen_count = 0 THEN 'closed' ELSE 'reopened ' || f.reopen_count END, NULL::bigint,
       f.create_time, NULL::timestamptz, f.close_time
FROM complaint_facts f WHERE f.dealer_id = $1 AND f.close_time >= $2 AND f.close_time < $3`,
	evaluation.ComplaintResponseSLARate:   complaintSLAFacts("response_met"),
	evaluation.ComplaintResolutionSLARate: complaintSLAFacts("resolution_met"),
	evaluation.ArchiveTimelinessRate:      archiveFacts("a.entered_time - a.trigger_time <= interval '24 hours'"),
	evaluation.ArchiveAccuracyRate:        archiveFacts("a.valid"),
	evaluation.AppointmentRate: `
SELECT 'repair_order', r.repair_order_id, r.open_time, r.by_appointment, r.type, NULL::bigint,
       r.open_time, NULL::timestamptz, r.close_time
FROM repair_order_facts r WHERE r.dealer_id = $1 AND r.open_time >= $2 AND r.open_time < $3`,
}

func callbackRateFacts(kind string) string {
	return `
SELECT 'callback_task', c.task_id, c.due_time, c.status = 'completed', c.status, NULL::bigint, c.due_time, c.deadline, c.complete_time
FROM callback_facts c
WHERE c.dealer_id = $1 AND c.kind = '` + kind + `' AND c.status <> 'cancelled' AND c.due_time >= $2 AND c.due_time < $3`
}

func scoreFacts(kind string) string {
	return `
SELECT 'callback_task', c.task_id, c.complete_time, true, c.status, c.score, c.due_time, c.deadline, c.complete_time
FROM callback_facts c
WHERE c.dealer_id = $1 AND c.kind = '` + kind + `' AND c.status = 'completed' AND c.complete_time >= $2 AND c.complete_time < $3`
}

func complaintSLAFacts(met string) string {
	return `
SELECT 'complaint', f.complaint_id, f.create_time, f.` + met + `, CASE WHEN f.close_time IS NULL THEN 'open' ELSE 'closed' END,
       NULL::bigint, f.create_time, NULL::timestamptz, f.close_time
FROM complaint_facts f WHERE f.dealer_id = $1 AND f.create_time >= $2 AND f.create_time < $3`
}

func archiveFacts(counted string) string {
	return `
SELECT 'archive', a.archive_id, a.entered_time, ` + counted + `, CASE WHEN a.valid THEN 'valid' ELSE 'invalid' END, NULL::bigint,
       a.trigger_time, a.trigger_time + interval '24 hours', a.entered_time
FROM archive_facts a WHERE a.dealer_id = $1 AND a.entered_time >= $2 AND a.entered_time < $3`
}

// KPIFacts lists a page of the facts behind a dealer's KPI over
// [q.From, q.To), ordered by (time, id), after q's keyset position.
func (s *Store) KPIFacts(ctx context.Context, scope pg.Scope, q evaluation.FactQuery) ([]evaluation.KPIFact, error) {
	base, ok := drillFacts[q.KPI]
	if !ok {
		return nil, fmt.Errorf("no drill-down for %s", q.KPI)
	}
	var out []evaluation.KPIFact
	err := pg.InReadOnlyTx(ctx, s.pool, scope, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT * FROM (`+base+`) f(kind, id, t, counted, status, score, due, deadline, complete)
			WHERE ($4::timestamptz IS NULL OR (f.t, f.id) > ($4, $5)) AND (NOT $6 OR NOT f.counted)
			ORDER BY f.t, f.id LIMIT $7`,
			q.Dealer, q.From, q.To, nullTime(q.AfterTime), q.AfterID, q.MissedOnly, q.Limit)
		if err != nil {
			return err
		}
		var f evaluation.KPIFact
		var score *int64
		_, err = pgx.ForEachRow(rows, []any{&f.Kind, &f.ID, &f.Time, &f.Counted, &f.Status, &score,
			pg.OptTime{Dst: &f.DueTime}, pg.OptTime{Dst: &f.Deadline}, pg.OptTime{Dst: &f.CompleteTime}}, func() error {
			x := f
			x.Score = nil
			if score != nil {
				v := float64(*score) / evaluation.ScoreScale
				x.Score = &v
			}
			out = append(out, x)
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list facts of %s at %s: %w", q.KPI, q.Dealer, err)
	}
	return out, nil
}
