package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/dealercare/dealercare/pkg/calendar"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
	"github.com/jackc/pgx/v5"
)

// dayFigures computes every KPI's day figures of dealer $1 for the local
// days $2..$3 (inclusive) in time zone $4, straight from the facts. Each
// branch is one KPI of SPEC, attributed to the local day of the instant
// its definition names; churn_rate's denominator is the vehicles active
// at the day's start (a visit in the 365 days before, the latest of them
// at this dealer), so a week's or month's is its first day's.
const dayFigures = `
WITH bounds AS (
    SELECT ($2::date)::timestamp AT TIME ZONE $4 AS lo, ($3::date + 1)::timestamp AT TIME ZONE $4 AS hi
),
visits AS (
    -- The dealer's visits that can be active or churn within the days,
    -- each with the vehicle's next visit anywhere in the network.
    SELECT r.open_time, nx.open_time AS next_open
    FROM repair_order_facts r
    CROSS JOIN bounds b
    LEFT JOIN LATERAL (
        SELECT n.open_time FROM repair_order_facts n
        WHERE n.vin = r.vin AND (n.open_time, n.dealer_id, n.repair_order_id) > (r.open_time, r.dealer_id, r.repair_order_id)
        ORDER BY n.open_time, n.dealer_id, n.repair_order_id LIMIT 1
    ) nx ON true
    WHERE r.dealer_id = $1 AND r.open_time >= b.lo - interval '8760 hours' AND r.open_time < b.hi
),
figures (day, kpi, numerator, denominator) AS (
    SELECT (c.due_time AT TIME ZONE $4)::date,
           CASE c.kind WHEN '3DC' THEN 'callback_rate_3dc' ELSE 'callback_rate_7dc' END,
           count(*) FILTER (WHERE c.status = 'completed'), count(*)
    FROM callback_facts c, bounds b
    WHERE c.dealer_id = $1 AND c.kind IN ('3DC', '7DC') AND c.status <> 'cancelled' AND c.due_time >= b.lo AND c.due_time < b.hi
    GROUP BY 1, 2
  UNION ALL
    SELECT (d.delivered_time AT TIME ZONE $4)::date, 'new_customer_callback_rate',
           count(*) FILTER (WHERE EXISTS (
               SELECT 1 FROM callback_facts c WHERE c.dealer_id = d.dealer_id AND c.kind = '7DC' AND c.source_id = d.sale_id
                 AND c.status = 'completed' AND c.complete_time <= c.deadline)),
           count(*)
    FROM delivery_facts d, bounds b
    WHERE d.dealer_id = $1 AND d.delivered_time >= b.lo AND d.delivered_time < b.hi
    GROUP BY 1
  UNION ALL
    SELECT (c.complete_time AT TIME ZONE $4)::date, CASE c.kind WHEN '3DC' THEN 'ssi' ELSE 'csi' END, sum(c.score), count(*)
    FROM callback_facts c, bounds b
    WHERE c.dealer_id = $1 AND c.kind IN ('3DC', '7DC') AND c.status = 'completed' AND c.complete_time >= b.lo AND c.complete_time < b.hi
    GROUP BY 1, 2
  UNION ALL
    SELECT (f.close_time AT TIME ZONE $4)::date, 'complaint_one_time_closure_rate', count(*) FILTER (WHERE f.reopen_count = 0), count(*)
    FROM complaint_facts f, bounds b
    WHERE f.dealer_id = $1 AND f.close_time >= b.lo AND f.close_time < b.hi
    GROUP BY 1
  UNION ALL
    SELECT day, kpi, n, d FROM (
        SELECT (f.create_time AT TIME ZONE $4)::date AS day,
               count(*) FILTER (WHERE f.response_met) AS response, count(*) FILTER (WHERE f.resolution_met) AS resolution, count(*) AS d
        FROM complaint_facts f, bounds b
        WHERE f.dealer_id = $1 AND f.create_time >= b.lo AND f.create_time < b.hi
        GROUP BY 1
    ) x CROSS JOIN LATERAL (VALUES ('complaint_response_sla_rate', x.response), ('complaint_resolution_sla_rate', x.resolution)) v(kpi, n)
  UNION ALL
    SELECT (s.due_time AT TIME ZONE $4)::date, 'return_rate',
           count(*) FILTER (WHERE EXISTS (
               SELECT 1 FROM repair_order_facts r WHERE r.vin = s.vin
                 AND r.open_time BETWEEN s.due_time - interval '720 hours' AND s.due_time + interval '720 hours')),
           count(*)
    FROM service_due_facts s, bounds b
    WHERE s.dealer_id = $1 AND s.due_time >= b.lo AND s.due_time < b.hi
    GROUP BY 1
  UNION ALL
    SELECT day, 'churn_rate', sum(n), sum(d) FROM (
        SELECT ((v.open_time + interval '8760 hours') AT TIME ZONE $4)::date AS day, count(*) AS n, 0 AS d
        FROM visits v, bounds b
        WHERE v.open_time + interval '8760 hours' >= b.lo AND v.open_time + interval '8760 hours' < b.hi
          AND (v.next_open IS NULL OR v.next_open > v.open_time + interval '8760 hours')
        GROUP BY 1
      UNION ALL
        -- Active at a day's start s: open_time < s <= least(open_time +
        -- 365 days, next visit), i.e. on the local days from the one after
        -- the visit's to the one of that end. A running sum of +1 at the
        -- first and -1 after the last, instead of testing every visit
        -- against every day (which took 95 % of a year's rebuild).
        SELECT day, 0, active FROM (
            SELECT day, sum(sum(delta)) OVER (ORDER BY day) AS active FROM (
                SELECT (v.open_time AT TIME ZONE $4)::date + 1 AS day, 1 AS delta FROM visits v
              UNION ALL
                SELECT (least(v.open_time + interval '8760 hours', coalesce(v.next_open, 'infinity')) AT TIME ZONE $4)::date + 1, -1 FROM visits v
              UNION ALL
                SELECT g.day::date, 0 FROM generate_series($2::date, $3::date, interval '1 day') g(day)
            ) e
            WHERE day <= $3::date
            GROUP BY day
        ) a
        WHERE day >= $2::date AND active <> 0
    ) churn GROUP BY day
  UNION ALL
    SELECT day, 'campaign_return_count', sum(n), sum(d) FROM (
        SELECT (t.window_start AT TIME ZONE $4)::date AS day, 0 AS n, count(*) AS d
        FROM campaign_target_facts t, bounds b
        WHERE t.dealer_id = $1 AND t.window_start >= b.lo AND t.window_start < b.hi
        GROUP BY 1
      UNION ALL
        SELECT (ret.first AT TIME ZONE $4)::date, count(*), 0
        FROM campaign_target_facts t
        CROSS JOIN LATERAL (
            SELECT min(r.open_time) AS first FROM repair_order_facts r
            WHERE r.vin = t.vin AND r.open_time >= t.window_start AND r.open_time < t.window_end
              AND (t.kind <> 'recall' OR (r.type = 'recall' AND r.campaign_code = t.code))
        ) ret, bounds b
        WHERE t.dealer_id = $1 AND ret.first >= b.lo AND ret.first < b.hi AND t.window_start < b.hi
        GROUP BY 1
    ) campaign GROUP BY day
  UNION ALL
    SELECT (r.close_time AT TIME ZONE $4)::date, 'first_time_fix_rate',
           count(*) FILTER (WHERE NOT EXISTS (
               SELECT 1 FROM repair_order_facts n WHERE n.vin = r.vin AND n.type = 'repair'
                 AND n.open_time > r.close_time AND n.open_time <= r.close_time + interval '720 hours')),
           count(*)
    FROM repair_order_facts r, bounds b
    WHERE r.dealer_id = $1 AND r.close_time >= b.lo AND r.close_time < b.hi
    GROUP BY 1
  UNION ALL
    SELECT day, kpi, n, d FROM (
        SELECT (a.entered_time AT TIME ZONE $4)::date AS day,
               count(*) FILTER (WHERE a.entered_time - a.trigger_time <= interval '24 hours') AS timely,
               count(*) FILTER (WHERE a.valid) AS valid, count(*) AS d
        FROM archive_facts a, bounds b
        WHERE a.dealer_id = $1 AND a.entered_time >= b.lo AND a.entered_time < b.hi
        GROUP BY 1
    ) x CROSS JOIN LATERAL (VALUES ('archive_timeliness_rate', x.timely), ('archive_accuracy_rate', x.valid)) v(kpi, n)
  UNION ALL
    SELECT (r.open_time AT TIME ZONE $4)::date, 'appointment_rate', count(*) FILTER (WHERE r.by_appointment), count(*)
    FROM repair_order_facts r, bounds b
    WHERE r.dealer_id = $1 AND r.open_time >= b.lo AND r.open_time < b.hi
    GROUP BY 1
  UNION ALL
    -- Dealer inspections (检核): the mean score of the visits of the day.
    SELECT (i.visit_time AT TIME ZONE $4)::date, 'inspection_score', sum(i.score), count(*)
    FROM inspections i, bounds b
    WHERE i.dealer_id = $1 AND i.visit_time >= b.lo AND i.visit_time < b.hi
    GROUP BY 1
)
INSERT INTO kpi_days (dealer_id, day, kpi, numerator, denominator)
SELECT $1, day, kpi, numerator, denominator FROM figures WHERE numerator <> 0 OR denominator <> 0`

// periodFigures sums the day figures of dealer $1 into its weeks or
// months ($2) starting at $3 (an array of first days).
const periodFigures = `
INSERT INTO kpi_periods (dealer_id, granularity, period_start, kpi, numerator, denominator)
SELECT $1, $2, p.start, d.kpi, sum(d.numerator),
       coalesce(sum(d.denominator) FILTER (WHERE d.kpi <> 'churn_rate' OR d.day = p.start), 0)
FROM unnest($3::date[]) p(start)
JOIN kpi_days d ON d.dealer_id = $1 AND d.day >= p.start
 AND d.day < CASE $2 WHEN 'week' THEN p.start + 7 ELSE (p.start + interval '1 month')::date END
GROUP BY p.start, d.kpi`

// RollupResult counts a rollup's work.
type RollupResult struct {
	Dealers int
	Days    int
	More    bool
}

// Rollup recomputes, for up to limit dealers with dirty days, those days'
// figures and the weeks and months that contain them, each dealer in one
// transaction with the removal of its dirty marks: re-running it changes
// nothing, and a fact applied meanwhile leaves its mark for the next run.
// Dealers another rollup is working on are skipped. The same transaction
// publishes the dealer's periods that are due (see publish).
func (s *Store) Rollup(ctx context.Context, limit int) (RollupResult, error) {
	var res RollupResult
	var dealers []string
	err := pg.InReadOnlyTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT DISTINCT dealer_id FROM dirty_ranges ORDER BY dealer_id LIMIT $1`, limit+1)
		if err != nil {
			return err
		}
		dealers, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return res, fmt.Errorf("list dirty dealers: %w", err)
	}
	if len(dealers) > limit {
		dealers, res.More = dealers[:limit], true
	}
	for _, d := range dealers {
		days, err := s.rollupDealer(ctx, d)
		if err != nil {
			return res, fmt.Errorf("roll up dealer %s: %w", d, err)
		}
		if days > 0 {
			res.Dealers++
			res.Days += days
		}
	}
	return res, nil
}

type dayRange struct{ from, to evaluation.Date } // inclusive

func (s *Store) rollupDealer(ctx context.Context, dealer string) (int, error) {
	days := 0
	err := pg.InTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		days = 0
		var locked bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(hashtext('evaluation/rollup/' || $1))`, dealer).Scan(&locked); err != nil || !locked {
			return err
		}
		var tz string
		if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT time_zone FROM dealers WHERE dealer_id = $1), 'Asia/Shanghai')`, dealer).Scan(&tz); err != nil {
			return err
		}
		zone := calendar.Zone(tz)
		rows, err := tx.Query(ctx, `DELETE FROM dirty_ranges WHERE dealer_id = $1 RETURNING from_time, to_time`, dealer)
		if err != nil {
			return err
		}
		var ranges []dayRange
		var from, to time.Time
		_, err = pgx.ForEachRow(rows, []any{&from, &to}, func() error {
			ranges = append(ranges, dayRange{evaluation.DateOf(from, zone), evaluation.DateOf(to, zone)})
			return nil
		})
		if err != nil {
			return err
		}
		ranges = merge(ranges)
		weeks, months := map[evaluation.Date]bool{}, map[evaluation.Date]bool{}
		for _, r := range ranges {
			if _, err := tx.Exec(ctx, `DELETE FROM kpi_days WHERE dealer_id = $1 AND day BETWEEN $2 AND $3`, dealer, r.from, r.to); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, dayFigures, dealer, r.from, r.to, zone.String()); err != nil {
				return err
			}
			if err := surveyDays(ctx, tx, dealer, r, zone.String()); err != nil {
				return err
			}
			for d := r.from; !d.After(r.to); d = d.AddDate(0, 0, 1) {
				weeks[evaluation.PeriodStart(evaluation.Week, d)] = true
				months[evaluation.PeriodStart(evaluation.Month, d)] = true
				days++
			}
		}
		for g, starts := range map[evaluation.Granularity]map[evaluation.Date]bool{evaluation.Week: weeks, evaluation.Month: months} {
			list := make([]evaluation.Date, 0, len(starts))
			for d := range starts {
				list = append(list, d)
			}
			if _, err := tx.Exec(ctx, `DELETE FROM kpi_periods WHERE dealer_id = $1 AND granularity = $2 AND period_start = ANY($3::date[])`, dealer, string(g), list); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, periodFigures, dealer, string(g), list); err != nil {
				return err
			}
		}
		if err := s.publish(ctx, tx, dealer, zone, map[evaluation.Granularity]map[evaluation.Date]bool{
			evaluation.Week: weeks, evaluation.Month: months}); err != nil {
			return fmt.Errorf("publish periods: %w", err)
		}
		if days == 0 {
			return nil
		}
		return bumpGeneration(ctx, tx)
	})
	return days, err
}

// merge joins overlapping and adjacent day ranges.
func merge(rs []dayRange) []dayRange {
	slices.SortFunc(rs, func(a, b dayRange) int { return a.from.Compare(b.from) })
	var out []dayRange
	for _, r := range rs {
		if r.to.Before(r.from) {
			r.from, r.to = r.to, r.from
		}
		if n := len(out); n > 0 && !r.from.After(out[n-1].to.AddDate(0, 0, 1)) {
			if r.to.After(out[n-1].to) {
				out[n-1].to = r.to
			}
			continue
		}
		out = append(out, r)
	}
	return out
}
