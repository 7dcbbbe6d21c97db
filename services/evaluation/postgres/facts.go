// Package postgres is the evaluation service's PostgreSQL adapter: facts,
// the dealer-days they touched, the rollups and HQ's targets.
package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sync"
	"time"

	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Schema is the evaluation service's PostgreSQL schema.
const Schema = "evaluation"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded, versioned migrations.
func Migrations() (fs.FS, error) { return fs.Sub(migrationFiles, "migrations") }

// Store persists facts and rollups. Facts and rollups are written by the
// service's own workflows across every dealer; reads take the caller's
// scope, and row-level security backs every query up.
type Store struct {
	pool *pgxpool.Pool
	// periods keeps the all-dealers period figures DealerFigures read, by
	// the rollup generation they were read at (rollup_generation).
	periods periodCache
	// rankings keeps the finished rankings read or computed, decoded, by
	// generation (kpi_rankings holds them for every replica).
	rankings rankingMemo
	// Now is the clock that decides which periods have ended (time.Now
	// when nil).
	Now func() time.Time
}

func (s *Store) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// NewStore returns a store over pool (the service role).
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// periodCache holds, for one rollup generation, every dealer's figures
// of the periods read at it.
type periodCache struct {
	mu         sync.Mutex
	generation int64
	figures    map[periodKey]map[string]evaluation.Figures
}

type periodKey struct {
	g     evaluation.Granularity
	start evaluation.Date
}

// maxCachedPeriods bounds the cache (a ranking reads two periods).
const maxCachedPeriods = 64

func (c *periodCache) get(gen int64, k periodKey) (map[string]evaluation.Figures, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.generation != gen {
		return nil, false
	}
	f, ok := c.figures[k]
	return f, ok
}

func (c *periodCache) put(gen int64, k periodKey, f map[string]evaluation.Figures) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.figures == nil || c.generation != gen || len(c.figures) >= maxCachedPeriods {
		if gen < c.generation {
			return // read before a newer generation was cached
		}
		c.generation, c.figures = gen, map[periodKey]map[string]evaluation.Figures{}
	}
	c.figures[k] = f
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// ApplyFacts stores facts and, in the same transaction, the source's
// cursor (when source is not empty), so a page of a feed is applied once
// whatever fails: a fact with a source_seq no newer than the stored copy
// changes nothing. Every changed fact marks the instants it (old and new
// copy) and the facts depending on it touch as dirty. It returns how many
// facts changed.
func (s *Store) ApplyFacts(ctx context.Context, f evaluation.Facts, source, cursor string) (int, error) {
	if err := f.Validate(); err != nil {
		return 0, err
	}
	changed := 0
	err := pg.InTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		changed = 0
		for _, v := range f.Callbacks {
			ok, stale, err := applyCallback(ctx, tx, v)
			if err != nil {
				return fmt.Errorf("apply callback fact %s/%s: %w", v.Fact.Dealer, v.Fact.TaskID, err)
			}
			answered, err := applySurvey(ctx, tx, v, stale)
			if err != nil {
				return fmt.Errorf("apply survey answers %s/%s: %w", v.Fact.Dealer, v.Fact.TaskID, err)
			}
			changed += b2i(ok || answered)
		}
		for _, v := range f.Deliveries {
			ok, err := applyDelivery(ctx, tx, v)
			if err != nil {
				return fmt.Errorf("apply delivery fact %s/%s: %w", v.Fact.Dealer, v.Fact.SaleID, err)
			}
			changed += b2i(ok)
		}
		for _, v := range f.Complaints {
			ok, err := applyComplaint(ctx, tx, v)
			if err != nil {
				return fmt.Errorf("apply complaint fact %s/%s: %w", v.Fact.Dealer, v.Fact.ComplaintID, err)
			}
			changed += b2i(ok)
		}
		for _, v := range f.RepairOrders {
			ok, err := applyRepairOrder(ctx, tx, v)
			if err != nil {
				return fmt.Errorf("apply repair order fact %s/%s: %w", v.Fact.Dealer, v.Fact.RepairOrderID, err)
			}
			changed += b2i(ok)
		}
		for _, v := range f.ServiceDues {
			ok, err := applyServiceDue(ctx, tx, v)
			if err != nil {
				return fmt.Errorf("apply service due fact %s/%s: %w", v.Fact.Dealer, v.Fact.VIN, err)
			}
			changed += b2i(ok)
		}
		for _, v := range f.Archives {
			ok, err := applyArchive(ctx, tx, v)
			if err != nil {
				return fmt.Errorf("apply archive fact %s/%s: %w", v.Fact.Dealer, v.Fact.ArchiveID, err)
			}
			changed += b2i(ok)
		}
		for _, v := range f.CampaignTargets {
			ok, err := applyCampaignTarget(ctx, tx, v)
			if err != nil {
				return fmt.Errorf("apply campaign target fact %s/%s: %w", v.Fact.Dealer, v.Fact.CampaignID, err)
			}
			changed += b2i(ok)
		}
		if source != "" {
			_, err := tx.Exec(ctx, `INSERT INTO feed_cursors (source, cursor) VALUES ($1, $2)
				ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor, update_time = now()`, source, cursor)
			return err
		}
		return nil
	})
	return changed, err
}

// Cursor is where a source's feed has been applied up to ("" from the
// start).
func (s *Store) Cursor(ctx context.Context, source string) (string, error) {
	var cursor string
	err := s.pool.QueryRow(ctx, `SELECT coalesce((SELECT cursor FROM feed_cursors WHERE source = $1), '')`, source).Scan(&cursor)
	return cursor, err
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// markInstants marks the local days of the instants of dealer dirty; zero
// instants are skipped.
func markInstants(ctx context.Context, tx pgx.Tx, dealer string, at ...time.Time) error {
	for _, t := range at {
		if t.IsZero() {
			continue
		}
		if _, err := tx.Exec(ctx, `INSERT INTO dirty_ranges (dealer_id, from_time, to_time) VALUES ($1, $2, $2)`, dealer, t); err != nil {
			return err
		}
	}
	return nil
}

// applyCallback stores a callback fact unless the stored copy is as new
// (changed reports whether it did); stale reports that the stored copy
// is newer than this one.
func applyCallback(ctx context.Context, tx pgx.Tx, v evaluation.Versioned[evaluation.CallbackFact]) (changed, stale bool, err error) {
	f := v.Fact
	var oldDue, oldComplete *time.Time
	var oldSource string
	var oldSeq int64
	err = tx.QueryRow(ctx, `SELECT due_time, complete_time, source_id, source_seq FROM callback_facts WHERE dealer_id = $1 AND task_id = $2 FOR UPDATE`,
		f.Dealer, f.TaskID).Scan(&oldDue, &oldComplete, &oldSource, &oldSeq)
	if err != nil && err != pgx.ErrNoRows {
		return false, false, err
	}
	stale = oldSeq > v.Seq
	tag, err := tx.Exec(ctx, `INSERT INTO callback_facts (dealer_id, task_id, kind, source_id, status, due_time, deadline, complete_time, score, source_seq)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (dealer_id, task_id) DO UPDATE SET kind = excluded.kind, source_id = excluded.source_id, status = excluded.status,
			due_time = excluded.due_time, deadline = excluded.deadline, complete_time = excluded.complete_time, score = excluded.score,
			source_seq = excluded.source_seq
		WHERE callback_facts.source_seq < excluded.source_seq`,
		f.Dealer, f.TaskID, f.Kind, f.SourceID, f.Status, f.DueTime, f.Deadline, nullTime(f.CompleteTime), f.ScoreHundredths(), v.Seq)
	if err != nil || tag.RowsAffected() == 0 {
		return false, stale, err
	}
	if err := markInstants(ctx, tx, f.Dealer, f.DueTime, f.CompleteTime, deref(oldDue), deref(oldComplete)); err != nil {
		return false, false, err
	}
	// A 7DC decides its delivery's new_customer_callback_rate.
	_, err = tx.Exec(ctx, `INSERT INTO dirty_ranges (dealer_id, from_time, to_time)
		SELECT dealer_id, delivered_time, delivered_time FROM delivery_facts WHERE dealer_id = $1 AND sale_id IN ($2, $3)`,
		f.Dealer, f.SourceID, oldSource)
	return true, false, err
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func applyDelivery(ctx context.Context, tx pgx.Tx, v evaluation.Versioned[evaluation.DeliveryFact]) (bool, error) {
	f := v.Fact
	var old *time.Time
	err := tx.QueryRow(ctx, `SELECT delivered_time FROM delivery_facts WHERE dealer_id = $1 AND sale_id = $2 FOR UPDATE`, f.Dealer, f.SaleID).Scan(&old)
	if err != nil && err != pgx.ErrNoRows {
		return false, err
	}
	tag, err := tx.Exec(ctx, `INSERT INTO delivery_facts (dealer_id, sale_id, vin, delivered_time, source_seq) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (dealer_id, sale_id) DO UPDATE SET vin = excluded.vin, delivered_time = excluded.delivered_time, source_seq = excluded.source_seq
		WHERE delivery_facts.source_seq < excluded.source_seq`, f.Dealer, f.SaleID, f.VIN, f.DeliveredTime, v.Seq)
	if err != nil || tag.RowsAffected() == 0 {
		return false, err
	}
	return true, markInstants(ctx, tx, f.Dealer, f.DeliveredTime, deref(old))
}

func applyComplaint(ctx context.Context, tx pgx.Tx, v evaluation.Versioned[evaluation.ComplaintFact]) (bool, error) {
	f := v.Fact
	var oldDealer string
	var oldCreate, oldClose *time.Time
	// By id alone: a transferred complaint moves to its new owner.
	err := tx.QueryRow(ctx, `SELECT dealer_id, create_time, close_time FROM complaint_facts WHERE complaint_id = $1 FOR UPDATE`, f.ComplaintID).
		Scan(&oldDealer, &oldCreate, &oldClose)
	if err != nil && err != pgx.ErrNoRows {
		return false, err
	}
	if oldDealer != "" && oldDealer != f.Dealer {
		tag, err := tx.Exec(ctx, `DELETE FROM complaint_facts WHERE complaint_id = $1 AND source_seq < $2`, f.ComplaintID, v.Seq)
		if err != nil || tag.RowsAffected() == 0 {
			return false, err
		}
	}
	tag, err := tx.Exec(ctx, `INSERT INTO complaint_facts (dealer_id, complaint_id, severity, create_time, response_met, resolution_met, close_time, reopen_count, source_seq)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (dealer_id, complaint_id) DO UPDATE SET severity = excluded.severity, create_time = excluded.create_time,
			response_met = excluded.response_met, resolution_met = excluded.resolution_met, close_time = excluded.close_time,
			reopen_count = excluded.reopen_count, source_seq = excluded.source_seq
		WHERE complaint_facts.source_seq < excluded.source_seq`,
		f.Dealer, f.ComplaintID, f.Severity, f.CreateTime, f.ResponseMet, f.ResolutionMet, nullTime(f.CloseTime), f.ReopenCount, v.Seq)
	if err != nil || tag.RowsAffected() == 0 {
		return false, err
	}
	if err := markInstants(ctx, tx, f.Dealer, f.CreateTime, f.CloseTime); err != nil {
		return false, err
	}
	if oldDealer != "" {
		return true, markInstants(ctx, tx, oldDealer, deref(oldCreate), deref(oldClose))
	}
	return true, nil
}

// markVisit marks what a visit of vin at dealer opened at open (closed at
// closed) decides: its own days, the first-time fix of the vehicle's
// repair orders closed in the 30 days before, the returns of its
// maintenance dues within 30 days, the churn and the active vehicles of
// its own year and of the visits before it, and the campaign returns of
// targets whose window it falls in.
func markVisit(ctx context.Context, tx pgx.Tx, dealer, id, vin string, open, closed time.Time) error {
	if err := markInstants(ctx, tx, dealer, open, closed); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO dirty_ranges (dealer_id, from_time, to_time)
		SELECT r.dealer_id, r.close_time, r.close_time FROM repair_order_facts r
		WHERE r.vin = $2 AND r.open_time <= $3 AND r.close_time >= $3 - interval '720 hours' AND r.close_time < $3
		UNION ALL
		SELECT d.dealer_id, d.due_time, d.due_time FROM service_due_facts d
		WHERE d.vin = $2 AND d.due_time BETWEEN $3 - interval '720 hours' AND $3 + interval '720 hours'
		UNION ALL
		SELECT $1, $3, $3 + interval '8760 hours'
		UNION ALL
		SELECT p.dealer_id, $3, p.open_time + interval '8760 hours' FROM repair_order_facts p
		WHERE p.vin = $2 AND p.open_time <= $3 AND p.open_time >= $3 - interval '8760 hours' AND NOT (p.dealer_id = $1 AND p.repair_order_id = $4)
		UNION ALL
		SELECT t.dealer_id, t.window_start, t.window_end FROM campaign_target_facts t
		WHERE t.vin = $2 AND t.window_start <= $3 AND t.window_end > $3`, dealer, vin, open, id)
	return err
}

func applyRepairOrder(ctx context.Context, tx pgx.Tx, v evaluation.Versioned[evaluation.RepairOrderFact]) (bool, error) {
	f := v.Fact
	var oldVIN string
	var oldOpen time.Time
	var oldClose *time.Time
	err := tx.QueryRow(ctx, `SELECT vin, open_time, close_time FROM repair_order_facts WHERE dealer_id = $1 AND repair_order_id = $2 FOR UPDATE`,
		f.Dealer, f.RepairOrderID).Scan(&oldVIN, &oldOpen, &oldClose)
	if err != nil && err != pgx.ErrNoRows {
		return false, err
	}
	tag, err := tx.Exec(ctx, `INSERT INTO repair_order_facts (dealer_id, repair_order_id, vin, type, open_time, close_time, by_appointment, campaign_code, source_seq)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (dealer_id, repair_order_id) DO UPDATE SET vin = excluded.vin, type = excluded.type, open_time = excluded.open_time,
			close_time = excluded.close_time, by_appointment = excluded.by_appointment, campaign_code = excluded.campaign_code,
			source_seq = excluded.source_seq
		WHERE repair_order_facts.source_seq < excluded.source_seq`,
		f.Dealer, f.RepairOrderID, f.VIN, f.Type, f.OpenTime, nullTime(f.CloseTime), f.ByAppointment, f.CampaignCode, v.Seq)
	if err != nil || tag.RowsAffected() == 0 {
		return false, err
	}
	if err := markVisit(ctx, tx, f.Dealer, f.RepairOrderID, f.VIN, f.OpenTime, f.CloseTime); err != nil {
		return false, err
	}
	if oldVIN != "" {
		return true, markVisit(ctx, tx, f.Dealer, f.RepairOrderID, oldVIN, oldOpen, deref(oldClose))
	}
	return true, nil
}

func applyServiceDue(ctx context.Context, tx pgx.Tx, v evaluation.Versioned[evaluation.ServiceDueFact]) (bool, error) {
	f := v.Fact
	tag, err := tx.Exec(ctx, `INSERT INTO service_due_facts (dealer_id, vin, due_time, source_seq) VALUES ($1, $2, $3, $4)
		ON CONFLICT (dealer_id, vin, due_time) DO UPDATE SET source_seq = excluded.source_seq
		WHERE service_due_facts.source_seq < excluded.source_seq`, f.Dealer, f.VIN, f.DueTime, v.Seq)
	if err != nil || tag.RowsAffected() == 0 {
		return false, err
	}
	return true, markInstants(ctx, tx, f.Dealer, f.DueTime)
}

func applyArchive(ctx context.Context, tx pgx.Tx, v evaluation.Versioned[evaluation.ArchiveFact]) (bool, error) {
	f := v.Fact
	var old *time.Time
	err := tx.QueryRow(ctx, `SELECT entered_time FROM archive_facts WHERE dealer_id = $1 AND archive_id = $2 FOR UPDATE`, f.Dealer, f.ArchiveID).Scan(&old)
	if err != nil && err != pgx.ErrNoRows {
		return false, err
	}
	tag, err := tx.Exec(ctx, `INSERT INTO archive_facts (dealer_id, archive_id, trigger_time, entered_time, valid, source_seq) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (dealer_id, archive_id) DO UPDATE SET trigger_time = excluded.trigger_time, entered_time = excluded.entered_time,
			valid = excluded.valid, source_seq = excluded.source_seq
		WHERE archive_facts.source_seq < excluded.source_seq`, f.Dealer, f.ArchiveID, f.TriggerTime, f.EnteredTime, f.Valid, v.Seq)
	if err != nil || tag.RowsAffected() == 0 {
		return false, err
	}
	return true, markInstants(ctx, tx, f.Dealer, f.EnteredTime, deref(old))
}

func applyCampaignTarget(ctx context.Context, tx pgx.Tx, v evaluation.Versioned[evaluation.CampaignTargetFact]) (bool, error) {
	f := v.Fact
	var oldStart, oldEnd *time.Time
	err := tx.QueryRow(ctx, `SELECT window_start, window_end FROM campaign_target_facts WHERE dealer_id = $1 AND campaign_id = $2 AND customer_id = $3 FOR UPDATE`,
		f.Dealer, f.CampaignID, f.CustomerID).Scan(&oldStart, &oldEnd)
	if err != nil && err != pgx.ErrNoRows {
		return false, err
	}
	tag, err := tx.Exec(ctx, `INSERT INTO campaign_target_facts (dealer_id, campaign_id, customer_id, vin, window_start, window_end, kind, code, source_seq)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (dealer_id, campaign_id, customer_id) DO UPDATE SET vin = excluded.vin, window_start = excluded.window_start,
			window_end = excluded.window_end, kind = excluded.kind, code = excluded.code, source_seq = excluded.source_seq
		WHERE campaign_target_facts.source_seq < excluded.source_seq`,
		f.Dealer, f.CampaignID, f.CustomerID, f.VIN, f.WindowStart, f.WindowEnd, f.Kind, f.Code, v.Seq)
	if err != nil || tag.RowsAffected() == 0 {
		return false, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO dirty_ranges (dealer_id, from_time, to_time) VALUES ($1, $2, $3)`, f.Dealer, f.WindowStart, f.WindowEnd); err != nil {
		return false, err
	}
	if oldStart != nil {
		_, err = tx.Exec(ctx, `INSERT INTO dirty_ranges (dealer_id, from_time, to_time) VALUES ($1, $2, $3)`, f.Dealer, *oldStart, *oldEnd)
	}
	return true, err
}
