package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/dealercare/dealercare/pkg/calendar"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
	"github.com/jackc/pgx/v5"
)

// published is what kpi_publications keeps of a period: each KPI's
// numerator and denominator.
type published map[string][2]int64

func publishedOf(f evaluation.Figures) published {
	p := published{}
	for k, v := range f {
		p[k] = [2]int64{v.Numerator, v.Denominator}
	}
	return p
}

// publish, in the rollup transaction of dealer (its advisory lock held,
// its figures current), publishes what evaluation's rule says is due: the
// latest ended week and month if never published, and every recomputed
// period (touched) already published whose figures changed, with the next
// revision. Each publication is an outbox event in this transaction, so
// it is sent once per revision, and a rerun publishes nothing.
func (s *Store) publish(ctx context.Context, tx pgx.Tx, dealer string, zone *time.Location, touched map[evaluation.Granularity]map[evaluation.Date]bool) error {
	now := s.now()
	today := evaluation.DateOf(now, zone)
	latest := map[periodKey]bool{}
	var keys []periodKey
	for _, g := range []evaluation.Granularity{evaluation.Week, evaluation.Month} {
		k := periodKey{g, evaluation.LastEnded(g, today)}
		latest[k] = true
		keys = append(keys, k)
		for start := range touched[g] {
			if k := (periodKey{g, start}); !latest[k] && evaluation.Ended(g, start, today) {
				keys = append(keys, k)
			}
		}
	}
	slices.SortFunc(keys, func(a, b periodKey) int {
		return cmp.Or(cmp.Compare(a.g, b.g), a.start.Compare(b.start))
	})
	var sets []evaluation.TargetSet
	for _, k := range keys {
		rev, before := 0, published{}
		var raw []byte
		err := tx.QueryRow(ctx, `SELECT revision, figures FROM kpi_publications WHERE dealer_id = $1 AND granularity = $2 AND period_start = $3`,
			dealer, string(k.g), k.start).Scan(&rev, &raw)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			if !latest[k] {
				continue // never published: history is not
			}
		case err != nil:
			return err
		default:
			if err := json.Unmarshal(raw, &before); err != nil {
				return fmt.Errorf("read publication %s %s: %w", k.g, k.start.Format(time.DateOnly), err)
			}
		}
		figs, err := pubFigures(ctx, tx, dealer, k)
		if err != nil {
			return err
		}
		after := publishedOf(figs)
		if (rev == 0 && len(after) == 0) || (rev > 0 && maps.Equal(before, after)) {
			continue
		}
		if sets == nil {
			if sets, err = targetSets(ctx, tx); err != nil {
				return err
			}
		}
		rev++
		data := evaluation.Publication(dealer, zone.String(), k.g, k.start, rev, figs, sets)
		ev, err := events.WebhookEvent(dealer, events.WebhookKpiPeriodPublished, evaluation.PeriodResource(dealer, k.g, k.start), now, data)
		if err != nil {
			return err
		}
		if err := outbox.Add(ctx, tx, ev); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO kpi_publications (dealer_id, granularity, period_start, revision, figures, publish_time)
            VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dealer_id, granularity, period_start)
            DO UPDATE SET revision = excluded.revision, figures = excluded.figures, publish_time = excluded.publish_time`,
			dealer, string(k.g), k.start, rev, after, now); err != nil {
			return fmt.Errorf("record publication: %w", err)
		}
	}
	return nil
}

func pubFigures(ctx context.Context, tx pgx.Tx, dealer string, k periodKey) (evaluation.Figures, error) {
	rows, err := tx.Query(ctx, `SELECT kpi, numerator, denominator FROM kpi_periods WHERE dealer_id = $1 AND granularity = $2 AND period_start = $3`,
		dealer, string(k.g), k.start)
	if err != nil {
		return nil, err
	}
	f := evaluation.Figures{}
	var kpi string
	var fig evaluation.Figure
	_, err = pgx.ForEachRow(rows, []any{&kpi, &fig.Numerator, &fig.Denominator}, func() error {
		f[kpi] = fig
		return nil
	})
	return f, err
}

// Publish publishes the periods that ended at dealers without new facts
// (a dealer with new facts publishes in its rollup): it finds the dealers
// whose latest ended week or month has figures but no publication, and
// runs their rollup, which publishes. It returns how many dealers it
// rolled up.
func (s *Store) Publish(ctx context.Context) (int, error) {
	now := s.now()
	var dealers []string
	err := pg.InReadOnlyTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT dealer_id, time_zone FROM dealers`)
		if err != nil {
			return err
		}
		var ids, grans []string
		var starts []evaluation.Date
		var id, tz string
		if _, err := pgx.ForEachRow(rows, []any{&id, &tz}, func() error {
			today := evaluation.DateOf(now, calendar.Zone(tz))
			for _, g := range []evaluation.Granularity{evaluation.Week, evaluation.Month} {
				ids, grans, starts = append(ids, id), append(grans, string(g)), append(starts, evaluation.LastEnded(g, today))
			}
			return nil
		}); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT DISTINCT c.dealer_id FROM unnest($1::text[], $2::text[], $3::date[]) c(dealer_id, g, start)
            WHERE EXISTS (SELECT 1 FROM kpi_periods k WHERE k.dealer_id = c.dealer_id AND k.granularity = c.g AND k.period_start = c.start)
              AND NOT EXISTS (SELECT 1 FROM kpi_publications p WHERE p.dealer_id = c.dealer_id AND p.granularity = c.g AND p.period_start = c.start)
            ORDER BY 1`, ids, grans, starts)
		if err != nil {
			return err
		}
		dealers, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("find periods to publish: %w", err)
	}
	for _, d := range dealers {
		if _, err := s.rollupDealer(ctx, d); err != nil {
			return 0, fmt.Errorf("publish dealer %s: %w", d, err)
		}
	}
	return len(dealers), nil
}
