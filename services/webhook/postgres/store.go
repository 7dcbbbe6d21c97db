// Package postgres is the webhook service's PostgreSQL adapter: the
// subscriptions, the delivery log and the service's outbox, all under the
// tenant policy (owner ” is HQ, reached only by an all-dealers scope).
package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/validate"
	"github.com/dealercare/dealercare/services/webhook/webhook"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Schema is the webhook service's PostgreSQL schema.
const Schema = "webhook"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded, versioned migrations.
func Migrations() (fs.FS, error) { return fs.Sub(migrationFiles, "migrations") }

// Store implements webhook.Store and the delivery workflow's queries.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a store over pool (search_path set to Schema).
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

var _ webhook.Store = (*Store)(nil)

const subColumns = `dealer_id, id, url, event_types, description, state, failing_since, disabled_reason, disable_time,
    previous_secret_expire_time, create_time, update_time`

func scanSub(row pgx.Row) (webhook.Subscription, error) {
	var s webhook.Subscription
	err := row.Scan(&s.Owner, &s.ID, &s.URL, &s.EventTypes, &s.Description, &s.State, pg.OptTime{Dst: &s.FailingSince},
		&s.DisabledReason, pg.OptTime{Dst: &s.DisableTime}, pg.OptTime{Dst: &s.PreviousSecretExpireTime}, &s.CreateTime, &s.UpdateTime)
	return s, err
}

func notFound(id string) error { return apperr.NotFound("webhook subscription", "Webhook 订阅", id) }

// CreateSubscription inserts s with its sealed secret.
func (st *Store) CreateSubscription(ctx context.Context, scope pg.Scope, s webhook.Subscription, secret []byte) error {
	return pg.InTx(ctx, st.pool, scope, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO webhook_subscriptions (dealer_id, id, url, event_types, description, state, secret,
            create_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
			s.Owner, s.ID, s.URL, s.EventTypes, s.Description, s.State, secret, s.CreateTime)
		if err != nil {
			return fmt.Errorf("create webhook subscription: %w", err)
		}
		return nil
	})
}

func getSub(ctx context.Context, tx pgx.Tx, owner, id string, lock bool) (webhook.Subscription, error) {
	if !validUUID(id) {
		return webhook.Subscription{}, notFound(id)
	}
	q := `SELECT ` + subColumns + ` FROM webhook_subscriptions WHERE dealer_id = $1 AND id = $2`
	if lock {
		q += ` FOR UPDATE`
	}
	s, err := scanSub(tx.QueryRow(ctx, q, owner, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return s, notFound(id)
	}
	if err != nil {
		return s, fmt.Errorf("load webhook subscription %s: %w", id, err)
	}
	return s, nil
}

// GetSubscription loads one subscription.
func (st *Store) GetSubscription(ctx context.Context, scope pg.Scope, owner, id string) (s webhook.Subscription, err error) {
	err = pg.InReadOnlyTx(ctx, st.pool, scope, func(tx pgx.Tx) error {
		s, err = getSub(ctx, tx, owner, id, false)
		return err
	})
	return s, err
}

// ListSubscriptions lists owner's subscriptions, newest first.
func (st *Store) ListSubscriptions(ctx context.Context, scope pg.Scope, owner string) (subs []webhook.Subscription, err error) {
	err = pg.InReadOnlyTx(ctx, st.pool, scope, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+subColumns+` FROM webhook_subscriptions WHERE dealer_id = $1
            ORDER BY create_time DESC, id DESC LIMIT 1000`, owner)
		if err != nil {
			return err
		}
		subs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (webhook.Subscription, error) { return scanSub(r) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list webhook subscriptions: %w", err)
	}
	return subs, nil
}

// DeleteSubscription removes the subscription and its delivery log.
func (st *Store) DeleteSubscription(ctx context.Context, scope pg.Scope, owner, id string) error {
	return pg.InTx(ctx, st.pool, scope, func(tx pgx.Tx) error {
		if !validUUID(id) {
			return notFound(id)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM webhook_subscriptions WHERE dealer_id = $1 AND id = $2`, owner, id)
		if err != nil {
			return fmt.Errorf("delete webhook subscription %s: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			return notFound(id)
		}
		return nil
	})
}

// RotateSecret makes secret current and keeps the current one valid until
// previousExpire.
func (st *Store) RotateSecret(ctx context.Context, scope pg.Scope, owner, id string, secret []byte, previousExpire, now time.Time) (s webhook.Subscription, err error) {
	err = pg.InTx(ctx, st.pool, scope, func(tx pgx.Tx) error {
		if _, err := getSub(ctx, tx, owner, id, true); err != nil {
			return err
		}
		s, err = scanSub(tx.QueryRow(ctx, `UPDATE webhook_subscriptions SET previous_secret = secret, secret = $3,
            previous_secret_expire_time = $4, update_time = $5 WHERE dealer_id = $1 AND id = $2
            RETURNING `+subColumns, owner, id, secret, previousExpire, now))
		return err
	})
	return s, err
}

// Enable reactivates a disabled subscription (a no-op on an active one).
func (st *Store) Enable(ctx context.Context, scope pg.Scope, owner, id string, now time.Time) (s webhook.Subscription, err error) {
	err = pg.InTx(ctx, st.pool, scope, func(tx pgx.Tx) error {
		if _, err := getSub(ctx, tx, owner, id, true); err != nil {
			return err
		}
		s, err = scanSub(tx.QueryRow(ctx, `UPDATE webhook_subscriptions SET state = 'active', failing_since = NULL,
            disabled_reason = '', disable_time = NULL, update_time = $3 WHERE dealer_id = $1 AND id = $2
            RETURNING `+subColumns, owner, id, now))
		return err
	})
	return s, err
}

const deliveryColumns = `dealer_id, id, subscription_id, event_id, event_type, resource, state, attempts, last_status_code,
    last_error, last_attempt_time, deliver_time, create_time`

func scanDelivery(row pgx.Row) (webhook.Delivery, error) {
	var d webhook.Delivery
	err := row.Scan(&d.Owner, &d.ID, &d.SubscriptionID, &d.EventID, &d.EventType, &d.Resource, &d.State, &d.Attempts,
		&d.LastStatusCode, &d.LastError, pg.OptTime{Dst: &d.LastAttemptTime}, pg.OptTime{Dst: &d.DeliverTime}, &d.CreateTime)
	return d, err
}

// ListDeliveries pages the subscription's log newest first, by keyset
// over webhook_deliveries_log_idx (dealer_id, subscription_id,
// create_time DESC, id DESC).
//
// A token must name a row of this subscription's log at the time it
// carries: a well-formed token from another list, subscription or dealer
// is EINVALID on page_token rather than a page of some other position.
// Log rows go only with their subscription and a token is given only
// when a row follows it, so a token this call gave stays valid and its
// page is never empty: the page query itself checks the token's row, and
// an empty page after a token is that token's refusal.
func (st *Store) ListDeliveries(ctx context.Context, scope pg.Scope, owner, subscription string, p webhook.Page) (ds []webhook.Delivery, next string, err error) {
	at, after, err := pg.DecodePageToken(p.After)
	if err != nil {
		return nil, "", err
	}
	size := p.Limit()
	err = pg.InReadOnlyTx(ctx, st.pool, scope, func(tx pgx.Tx) error {
		if _, err := getSub(ctx, tx, owner, subscription, false); err != nil {
			return err
		}
		var ps pg.Params
		pat, pid := pg.PagePosition(at, after)
		dealer, sub, posAt, posID := ps.Add(owner), ps.Add(subscription), ps.Add(pat), ps.Add(pid)
		q := `SELECT ` + deliveryColumns + ` FROM webhook_deliveries
            WHERE dealer_id = ` + dealer + ` AND subscription_id = ` + sub + `
            AND ` + pg.NewestFirstAfter("create_time", "id", posAt, posID)
		if !at.IsZero() {
			q += ` AND EXISTS (SELECT 1 FROM webhook_deliveries WHERE dealer_id = ` + dealer + ` AND subscription_id = ` + sub + `
                AND id = ` + posID + ` AND create_time = ` + posAt + `)`
		}
		rows, err := tx.Query(ctx, q+` ORDER BY create_time DESC, id DESC LIMIT `+ps.Add(size+1), ps.Args...)
		if err != nil {
			return err
		}
		ds, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (webhook.Delivery, error) { return scanDelivery(r) })
		return err
	})
	if err != nil {
		return nil, "", err
	}
	if len(ds) == 0 && !at.IsZero() {
		return nil, "", apperr.Invalid("page_token", "is not a token returned by a previous call").ZhReason("不是上一次调用返回的分页令牌")
	}
	if len(ds) > size {
		ds = ds[:size]
		last := ds[size-1]
		next = pg.EncodePageToken(last.CreateTime, last.ID)
	}
	return ds, next, nil
}

// Redeliver sets the delivery pending and asks its resource's workflow,
// through the outbox, to send it again.
func (st *Store) Redeliver(ctx context.Context, scope pg.Scope, owner, subscription, delivery string, now time.Time) (d webhook.Delivery, err error) {
	err = pg.InTx(ctx, st.pool, scope, func(tx pgx.Tx) error {
		if _, err := getSub(ctx, tx, owner, subscription, false); err != nil {
			return err
		}
		if !validUUID(delivery) {
			return apperr.NotFound("webhook delivery", "Webhook 投递", delivery)
		}
		d, err = scanDelivery(tx.QueryRow(ctx, `UPDATE webhook_deliveries SET state = 'pending'
            WHERE dealer_id = $1 AND subscription_id = $2 AND id = $3 RETURNING `+deliveryColumns, owner, subscription, delivery))
		if errors.Is(err, pgx.ErrNoRows) {
			return apperr.NotFound("webhook delivery", "Webhook 投递", delivery)
		}
		if err != nil {
			return fmt.Errorf("redeliver %s: %w", delivery, err)
		}
		return outbox.Add(ctx, tx, outbox.Event{
			DealerID: outboxDealer(owner), Kind: events.KindWebhookRedeliver,
			WorkflowID: events.WebhookWorkflowID(d.Resource), WorkflowType: events.WebhookWorkflowType,
			TaskQueue: events.WebhookTaskQueue, SignalName: events.WebhookSignal,
			StartInput: events.WebhookStart{Resource: d.Resource},
			Payload:    events.WebhookRedeliver{Owner: owner, SubscriptionID: subscription, DeliveryID: d.ID, Resource: d.Resource},
			OccurredAt: now,
		})
	})
	return d, err
}

// outboxDealer is the outbox's dealer_id for owner (the outbox needs one;
// HQ has none).
func outboxDealer(owner string) string {
	if owner == webhook.HQ {
		return events.WebhookHQDealer
	}
	return owner
}

// Target is one subscription's pending delivery of an event.
type Target struct {
	Owner          string `json:"owner"`
	SubscriptionID string `json:"subscription_id"`
	DeliveryID     string `json:"delivery_id"`
}

// Fanout logs a delivery of the event for every active subscription of
// the event's dealer and of HQ that asks for its type, and returns the
// event's deliveries still pending: on a repeated call (a retried
// activity, a redelivered event in a new run) the ones already delivered
// are not sent again. An event of events.WebhookHQDealer reaches HQ's
// subscriptions only.
func (st *Store) Fanout(ctx context.Context, eventID, dealer, eventType, resource string, body []byte, now time.Time) (ts []Target, err error) {
	err = pg.InTx(ctx, st.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO webhook_deliveries (dealer_id, id, subscription_id, event_id, event_type,
                resource, body, state, create_time)
            SELECT s.dealer_id, gen_random_uuid(), s.id, $1, $2, $3, $4, 'pending', $5 FROM webhook_subscriptions s
            WHERE s.state = 'active' AND $2 = ANY (s.event_types) AND (s.dealer_id = '' OR s.dealer_id = $6)
            ORDER BY s.dealer_id, s.id
            ON CONFLICT (dealer_id, subscription_id, event_id) DO NOTHING`,
			eventID, eventType, resource, json.RawMessage(body), now, dealer); err != nil {
			return fmt.Errorf("fan out event %s: %w", eventID, err)
		}
		rows, err := tx.Query(ctx, `SELECT dealer_id, subscription_id, id FROM webhook_deliveries
            WHERE event_id = $1 AND state = 'pending' ORDER BY dealer_id, subscription_id`, eventID)
		if err != nil {
			return err
		}
		ts, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Target, error) {
			var t Target
			return t, r.Scan(&t.Owner, &t.SubscriptionID, &t.DeliveryID)
		})
		return err
	})
	return ts, err
}

// Job is what an attempt needs: where, the body, the sealed secrets.
type Job struct {
	Delivery webhook.Delivery
	Body     []byte
	URL      string
	// Active is false when the subscription is disabled or gone.
	Active bool
	// DisableTime and DisabledReason are the subscription's disabling
	// (zero while it is active).
	DisableTime    time.Time
	DisabledReason string
	// Secrets are sealed: the current one, then the previous one while it
	// is valid.
	Secrets [][]byte
}

// LoadJob loads a delivery and its subscription; ENOTFOUND if the
// delivery is gone (its subscription was deleted).
func (st *Store) LoadJob(ctx context.Context, owner, id string, now time.Time) (j Job, err error) {
	err = pg.InReadOnlyTx(ctx, st.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		row := tx.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE dealer_id = $1 AND id = $2`, owner, id)
		if j.Delivery, err = scanDelivery(row); errors.Is(err, pgx.ErrNoRows) {
			return apperr.NotFound("webhook delivery", "Webhook 投递", id)
		} else if err != nil {
			return err
		}
		var state string
		var secret, previous []byte
		var previousExpire time.Time
		if err := tx.QueryRow(ctx, `SELECT d.body, s.url, s.state, s.secret, s.previous_secret, s.previous_secret_expire_time,
            s.disable_time, s.disabled_reason
            FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.dealer_id = d.dealer_id AND s.id = d.subscription_id
            WHERE d.dealer_id = $1 AND d.id = $2`, owner, id).Scan(&j.Body, &j.URL, &state, &secret, &previous,
			pg.OptTime{Dst: &previousExpire}, pg.OptTime{Dst: &j.DisableTime}, &j.DisabledReason); err != nil {
			return err
		}
		j.Active = state == webhook.StateActive
		j.Secrets = [][]byte{secret}
		if previous != nil && previousExpire.After(now) {
			j.Secrets = append(j.Secrets, previous)
		}
		return nil
	})
	if err != nil {
		return j, fmt.Errorf("load webhook delivery %s: %w", id, err)
	}
	return j, nil
}

// Attempt is the outcome of one HTTP attempt.
type Attempt struct {
	StatusCode int
	Error      string
	OK         bool
	At         time.Time
}

// RecordAttempt logs an attempt on the delivery and its subscription. A
// success marks the delivery delivered and clears the subscription's
// failing streak; a failure starts the streak, and once the streak is
// disableAfter old the subscription is disabled and RecordAttempt returns
// disabled (the first caller to cross the line gets true, so the owner is
// notified once).
func (st *Store) RecordAttempt(ctx context.Context, owner, id, subscription string, a Attempt, disableAfter time.Duration) (disabled bool, err error) {
	err = pg.InTx(ctx, st.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		state := "state"
		if a.OK {
			state = "'delivered'"
		}
		if _, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET attempts = attempts + 1, last_status_code = $3,
            last_error = $4, last_attempt_time = $5, state = `+state+`,
            deliver_time = CASE WHEN $6 THEN $5 ELSE deliver_time END
            WHERE dealer_id = $1 AND id = $2`, owner, id, a.StatusCode, a.Error, a.At, a.OK); err != nil {
			return fmt.Errorf("record attempt on %s: %w", id, err)
		}
		if a.OK {
			_, err := tx.Exec(ctx, `UPDATE webhook_subscriptions SET failing_since = NULL
                WHERE dealer_id = $1 AND id = $2 AND failing_since IS NOT NULL`, owner, subscription)
			return err
		}
		var since time.Time
		err := tx.QueryRow(ctx, `UPDATE webhook_subscriptions SET failing_since = coalesce(failing_since, $3)
            WHERE dealer_id = $1 AND id = $2 AND state = 'active' RETURNING failing_since`, owner, subscription, a.At).Scan(&since)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // already disabled, or gone
		}
		if err != nil {
			return err
		}
		if a.At.Sub(since) < disableAfter {
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE webhook_subscriptions SET state = 'disabled', disable_time = $3,
            disabled_reason = $4, update_time = $3 WHERE dealer_id = $1 AND id = $2`, owner, subscription, a.At,
			fmt.Sprintf("deliveries failed for %s since %s (last: %s)", disableAfter, since.Format(time.RFC3339), a.Error))
		disabled = err == nil
		return err
	})
	return disabled, err
}

// Finish sets a pending delivery's final state (failed, skipped).
func (st *Store) Finish(ctx context.Context, owner, id, state string) error {
	return pg.InTx(ctx, st.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET state = $3 WHERE dealer_id = $1 AND id = $2 AND state = 'pending'`,
			owner, id, state)
		return err
	})
}

func validUUID(s string) bool { return validate.IsUUID(s) }

// GiveUp fails a pending delivery that was retried to the end and
// disables its subscription if it is still failing (no success since);
// disabled is true for the call that disabled it.
func (st *Store) GiveUp(ctx context.Context, owner, id, subscription string, now time.Time) (disabled bool, err error) {
	err = pg.InTx(ctx, st.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET state = 'failed' WHERE dealer_id = $1 AND id = $2 AND state = 'pending'`,
			owner, id); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE webhook_subscriptions SET state = 'disabled', disable_time = $3, update_time = $3,
            disabled_reason = 'a delivery failed for every attempt since ' || to_char(failing_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
            WHERE dealer_id = $1 AND id = $2 AND state = 'active' AND failing_since IS NOT NULL`, owner, subscription, now)
		disabled = err == nil && tag.RowsAffected() == 1
		return err
	})
	return disabled, err
}
