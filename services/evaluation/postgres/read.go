package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Figures reads the figures of granularity g for the periods starting at
// starts, summed over dealers (all the scope sees when dealers is nil),
// by period start. Periods without figures are absent.
func (s *Store) Figures(ctx context.Context, scope pg.Scope, dealers []string, g evaluation.Granularity, starts []evaluation.Date) (map[evaluation.Date]evaluation.Figures, error) {
	out := map[evaluation.Date]evaluation.Figures{}
	table, startCol, gran := "kpi_periods", "period_start", "AND granularity = $3"
	if g == evaluation.Day {
		table, startCol, gran = "kpi_days", "day", "AND $3::text IS NOT NULL"
	}
	err := pg.InReadOnlyTx(ctx, s.pool, scope, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+startCol+`, kpi, sum(numerator)::bigint, sum(denominator)::bigint FROM `+table+`
			WHERE `+startCol+` = ANY($1::date[]) AND ($2::text[] IS NULL OR dealer_id = ANY($2)) `+gran+`
			GROUP BY 1, 2`, starts, dealers, string(g))
		if err != nil {
			return err
		}
		var start time.Time
		var kpi string
		var f evaluation.Figure
		_, err = pgx.ForEachRow(rows, []any{&start, &kpi, &f.Numerator, &f.Denominator}, func() error {
			if out[start] == nil {
				out[start] = evaluation.Figures{}
			}
			out[start][kpi] = f
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read figures: %w", err)
	}
	return out, nil
}

// DealerFigures reads each dealer's figures (all the scope sees) of one
// period.
//
// The all-dealers read of a week or month (a ranking's) is kept in memory
// by the rollup generation it was read at, in the same transaction: the
// next read at the same generation is one row of PostgreSQL. The answer
// is the caller's to change.
func (s *Store) DealerFigures(ctx context.Context, scope pg.Scope, g evaluation.Granularity, start evaluation.Date) (map[string]evaluation.Figures, error) {
	if scope.All() && g != evaluation.Day {
		return s.cachedDealerFigures(ctx, g, start)
	}
	return s.dealerFigures(ctx, scope, g, start, nil)
}

func (s *Store) cachedDealerFigures(ctx context.Context, g evaluation.Granularity, start evaluation.Date) (map[string]evaluation.Figures, error) {
	k := periodKey{g, start}
	var gen int64
	if err := s.pool.QueryRow(ctx, `SELECT generation FROM rollup_generation WHERE id = 1`).Scan(&gen); err != nil {
		return nil, fmt.Errorf("read the rollup generation: %w", err)
	}
	figs, ok := s.periods.get(gen, k)
	if !ok {
		var err error
		if figs, err = s.dealerFigures(ctx, pg.AllDealers(), g, start, &gen); err != nil {
			return nil, err
		}
		s.periods.put(gen, k, figs)
	}
	out := make(map[string]evaluation.Figures, len(figs))
	for d, f := range figs {
		out[d] = maps.Clone(f)
	}
	return out, nil
}

// dealerFigures reads them; with gen it first reads the generation in the
// same transaction, so the figures are at least as new as it.
func (s *Store) dealerFigures(ctx context.Context, scope pg.Scope, g evaluation.Granularity, start evaluation.Date, gen *int64) (map[string]evaluation.Figures, error) {
	out := map[string]evaluation.Figures{}
	q := `SELECT dealer_id, kpi, numerator, denominator FROM kpi_periods WHERE granularity = $1 AND period_start = $2`
	if g == evaluation.Day {
		q = `SELECT dealer_id, kpi, numerator, denominator FROM kpi_days WHERE $1::text IS NOT NULL AND day = $2`
	}
	err := pg.InReadOnlyTx(ctx, s.pool, scope, func(tx pgx.Tx) error {
		if gen != nil {
			if err := tx.QueryRow(ctx, `SELECT generation FROM rollup_generation WHERE id = 1`).Scan(gen); err != nil {
				return err
			}
		}
		rows, err := tx.Query(ctx, q, string(g), start)
		if err != nil {
			return err
		}
		var dealer, kpi string
		var f evaluation.Figure
		_, err = pgx.ForEachRow(rows, []any{&dealer, &kpi, &f.Numerator, &f.Denominator}, func() error {
			if out[dealer] == nil {
				out[dealer] = evaluation.Figures{}
			}
			out[dealer][kpi] = f
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read dealer figures: %w", err)
	}
	return out, nil
}

// Dealers lists the dealers the scope sees.
func (s *Store) Dealers(ctx context.Context, scope pg.Scope) ([]evaluation.Dealer, error) {
	var out []evaluation.Dealer
	err := pg.InReadOnlyTx(ctx, s.pool, scope, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT dealer_id, region, time_zone, name FROM dealers ORDER BY dealer_id`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (evaluation.Dealer, error) {
			var d evaluation.Dealer
			return d, r.Scan(&d.Code, &d.Region, &d.TimeZone, &d.Name)
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list dealers: %w", err)
	}
	return out, nil
}

// SyncDealers stores the network's dealers; a dealer whose time zone
// changed has the last and next 400 days of its figures recomputed.
func (s *Store) SyncDealers(ctx context.Context, dealers []evaluation.Dealer, now time.Time) error {
	return pg.InTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		changed := false // a new dealer, region or name: the rankings change
		for _, d := range dealers {
			var oldZone string
			err := tx.QueryRow(ctx, `SELECT time_zone FROM dealers WHERE dealer_id = $1`, d.Code).Scan(&oldZone)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			tag, err := tx.Exec(ctx, `INSERT INTO dealers (dealer_id, region, time_zone, name) VALUES ($1, $2, $3, $4)
				ON CONFLICT (dealer_id) DO UPDATE SET region = excluded.region, time_zone = excluded.time_zone, name = excluded.name, update_time = now()
				WHERE (dealers.region, dealers.time_zone, dealers.name) IS DISTINCT FROM (excluded.region, excluded.time_zone, excluded.name)`,
				d.Code, d.Region, d.TimeZone, d.Name)
			if err != nil {
				return fmt.Errorf("store dealer %s: %w", d.Code, err)
			}
			changed = changed || tag.RowsAffected() > 0
			if oldZone != "" && oldZone != d.TimeZone {
				if _, err := tx.Exec(ctx, `INSERT INTO dirty_ranges (dealer_id, from_time, to_time) VALUES ($1, $2, $3)`,
					d.Code, now.AddDate(0, 0, -400), now.AddDate(0, 0, 400)); err != nil {
					return err
				}
			}
		}
		if changed {
			return bumpGeneration(ctx, tx)
		}
		return nil
	})
}

// TargetSets lists HQ's target sets, newest version first.
func (s *Store) TargetSets(ctx context.Context) ([]evaluation.TargetSet, error) {
	var out []evaluation.TargetSet
	err := pg.InReadOnlyTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) (err error) {
		out, err = targetSets(ctx, tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list target sets: %w", err)
	}
	return out, nil
}

func targetSets(ctx context.Context, tx pgx.Tx) ([]evaluation.TargetSet, error) {
	rows, err := tx.Query(ctx, `SELECT version, effective_month, targets, create_by, create_time FROM kpi_target_sets ORDER BY version DESC`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (evaluation.TargetSet, error) {
		var t evaluation.TargetSet
		var raw []byte
		if err := r.Scan(&t.Version, &t.EffectiveMonth, &raw, &t.CreateBy, &t.CreateTime); err != nil {
			return t, err
		}
		return t, json.Unmarshal(raw, &t.Targets)
	})
}

// CreateTargetSet stores a new version (the next number); two at once
// get different numbers or one fails with ECONFLICT.
func (s *Store) CreateTargetSet(ctx context.Context, t evaluation.TargetSet) (*evaluation.TargetSet, error) {
	raw, err := json.Marshal(t.Targets)
	if err != nil {
		return nil, err
	}
	err = pg.InTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO kpi_target_sets (version, effective_month, targets, create_by)
			SELECT coalesce(max(version), 0) + 1, $1, $2, $3 FROM kpi_target_sets
			RETURNING version, create_time`, t.EffectiveMonth, raw, t.CreateBy).Scan(&t.Version, &t.CreateTime); err != nil {
			return err
		}
		return bumpGeneration(ctx, tx) // the rankings' scores change
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return nil, apperr.Errorf(apperr.ECONFLICT, "another target set was created at the same time, retry").Zh("同时创建了另一版本的指标目标，请重试")
	}
	if err != nil {
		return nil, fmt.Errorf("create target set: %w", err)
	}
	return &t, nil
}

// RankingSettings reads HQ's ranking settings.
func (s *Store) RankingSettings(ctx context.Context) (evaluation.RankingSettings, error) {
	var out evaluation.RankingSettings
	err := pg.InReadOnlyTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT dealers_see_names, update_by, update_time FROM ranking_settings`).
			Scan(&out.DealersSeeNames, &out.UpdateBy, &out.UpdateTime)
	})
	if err != nil {
		return out, fmt.Errorf("read ranking settings: %w", err)
	}
	return out, nil
}

// SetRankingSettings stores HQ's ranking settings and returns them.
func (s *Store) SetRankingSettings(ctx context.Context, in evaluation.RankingSettings) (evaluation.RankingSettings, error) {
	out := in
	err := pg.InTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `UPDATE ranking_settings SET dealers_see_names = $1, update_by = $2, update_time = now()
			RETURNING update_time`, in.DealersSeeNames, in.UpdateBy).Scan(&out.UpdateTime)
	})
	if err != nil {
		return out, fmt.Errorf("store ranking settings: %w", err)
	}
	return out, nil
}
