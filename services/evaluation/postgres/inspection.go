package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/idempotency"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

var _ evaluation.InspectionStore = (*Store)(nil)

// CreateChecklist stores c as the next version; two at once get
// different numbers or one fails with ECONFLICT.
func (s *Store) CreateChecklist(ctx context.Context, c evaluation.Checklist) (*evaluation.Checklist, error) {
	raw, err := json.Marshal(c.Items)
	if err != nil {
		return nil, err
	}
	err = pg.InTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO inspection_checklists (version, title, items, total_points, create_by)
			SELECT coalesce(max(version), 0) + 1, $1, $2, $3, $4 FROM inspection_checklists
			RETURNING version, create_time`, c.Title, raw, c.TotalPoints, c.CreateBy).Scan(&c.Version, &c.CreateTime)
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return nil, apperr.Errorf(apperr.ECONFLICT, "another checklist was published at the same time, retry").Zh("同时发布了另一版本的检核表，请重试")
	}
	if err != nil {
		return nil, fmt.Errorf("create inspection checklist: %w", err)
	}
	return &c, nil
}

const checklistColumns = `version, title, items, total_points, create_by, create_time`

func scanChecklist(r pgx.CollectableRow) (evaluation.Checklist, error) {
	var c evaluation.Checklist
	var raw []byte
	if err := r.Scan(&c.Version, &c.Title, &raw, &c.TotalPoints, &c.CreateBy, &c.CreateTime); err != nil {
		return c, err
	}
	return c, json.Unmarshal(raw, &c.Items)
}

// Checklists lists the versions, newest first.
func (s *Store) Checklists(ctx context.Context) ([]evaluation.Checklist, error) {
	var out []evaluation.Checklist
	err := pg.InReadOnlyTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+checklistColumns+` FROM inspection_checklists ORDER BY version DESC`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scanChecklist)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list inspection checklists: %w", err)
	}
	return out, nil
}

// Checklist reads one version; ENOTFOUND if none.
func (s *Store) Checklist(ctx context.Context, version int) (*evaluation.Checklist, error) {
	var out evaluation.Checklist
	err := pg.InReadOnlyTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+checklistColumns+` FROM inspection_checklists WHERE version = $1`, version)
		if err != nil {
			return err
		}
		out, err = pgx.CollectExactlyOneRow(rows, scanChecklist)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apperr.NotFound("inspection checklist", "检核表", fmt.Sprint(version))
	}
	if err != nil {
		return nil, fmt.Errorf("read inspection checklist: %w", err)
	}
	return &out, nil
}

const inspectionColumns = `dealer_id, inspection_id::text, checklist_version, visit_time, inspector, summary, items,
	total_points, deducted_points, score, create_time`

func scanInspection(r pgx.CollectableRow) (evaluation.Inspection, error) {
	var in evaluation.Inspection
	var raw []byte
	if err := r.Scan(&in.Dealer, &in.ID, &in.ChecklistVersion, &in.VisitTime, &in.Inspector, &in.Summary, &raw,
		&in.TotalPoints, &in.DeductedPoints, &in.Score, &in.CreateTime); err != nil {
		return in, err
	}
	return in, json.Unmarshal(raw, &in.Items)
}

// CreateInspection stores in and marks its visit's day dirty, so the
// next rollup puts it into the dealer's inspection_score, in one
// transaction.
func (s *Store) CreateInspection(ctx context.Context, scope pg.Scope, in evaluation.Inspection) (*evaluation.Inspection, error) {
	if in.Items == nil {
		in.Items = []evaluation.ItemResult{}
	}
	raw, err := json.Marshal(in.Items)
	if err != nil {
		return nil, err
	}
	var out evaluation.Inspection
	err = pg.InTx(ctx, s.pool, scope, func(tx pgx.Tx) error {
		// A keyed retry whose first answer was lost gets that inspection
		// back instead of a second score in the period's mean.
		id, repeated, err := idempotency.Once(ctx, tx, in.Dealer, func() (string, error) {
			rows, err := tx.Query(ctx, `INSERT INTO inspections (dealer_id, checklist_version, visit_time, inspector, summary, items,
					total_points, deducted_points, score)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING `+inspectionColumns,
				in.Dealer, in.ChecklistVersion, in.VisitTime, in.Inspector, in.Summary, raw, in.TotalPoints, in.DeductedPoints, in.Score)
			if err != nil {
				return "", err
			}
			if out, err = pgx.CollectExactlyOneRow(rows, scanInspection); err != nil {
				return "", err
			}
			_, err = tx.Exec(ctx, `INSERT INTO dirty_ranges (dealer_id, from_time, to_time) VALUES ($1, $2, $2)`, in.Dealer, in.VisitTime)
			return out.ID, err
		})
		if err != nil || !repeated {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+inspectionColumns+` FROM inspections WHERE dealer_id = $1 AND inspection_id::text = $2`, in.Dealer, id)
		if err != nil {
			return err
		}
		out, err = pgx.CollectExactlyOneRow(rows, scanInspection)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store inspection: %w", err)
	}
	return &out, nil
}

// Inspection reads one; ENOTFOUND if the scope does not see it (or the
// id is not one).
func (s *Store) Inspection(ctx context.Context, scope pg.Scope, dealer, id string) (*evaluation.Inspection, error) {
	var out evaluation.Inspection
	err := pg.InReadOnlyTx(ctx, s.pool, scope, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+inspectionColumns+` FROM inspections
			WHERE dealer_id = $1 AND inspection_id::text = $2`, dealer, id)
		if err != nil {
			return err
		}
		out, err = pgx.CollectExactlyOneRow(rows, scanInspection)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apperr.NotFound("inspection", "检核", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read inspection: %w", err)
	}
	return &out, nil
}

// Inspections lists a dealer's, newest visit first, after the cursor.
func (s *Store) Inspections(ctx context.Context, scope pg.Scope, dealer string, limit int, after *evaluation.InspectionCursor) ([]evaluation.Inspection, error) {
	var out []evaluation.Inspection
	var afterTime *time.Time
	afterID := ""
	if after != nil {
		afterTime, afterID = &after.VisitTime, after.ID
	}
	err := pg.InReadOnlyTx(ctx, s.pool, scope, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+inspectionColumns+` FROM inspections
			WHERE dealer_id = $1 AND ($2::timestamptz IS NULL OR (visit_time, inspection_id::text) < ($2, $3))
			ORDER BY visit_time DESC, inspection_id::text DESC LIMIT $4`, dealer, afterTime, afterID, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scanInspection)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list inspections: %w", err)
	}
	return out, nil
}

// InspectionScores reads the visit time and score of each of a dealer's
// inspections visited in [from, to).
func (s *Store) InspectionScores(ctx context.Context, scope pg.Scope, dealer string, from, to time.Time) ([]evaluation.Inspection, error) {
	var out []evaluation.Inspection
	err := pg.InReadOnlyTx(ctx, s.pool, scope, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT visit_time, score FROM inspections
			WHERE dealer_id = $1 AND visit_time >= $2 AND visit_time < $3 ORDER BY visit_time`, dealer, from, to)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (evaluation.Inspection, error) {
			in := evaluation.Inspection{Dealer: dealer}
			return in, r.Scan(&in.VisitTime, &in.Score)
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read inspection scores: %w", err)
	}
	return out, nil
}
