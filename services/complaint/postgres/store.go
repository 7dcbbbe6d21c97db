// Package postgres is the complaint service's PostgreSQL adapter.
package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/idempotency"
	"github.com/dealercare/dealercare/pkg/outbox"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/pkg/validate"
	"github.com/dealercare/dealercare/services/complaint/complaint"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Schema is the complaint service's PostgreSQL schema.
const Schema = "complaint"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded, versioned migrations.
func Migrations() (fs.FS, error) { return fs.Sub(migrationFiles, "migrations") }

// Store persists complaints (complaint.Store). Every method takes the
// caller's scope.
type Store struct {
	pool *pgxpool.Pool
}

var _ complaint.Store = (*Store)(nil)

// NewStore returns a store over pool (the service role).
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// fields are the columns of complaints: where a read puts each and,
// unless it is fixed when the complaint is filed, what Update writes. The
// select list, scan and Update's SET clause all come from this one list,
// so a field that is read is also written: Update used to name its columns
// by hand and silently dropped category, description, customer and vin.
var fields = pg.Fields[complaint.Complaint]{
	{Column: "dealer_id", Dst: func(c *complaint.Complaint) any { return &c.Dealer }, Value: func(c *complaint.Complaint) any { return c.Dealer }},
	{Column: "id::text", Dst: func(c *complaint.Complaint) any { return &c.ID }},
	{Column: "origin_dealer", Dst: func(c *complaint.Complaint) any { return &c.OriginDealer }},
	{Column: "channel", Dst: func(c *complaint.Complaint) any { return &c.Channel }},
	{Column: "category", Dst: func(c *complaint.Complaint) any { return &c.Category }, Value: func(c *complaint.Complaint) any { return c.Category }},
	{Column: "severity", Dst: func(c *complaint.Complaint) any { return &c.Severity }, Value: func(c *complaint.Complaint) any { return c.Severity }},
	{Column: "customer_id", Dst: func(c *complaint.Complaint) any { return &c.Customer }, Value: func(c *complaint.Complaint) any { return c.Customer }},
	{Column: "vin", Dst: func(c *complaint.Complaint) any { return &c.VIN }, Value: func(c *complaint.Complaint) any { return c.VIN }},
	{Column: "description", Dst: func(c *complaint.Complaint) any { return &c.Description }, Value: func(c *complaint.Complaint) any { return c.Description }},
	{Column: "assignee", Dst: func(c *complaint.Complaint) any { return &c.Assignee }, Value: func(c *complaint.Complaint) any { return c.Assignee }},
	{Column: "root_cause", Dst: func(c *complaint.Complaint) any { return &c.RootCause }, Value: func(c *complaint.Complaint) any { return c.RootCause }},
	{Column: "corrective_actions", Dst: func(c *complaint.Complaint) any { return &c.CorrectiveActions }, Value: func(c *complaint.Complaint) any { return c.CorrectiveActions }},
	{Column: "resolution", Dst: func(c *complaint.Complaint) any { return &c.Resolution }, Value: func(c *complaint.Complaint) any { return c.Resolution }},
	{Column: "state", Dst: func(c *complaint.Complaint) any { return &c.State }, Value: func(c *complaint.Complaint) any { return c.State }},
	{Column: "level", Dst: func(c *complaint.Complaint) any { return &c.Level }, Value: func(c *complaint.Complaint) any { return c.Level }},
	{Column: "acknowledge_time", Dst: func(c *complaint.Complaint) any { return pg.OptTime{Dst: &c.AcknowledgeTime} }, Value: func(c *complaint.Complaint) any { return pg.NullTime(c.AcknowledgeTime) }},
	{Column: "resolve_time", Dst: func(c *complaint.Complaint) any { return pg.OptTime{Dst: &c.ResolveTime} }, Value: func(c *complaint.Complaint) any { return pg.NullTime(c.ResolveTime) }},
	{Column: "reopen_count", Dst: func(c *complaint.Complaint) any { return &c.ReopenCount }, Value: func(c *complaint.Complaint) any { return c.ReopenCount }},
	{Column: "version", Dst: func(c *complaint.Complaint) any { return &c.Version }, Value: func(c *complaint.Complaint) any { return c.Version }},
	// The deadlines are the workflow's (SetDeadlines), not an update's.
	{Column: "response_due_time", Dst: func(c *complaint.Complaint) any { return pg.OptTime{Dst: &c.ResponseDue} }},
	{Column: "resolution_due_time", Dst: func(c *complaint.Complaint) any { return pg.OptTime{Dst: &c.ResolutionDue} }},
	{Column: "create_time", Dst: func(c *complaint.Complaint) any { return &c.CreateTime }},
	{Column: "update_time", Dst: func(c *complaint.Complaint) any { return &c.UpdateTime }, Value: func(c *complaint.Complaint) any { return c.UpdateTime }},
	{Column: "source", Dst: func(c *complaint.Complaint) any { return &c.Source }},
	{Column: "sla_policy_version", Dst: func(c *complaint.Complaint) any { return &c.PolicyVersion }, Value: func(c *complaint.Complaint) any { return c.PolicyVersion }},
}

// columns is the select list of a complaint.
var columns = fields.Columns()

func scan(row pgx.Row) (*complaint.Complaint, error) {
	var c complaint.Complaint
	return &c, fields.Scan(row, &c)
}

func notFound(id string) error { return apperr.NotFound("complaint", "投诉", id) }

// changed queues the workflow's event in tx, and the webhook event when
// the change is one subscribers can ask for.
func changed(ctx context.Context, tx pgx.Tx, c *complaint.Complaint, change complaint.ChangeKind, at time.Time) error {
	if err := outbox.Add(ctx, tx, outbox.Event{
		DealerID: c.Dealer, Kind: events.KindComplaintChanged,
		WorkflowID: events.ComplaintWorkflowID(c.OriginDealer, c.ID), WorkflowType: events.ComplaintWorkflowType,
		TaskQueue: events.ComplaintTaskQueue, SignalName: events.ComplaintSignal,
		StartInput: events.ComplaintStart{ComplaintID: c.ID, OriginDealer: c.OriginDealer},
		Payload:    c.Changed(change, at), OccurredAt: at,
	}); err != nil {
		return err
	}
	return webhookEvent(ctx, tx, c, change, at)
}

// webhookTypes are the complaint changes webhook subscribers receive.
var webhookTypes = map[complaint.ChangeKind]string{
	complaint.ChangeCreated: events.WebhookComplaintCreated, complaint.ChangeEscalated: events.WebhookComplaintEscalated,
	complaint.ChangeResolved: events.WebhookComplaintResolved, complaint.ChangeClosed: events.WebhookComplaintClosed,
}

// webhookEvent queues the webhook event of change, if any, for the
// complaint's current owner. Its data is the workflow's event: ids,
// states and times, no personal data.
func webhookEvent(ctx context.Context, tx pgx.Tx, c *complaint.Complaint, change complaint.ChangeKind, at time.Time) error {
	typ, ok := webhookTypes[change]
	if !ok {
		return nil
	}
	e, err := events.WebhookEvent(c.Dealer, typ, "dealers/"+c.OriginDealer+"/complaints/"+c.ID, at, c.Changed(change, at))
	if err != nil {
		return err
	}
	return outbox.Add(ctx, tx, e)
}

func appendEvent(ctx context.Context, tx pgx.Tx, c *complaint.Complaint, e complaint.Event) error {
	var key any
	if e.Key != "" {
		key = e.Key
	}
	_, err := tx.Exec(ctx, `INSERT INTO complaint_events (dealer_id, complaint_id, kind, actor, time, level, detail, key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, c.Dealer, c.ID, e.Kind, e.Actor, e.Time, c.Level, e.Detail, key)
	return err
}

// Create files a complaint, its first timeline entry and the event that
// starts its escalation workflow, in one transaction: if Temporal is down
// the complaint is still saved and its workflow starts once it is back.
func (s *Store) Create(ctx context.Context, c *complaint.Complaint, ch complaint.Change, actor string, at time.Time) (*complaint.Complaint, error) {
	c.ID, c.State, c.Version, c.OriginDealer = outbox.NewID(), complaint.StateNew, 1, c.Dealer
	var out *complaint.Complaint
	err := pg.InTx(ctx, s.pool, pg.Dealers(c.Dealer), func(tx pgx.Tx) error {
		// A retry of a keyed filing whose answer was lost gets the first
		// one's complaint (pkg/idempotency).
		prior, repeated, err := idempotency.Lookup(ctx, tx, c.Dealer)
		if err != nil {
			return err
		}
		if repeated {
			if out, err = get(ctx, tx, prior, false); err != nil {
				return err
			}
			return errExisting
		}
		if err := idempotency.Remember(ctx, tx, c.Dealer, c.ID); err != nil {
			return err
		}
		out, err = scan(tx.QueryRow(ctx, `INSERT INTO complaints (dealer_id, id, origin_dealer, channel, category, severity, customer_id,
			vin, description, state, create_time, update_time, source, sla_policy_version)
			VALUES ($1, $2, $1, $3, $4, $5, $6, $7, $8, 'new', $9, $9, $10, $11)
			ON CONFLICT (origin_dealer, source) WHERE source <> '' DO NOTHING RETURNING `+columns,
			c.Dealer, c.ID, c.Channel, c.Category, c.Severity, c.Customer, c.VIN, c.Description, at, c.Source, c.PolicyVersion))
		if errors.Is(err, pgx.ErrNoRows) {
			// This source opened a complaint before: answer it, change nothing.
			// "source <> ''" is complaints_source_idx's predicate: without it
			// a generic plan cannot use the partial index and scans the table.
			out, err = scan(tx.QueryRow(ctx, `SELECT `+columns+` FROM complaints WHERE origin_dealer = $1 AND source = $2 AND source <> ''`,
				c.Dealer, c.Source))
			if err != nil {
				return err
			}
			return errExisting
		}
		if err != nil {
			return err
		}
		if err := appendEvent(ctx, tx, out, complaint.Event{Kind: string(ch.Kind), Actor: actor, Time: at, Detail: ch.Detail}); err != nil {
			return err
		}
		return changed(ctx, tx, out, ch.Kind, at)
	})
	if err != nil && !errors.Is(err, errExisting) {
		return nil, fmt.Errorf("create complaint: %w", err)
	}
	return out, nil
}

// errExisting rolls back a create whose source already opened a complaint.
var errExisting = errors.New("complaint exists for this source")

func get(ctx context.Context, tx pgx.Tx, id string, lock bool) (*complaint.Complaint, error) {
	if !validate.IsUUID(id) {
		return nil, notFound(id)
	}
	q := `SELECT ` + columns + ` FROM complaints WHERE id = $1`
	if lock {
		q += ` FOR UPDATE`
	}
	c, err := scan(tx.QueryRow(ctx, q, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(id)
	}
	return c, err
}

// Get returns a complaint visible in scope (its owner or its origin).
func (s *Store) Get(ctx context.Context, scope pg.Scope, id string) (*complaint.Complaint, error) {
	var c *complaint.Complaint
	err := pg.InReadOnlyTx(ctx, s.pool, scope, func(tx pgx.Tx) (err error) {
		c, err = get(ctx, tx, id, false)
		return err
	})
	return c, err
}

// Update implements complaint.Store: it locks the complaint, applies fn
// and writes the new state and fn's Change (timeline entry, notice,
// workflow event, follow-up) in one transaction. The scope must contain
// the owner before and after (a transfer's scope holds both).
func (s *Store) Update(ctx context.Context, scope pg.Scope, id, actor string, at time.Time, fn func(*complaint.Complaint) (complaint.Change, error)) (*complaint.Complaint, error) {
	var out *complaint.Complaint
	err := pg.InTx(ctx, s.pool, scope, func(tx pgx.Tx) error {
		c, err := get(ctx, tx, id, true)
		if err != nil {
			return err
		}
		// A retry of a keyed transition whose answer was lost gets the
		// complaint as it is now instead of "cannot start a complaint that
		// is in_progress" (pkg/idempotency). The record is kept under the
		// owner after the change (a transfer's new owner), where the
		// retry finds the complaint.
		if _, repeated, err := idempotency.Lookup(ctx, tx, c.Dealer); err != nil || repeated {
			out = c
			return err
		}
		before := c.Dealer
		ch, err := fn(c)
		if err != nil {
			return err
		}
		c.Version++
		c.UpdateTime = at
		var q pg.Params
		where := ` WHERE dealer_id = ` + q.Add(before) + ` AND id = ` + q.Add(id)
		set := fields.Set(&q, c)
		out, err = scan(tx.QueryRow(ctx, `UPDATE complaints SET `+set+where+` RETURNING `+columns, q.Args...))
		if err != nil {
			return err
		}
		if err := idempotency.Remember(ctx, tx, out.Dealer, id); err != nil {
			return err
		}
		// A transfer is written under the dealer that made it, so the
		// originating dealer keeps it in its view of the history.
		author := out
		if before != out.Dealer {
			prev := *out
			prev.Dealer = before
			author = &prev
		}
		if err := appendEvent(ctx, tx, author, complaint.Event{Kind: string(ch.Kind), Actor: actor, Time: at, Detail: ch.Detail}); err != nil {
			return err
		}
		if ch.Notice != nil {
			if err := notify(ctx, tx, out, *ch.Notice, at); err != nil {
				return err
			}
		}
		if err := changed(ctx, tx, out, ch.Kind, at); err != nil {
			return err
		}
		if ch.FollowUp == nil {
			return nil
		}
		return outbox.Add(ctx, tx, events.CallbackSourceEvent(events.KindComplaintResolved, ch.FollowUp.Callback, ch.FollowUp.Resolution))
	})
	if err != nil {
		if _, ok := apperr.As(err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("update complaint %s: %w", id, err)
	}
	return out, nil
}

// notify writes a notice about c.
func notify(ctx context.Context, tx pgx.Tx, c *complaint.Complaint, n complaint.Notice, at time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO notifications (dealer_id, id, complaint_id, recipient_role, level, message, create_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, c.Dealer, outbox.NewID(), c.ID, n.Role, n.Level, n.Message, at)
	return err
}

// List lists complaints, newest first.
func (s *Store) List(ctx context.Context, scope pg.Scope, f complaint.ListFilter, after string, size int) ([]complaint.Complaint, string, error) {
	at, aid, err := pg.DecodePageToken(after)
	if err != nil {
		return nil, "", err
	}
	var q pg.Params
	position, positionID := pg.PagePosition(at, aid)
	sql := listQuery(&q, scope, f, q.Add(position), q.Add(positionID), q.Add(size))
	var out []complaint.Complaint
	err = pg.InReadOnlyTx(ctx, s.pool, scope, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, planEachTime(scope, f.Dealer, q.Args)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scan(rows)
			if err != nil {
				return err
			}
			out = append(out, *c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", fmt.Errorf("list complaints: %w", err)
	}
	next := ""
	if len(out) == size && size > 0 {
		last := out[len(out)-1]
		next = pg.EncodePageToken(last.CreateTime, last.ID)
	}
	return out, next, nil
}

// listQuery is List's statement; at and id are the page's position (NULL
// on the first page), limit the page size.
//
// "dealer_id = $1 OR origin_dealer = $1" could use no index and scanned the
// whole table. Each half is read in page order from its own index (the
// dealer's own complaints from complaints_recent_idx or complaints_state_idx,
// those it filed that another dealer owns from complaints_origin_idx, whose
// predicate the second half repeats) and the two are merged; they are
// disjoint, so each complaint appears once. Filters are written only when
// asked for, and the position with CASE rather than "$2 IS NULL OR", so
// both stay index conditions in a generic plan (pgx prepares statements)
// and under row-level security. Rows are ordered by the uuid the position
// compares: a bare id after the union would be the id::text output column.
//
// Across dealers (tenancy.AnyDealer), the whole network is one arm read in
// page order from complaints_network_idx (its state filter a filter there
// in a generic plan; complaints_network_state_idx serves plans made for a
// rare state); a region's dealers are the same two halves over the set.
func listQuery(q *pg.Params, scope pg.Scope, f complaint.ListFilter, at, id, limit string) string {
	where := ` AND ` + pg.NewestFirstAfter("create_time", "complaints.id", at, id)
	if f.State != "" {
		where += ` AND state = ` + q.Add(f.State)
	}
	if f.Severity != "" {
		where += ` AND severity = ` + q.Add(f.Severity)
	}
	if f.MinLevel > 0 {
		where += ` AND level >= ` + q.Add(f.MinLevel)
	}
	arm := func(cond string) string {
		return `(SELECT * FROM complaints WHERE ` + cond + where + `
			ORDER BY create_time DESC, complaints.id DESC LIMIT ` + limit + `)`
	}
	var owned, filed string
	switch {
	case f.Dealer != tenancy.AnyDealer:
		d := q.Add(f.Dealer)
		owned, filed = arm(`dealer_id = `+d), arm(`origin_dealer = `+d+` AND origin_dealer <> dealer_id`)
	case scope.All():
		return `SELECT ` + columns + ` FROM ` + arm(`true`) + ` c`
	default:
		// Over a set of dealers no index gives the second half in page
		// order, and asked for it with a LIMIT the planner walked
		// complaints_network_idx through every complaint (81 ms at
		// 300,000): the few transferred away come off complaints_origin_idx
		// (its predicate repeated) and are sorted with the first half.
		d := q.Add(scope.DealerCodes())
		owned = arm(`dealer_id = ANY (` + d + `::text[])`)
		filed = `(SELECT * FROM complaints WHERE origin_dealer = ANY (` + d + `::text[]) AND origin_dealer <> dealer_id
			AND NOT dealer_id = ANY (` + d + `::text[])` + where + `)`
	}
	return `SELECT ` + columns + ` FROM (` + owned + `
		UNION ALL
		` + filed + `
	) c ORDER BY c.create_time DESC, c.id DESC LIMIT ` + limit
}

// planEachTime makes a statement over a set of dealers planned for its
// values (an unnamed statement each time): a generic plan cannot tell a
// region of 5 dealers from one of 1,000, and chose a bitmap scan and a sort
// of all a region's notifications (214 ms at 13,000) where the role index
// in order takes 2 ms.
func planEachTime(scope pg.Scope, dealer string, args []any) []any {
	if dealer == tenancy.AnyDealer && !scope.All() {
		return append([]any{pgx.QueryExecModeExec}, args...)
	}
	return args
}

// Events lists the timeline entries visible in scope, oldest first.
func (s *Store) Events(ctx context.Context, scope pg.Scope, id string) ([]complaint.Event, error) {
	var out []complaint.Event
	err := pg.InReadOnlyTx(ctx, s.pool, scope, func(tx pgx.Tx) error {
		if _, err := get(ctx, tx, id, false); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT seq, kind, actor, time, level, detail, dealer_id, coalesce(key, '') FROM complaint_events
			WHERE complaint_id = $1 ORDER BY seq`, id)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (complaint.Event, error) {
			var e complaint.Event
			err := r.Scan(&e.Seq, &e.Kind, &e.Actor, &e.Time, &e.Level, &e.Detail, &e.Dealer, &e.Key)
			return e, err
		})
		return err
	})
	return out, err
}

// Notifications lists a dealer's notifications, or (tenancy.AnyDealer)
// those of every dealer of the scope, newest first; role "" for all roles.
func (s *Store) Notifications(ctx context.Context, scope pg.Scope, dealer, role string, size int) ([]complaint.Notification, error) {
	var q pg.Params
	sql := notificationsQuery(&q, scope, dealer, role, q.Add(size))
	var out []complaint.Notification
	err := pg.InReadOnlyTx(ctx, s.pool, scope, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, planEachTime(scope, dealer, q.Args)...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (complaint.Notification, error) {
			var n complaint.Notification
			err := r.Scan(&n.ID, &n.Complaint, &n.RecipientRole, &n.Message, &n.Level, &n.CreateTime, &n.Dealer, &n.Subject)
			return n, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	return out, nil
}

// PostNotice implements complaint.Store: one notice per (dealer, role,
// key), under the dealer's scope (HQ's inbox, dealer "", under all
// dealers': the tenant policy admits ” only there).
func (s *Store) PostNotice(ctx context.Context, n complaint.Notification, key string) (complaint.Notification, error) {
	scope := pg.Dealers(n.Dealer)
	if n.Dealer == "" {
		scope = pg.AllDealers()
	}
	err := pg.InTx(ctx, s.pool, scope, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO notifications (dealer_id, id, recipient_role, level, message, create_time, subject, notice_key)
			VALUES ($1, $2, $3, 0, $4, $5, $6, $7) ON CONFLICT (dealer_id, recipient_role, notice_key) WHERE notice_key IS NOT NULL DO NOTHING`,
			n.Dealer, outbox.NewID(), n.RecipientRole, n.Message, n.CreateTime, n.Subject, key); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT id::text, message, create_time, subject FROM notifications
			WHERE dealer_id = $1 AND recipient_role = $2 AND notice_key = $3`, n.Dealer, n.RecipientRole, key).
			Scan(&n.ID, &n.Message, &n.CreateTime, &n.Subject)
	})
	if err != nil {
		return complaint.Notification{}, fmt.Errorf("post notice %s: %w", key, err)
	}
	return n, nil
}

// notificationsQuery is Notifications' statement. Each form reads its
// index in order (notifications_recent_idx, notifications_role_idx; across
// the network notifications_network_idx, notifications_network_role_idx),
// under a generic plan too (a region's are planned each time, see
// planEachTime): an optional role ORed into one statement was a filter
// there. The order is by the uuid notifications.id: a bare "id" is
// the id::text output column, which no index supplies.
func notificationsQuery(q *pg.Params, scope pg.Scope, dealer, role, limit string) string {
	cond := `true`
	switch {
	case dealer != tenancy.AnyDealer:
		cond = `dealer_id = ` + q.Add(dealer)
	case !scope.All():
		cond = `dealer_id = ANY (` + q.Add(scope.DealerCodes()) + `::text[])`
	}
	if role != "" {
		cond += ` AND recipient_role = ` + q.Add(role)
	}
	return `SELECT id::text, COALESCE(complaint_id::text, ''), recipient_role, message, level, create_time, dealer_id, subject FROM notifications
		WHERE ` + cond + ` ORDER BY create_time DESC, notifications.id LIMIT ` + limit
}

// RecordClockEvent implements complaint.Store: it locks the complaint,
// applies fn and, unless key was recorded before, writes fn's record (the
// timeline entry at the level after it, the raised level, the notice).
// Only the worker calls it, so it runs across dealers.
func (s *Store) RecordClockEvent(ctx context.Context, id, key string, at time.Time, fn func(*complaint.Complaint) (complaint.ClockRecord, error)) (bool, error) {
	recorded := false
	err := pg.InTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		c, err := get(ctx, tx, id, true)
		if err != nil {
			return err
		}
		rec, err := fn(c)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO complaint_events (dealer_id, complaint_id, kind, actor, time, level, detail, key)
			VALUES ($1, $2, $3, 'system', $4, $5, $6, $7) ON CONFLICT (complaint_id, key) WHERE key IS NOT NULL DO NOTHING`,
			c.Dealer, c.ID, string(rec.Kind), at, c.Level, rec.Detail, key)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		recorded = true
		if rec.Raised {
			if _, err := tx.Exec(ctx, `UPDATE complaints SET level = greatest(level, $2), update_time = now() WHERE id = $1`, c.ID, c.Level); err != nil {
				return err
			}
			// The clock's escalation is an escalation to webhook subscribers too.
			if err := webhookEvent(ctx, tx, c, complaint.ChangeEscalated, at); err != nil {
				return err
			}
		}
		if rec.Notice != nil {
			return notify(ctx, tx, c, *rec.Notice, at)
		}
		return nil
	})
	if err != nil {
		if _, ok := apperr.As(err); ok {
			return false, err
		}
		return false, fmt.Errorf("record clock event %s of %s: %w", key, id, err)
	}
	return recorded, nil
}

// SetDeadlines writes the deadlines the escalation workflow counts onto the
// complaint; a nil one clears it. They are derived data: no version, no
// event, no update_time. Only the worker calls it, so it runs across
// dealers.
func (s *Store) SetDeadlines(ctx context.Context, id string, response, resolution *time.Time) error {
	if !validate.IsUUID(id) {
		return notFound(id)
	}
	return pg.InTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE complaints SET response_due_time = $2, resolution_due_time = $3 WHERE id = $1
			AND (response_due_time, resolution_due_time) IS DISTINCT FROM ($2, $3)`, id, response, resolution)
		if err != nil {
			return fmt.Errorf("set deadlines of %s: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			// Unchanged, or no such complaint: tell which.
			_, err = get(ctx, tx, id, false)
		}
		return err
	})
}

type storedTarget struct {
	Severity   string `json:"severity"`
	Response   int64  `json:"response_ms"`
	Resolution int64  `json:"resolution_ms"`
}

// policyRow reads a stored policy (its scope, targets, warning ratio, time
// and version) into p.
func policyRow(row pgx.Row, p *complaint.Policy) (scope string, err error) {
	var raw []byte
	if err := row.Scan(&scope, &raw, &p.WarningRatio, &p.UpdateTime, &p.Version); err != nil {
		return "", err
	}
	var ts []storedTarget
	if err := json.Unmarshal(raw, &ts); err != nil {
		return "", err
	}
	for _, t := range ts {
		p.Targets = append(p.Targets, complaint.Target{Severity: t.Severity, Response: time.Duration(t.Response) * time.Millisecond, Resolution: time.Duration(t.Resolution) * time.Millisecond})
	}
	p.Overridden = scope != complaint.DefaultScope
	if p.Overridden {
		p.Dealer = scope
	}
	return scope, nil
}

// Policy returns the policy for scope ("default" or a dealer code), the
// dealer's override falling back to the default and then the built-in one.
func (s *Store) Policy(ctx context.Context, dealer string) (complaint.Policy, error) {
	var p complaint.Policy
	err := pg.InReadOnlyTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		_, err := policyRow(tx.QueryRow(ctx, `SELECT scope, targets, warning_ratio, update_time, version FROM sla_policies
			WHERE scope IN ($1, 'default') ORDER BY scope = 'default' LIMIT 1`, dealer), &p)
		if errors.Is(err, pgx.ErrNoRows) {
			p = complaint.DefaultPolicy()
			return nil
		}
		return err
	})
	if err != nil {
		return p, fmt.Errorf("load SLA policy: %w", err)
	}
	if dealer != complaint.DefaultScope {
		p.Dealer = dealer
	}
	return p, nil
}

// PolicyVersion returns the policy as version left it; 0 is the built-in
// default.
func (s *Store) PolicyVersion(ctx context.Context, version int64) (complaint.Policy, error) {
	if version == 0 {
		return complaint.DefaultPolicy(), nil
	}
	var p complaint.Policy
	err := pg.InReadOnlyTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		_, err := policyRow(tx.QueryRow(ctx, `SELECT scope, targets, warning_ratio, create_time, version FROM sla_policy_versions
			WHERE version = $1`, version), &p)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return p, apperr.NotFound("SLA policy version", "SLA 版本", strconv.FormatInt(version, 10))
	}
	if err != nil {
		return p, fmt.Errorf("load SLA policy version %d: %w", version, err)
	}
	return p, nil
}

// PutPolicy stores the policy of scope as a new version, kept for the
// complaints filed under it.
func (s *Store) PutPolicy(ctx context.Context, scope string, p complaint.Policy) error {
	ts := make([]storedTarget, 0, len(p.Targets))
	for _, t := range p.Targets {
		ts = append(ts, storedTarget{t.Severity, t.Response.Milliseconds(), t.Resolution.Milliseconds()})
	}
	raw, err := json.Marshal(ts)
	if err != nil {
		return err
	}
	return pg.InTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `WITH v AS (
				INSERT INTO sla_policy_versions (version, scope, targets, warning_ratio)
				VALUES (nextval('sla_policy_version_seq'), $1, $2, $3) RETURNING version, create_time)
			INSERT INTO sla_policies (scope, targets, warning_ratio, update_time, version) SELECT $1, $2, $3, create_time, version FROM v
			ON CONFLICT (scope) DO UPDATE SET targets = EXCLUDED.targets, warning_ratio = EXCLUDED.warning_ratio,
				update_time = EXCLUDED.update_time, version = EXCLUDED.version`,
			scope, raw, p.WarningRatio)
		return err
	})
}

// CreateTemplate stores a template.
func (s *Store) CreateTemplate(ctx context.Context, t complaint.Template) (*complaint.Template, error) {
	t.ID = outbox.NewID()
	err := pg.InTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO resolution_templates (id, category, title, body) VALUES ($1, $2, $3, $4) RETURNING create_time`,
			t.ID, t.Category, t.Title, t.Body).Scan(&t.CreateTime)
	})
	if err != nil {
		return nil, fmt.Errorf("create template: %w", err)
	}
	return &t, nil
}

// Templates searches templates by category and words in title or body.
func (s *Store) Templates(ctx context.Context, category, query string) ([]complaint.Template, error) {
	var out []complaint.Template
	pattern := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.TrimSpace(query)) + "%"
	err := pg.InReadOnlyTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id::text, category, title, body, create_time FROM resolution_templates
			WHERE ($1 = '' OR category = $1) AND (title ILIKE $2 OR body ILIKE $2) ORDER BY category, title LIMIT 200`, category, pattern)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (complaint.Template, error) {
			var t complaint.Template
			err := r.Scan(&t.ID, &t.Category, &t.Title, &t.Body, &t.CreateTime)
			return t, err
		})
		return err
	})
	return out, err
}
