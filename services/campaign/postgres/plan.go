package postgres

import (
	"context"
	"errors"

	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/campaign/campaign"
	"github.com/jackc/pgx/v5"
)

// Plans lists every maintenance plan.
func (s *Store) Plans(ctx context.Context) ([]campaign.Plan, error) {
	var out []campaign.Plan
	err := pg.InReadOnlyTx(ctx, s.pool, all, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT model, months, interval_km, default_km_per_day, update_time FROM maintenance_plans ORDER BY model`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p campaign.Plan
			if err := rows.Scan(&p.Model, &p.Months, &p.IntervalKM, &p.KMPerDay, &p.UpdateTime); err != nil {
				return err
			}
			out = append(out, p)
		}
		return rows.Err()
	})
	return out, err
}

// PlanOf reads one model's plan.
func (s *Store) PlanOf(ctx context.Context, model string) (campaign.Plan, bool, error) {
	var p campaign.Plan
	err := pg.InReadOnlyTx(ctx, s.pool, all, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT model, months, interval_km, default_km_per_day, update_time FROM maintenance_plans WHERE model = $1`, model).
			Scan(&p.Model, &p.Months, &p.IntervalKM, &p.KMPerDay, &p.UpdateTime)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return campaign.Plan{}, false, nil
	}
	return p, err == nil, err
}

// PutPlan creates or replaces a model's plan.
func (s *Store) PutPlan(ctx context.Context, p campaign.Plan) (campaign.Plan, error) {
	err := pg.InTx(ctx, s.pool, all, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO maintenance_plans (model, months, interval_km, default_km_per_day, update_time) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (model) DO UPDATE SET months = $2, interval_km = $3, default_km_per_day = $4, update_time = $5`,
			p.Model, p.Months, p.IntervalKM, p.KMPerDay, p.UpdateTime)
		return err
	})
	return p, err
}

// DeletePlan removes a model's plan.
func (s *Store) DeletePlan(ctx context.Context, model string) (bool, error) {
	var n int64
	err := pg.InTx(ctx, s.pool, all, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM maintenance_plans WHERE model = $1`, model)
		n = tag.RowsAffected()
		return err
	})
	return n > 0, err
}
