// Package postgres is the campaign service's PostgreSQL adapter: campaigns,
// their recipients (the at-most-once ledger), the frequency-cap log,
// opt-outs and HQ's messaging policy. Every query runs in a transaction
// scoped to the caller's dealers (row-level security).
package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/validate"
	"github.com/dealercare/dealercare/services/campaign/campaign"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Schema is the campaign service's PostgreSQL schema.
const Schema = "campaign"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded, versioned migrations.
func Migrations() (fs.FS, error) { return fs.Sub(migrationFiles, "migrations") }

// Store implements campaign.Store.
type Store struct {
	pool *pgxpool.Pool
}

var _ campaign.Store = (*Store)(nil)

// NewStore returns a store over pool (the service role).
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

func scopeOf(s campaign.Scope) pg.Scope {
	if s.All {
		return pg.AllDealers()
	}
	return pg.Dealers(s.Dealers...)
}

var all = pg.AllDealers()

const campaignColumns = `dealer_id, id::text, kind, name, state, channels, template, audience, start_time, return_window_s,
	code, contact_phone, cancel_reason, version, create_time, update_time`

func scanCampaign(row pgx.Row) (*campaign.Campaign, error) {
	var (
		c                  campaign.Campaign
		channels           []string
		template, audience []byte
		start              *time.Time
		window             int64
	)
	if err := row.Scan(&c.Owner, &c.ID, &c.Kind, &c.Name, &c.State, &channels, &template, &audience, &start, &window,
		&c.Code, &c.ContactPhone, &c.CancelReason, &c.Version, &c.CreateTime, &c.UpdateTime); err != nil {
		return nil, err
	}
	for _, ch := range channels {
		c.Channels = append(c.Channels, campaign.Channel(ch))
	}
	if err := json.Unmarshal(template, &c.Template); err != nil {
		return nil, fmt.Errorf("decode template: %w", err)
	}
	if err := json.Unmarshal(audience, &c.Audience); err != nil {
		return nil, fmt.Errorf("decode audience: %w", err)
	}
	if start != nil {
		c.StartTime = start.UTC()
	}
	c.ReturnWindow = time.Duration(window) * time.Second
	return &c, nil
}

func channelStrings(cs []campaign.Channel) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func notFound(id string) error { return apperr.NotFound("campaign", "活动", id) }

// Create stores a new draft, with a fresh id unless it has one (the
// service's derived ids); an existing id is ECONFLICT.
func (s *Store) Create(ctx context.Context, scope campaign.Scope, c *campaign.Campaign) (*campaign.Campaign, error) {
	out := *c
	if out.ID == "" {
		out.ID = outbox.NewID()
	}
	template, _ := json.Marshal(out.Template)
	audience, _ := json.Marshal(out.Audience)
	err := pg.InTx(ctx, s.pool, scopeOf(scope), func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO campaigns (dealer_id, id, kind, name, state, channels, template, audience, start_time,
			return_window_s, code, contact_phone, version, create_time, update_time)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			out.Owner, out.ID, out.Kind, out.Name, out.State, channelStrings(out.Channels), template, audience, nullTime(out.StartTime),
			int64(out.ReturnWindow/time.Second), out.Code, out.ContactPhone, out.Version, out.CreateTime, out.UpdateTime)
		return mapError(err, "campaign")
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Ensure stores c under its id unless it exists; it returns the stored one.
func (s *Store) Ensure(ctx context.Context, c *campaign.Campaign) (*campaign.Campaign, error) {
	template, _ := json.Marshal(c.Template)
	audience, _ := json.Marshal(c.Audience)
	var out *campaign.Campaign
	err := pg.InTx(ctx, s.pool, all, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO campaigns (dealer_id, id, kind, name, state, channels, template, audience, start_time,
			return_window_s, code, contact_phone, version, create_time, update_time, audience_done)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, true) ON CONFLICT DO NOTHING`,
			c.Owner, c.ID, c.Kind, c.Name, c.State, channelStrings(c.Channels), template, audience, nullTime(c.StartTime),
			int64(c.ReturnWindow/time.Second), c.Code, c.ContactPhone, c.Version, c.CreateTime, c.UpdateTime); err != nil {
			return mapError(err, "campaign")
		}
		var err error
		out, err = scanCampaign(tx.QueryRow(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE dealer_id = $1 AND id = $2`, c.Owner, c.ID))
		return err
	})
	return out, err
}

// Get loads one campaign of owner.
func (s *Store) Get(ctx context.Context, scope campaign.Scope, owner, id string) (*campaign.Campaign, error) {
	if !validate.IsUUID(id) {
		return nil, notFound(id)
	}
	var c *campaign.Campaign
	err := pg.InReadOnlyTx(ctx, s.pool, scopeOf(scope), func(tx pgx.Tx) error {
		var err error
		c, err = scanCampaign(tx.QueryRow(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE dealer_id = $1 AND id = $2`, owner, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound(id)
		}
		return err
	})
	return c, err
}

// List pages owner's campaigns, newest first.
func (s *Store) List(ctx context.Context, scope campaign.Scope, owner string, state campaign.State, p campaign.Page) ([]campaign.Campaign, string, error) {
	at, after, err := pg.DecodePageToken(p.After)
	if err != nil {
		return nil, "", err
	}
	size := pageSize(p.Size)
	var out []campaign.Campaign
	err = pg.InReadOnlyTx(ctx, s.pool, scopeOf(scope), func(tx pgx.Tx) error {
		var ps pg.Params
		q := `SELECT ` + campaignColumns + ` FROM campaigns WHERE dealer_id = ` + ps.Add(owner)
		if state != "" {
			q += ` AND state = ` + ps.Add(string(state))
		}
		pat, pid := pg.PagePosition(at, after)
		q += ` AND ` + pg.NewestFirstAfter("create_time", "id", ps.Add(pat), ps.Add(pid)) + ` ORDER BY create_time DESC, id DESC LIMIT ` + ps.Add(size+1)
		rows, err := tx.Query(ctx, q, ps.Args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanCampaign(rows)
			if err != nil {
				return err
			}
			out = append(out, *c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > size {
		out = out[:size]
		last := out[size-1]
		next = pg.EncodePageToken(last.CreateTime, last.ID)
	}
	return out, next, nil
}

func pageSize(n int) int {
	switch {
	case n <= 0:
		return 100
	case n > 1000:
		return 1000
	}
	return n
}

// Update applies fn under a row lock; scheduling and cancelling record
// the workflow's event in the same transaction.
func (s *Store) Update(ctx context.Context, scope campaign.Scope, owner, id string, fn func(*campaign.Campaign) error) (*campaign.Campaign, error) {
	if !validate.IsUUID(id) {
		return nil, notFound(id)
	}
	var out *campaign.Campaign
	err := pg.InTx(ctx, s.pool, scopeOf(scope), func(tx pgx.Tx) error {
		c, err := scanCampaign(tx.QueryRow(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE dealer_id = $1 AND id = $2 FOR UPDATE`, owner, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound(id)
		}
		if err != nil {
			return err
		}
		before := c.State
		version := c.Version
		if err := fn(c); err != nil {
			return err
		}
		out = c
		if c.Version == version {
			return nil
		}
		template, _ := json.Marshal(c.Template)
		audience, _ := json.Marshal(c.Audience)
		if _, err := tx.Exec(ctx, `UPDATE campaigns SET kind = $3, name = $4, state = $5, channels = $6, template = $7, audience = $8,
			start_time = $9, return_window_s = $10, code = $11, contact_phone = $12, cancel_reason = $13, version = $14, update_time = $15
			WHERE dealer_id = $1 AND id = $2`,
			owner, id, c.Kind, c.Name, c.State, channelStrings(c.Channels), template, audience, nullTime(c.StartTime),
			int64(c.ReturnWindow/time.Second), c.Code, c.ContactPhone, c.CancelReason, c.Version, c.UpdateTime); err != nil {
			return mapError(err, "campaign")
		}
		if before != c.State && c.State == campaign.StateCompleted {
			if err := completedHook(ctx, tx, c); err != nil {
				return err
			}
		}
		if before == c.State || (c.State != campaign.StateScheduled && c.State != campaign.StateCancelled) || before == campaign.StateDraft && c.State == campaign.StateCancelled {
			return nil
		}
		return outbox.Add(ctx, tx, campaignEvent(c))
	})
	return out, err
}

// completedHook queues the campaign.completed webhook event for the
// owner's subscribers (HQ's campaign: HQ's only) and HQ's.
func completedHook(ctx context.Context, tx pgx.Tx, c *campaign.Campaign) error {
	dealer, resource := c.Owner, "dealers/"+c.Owner+"/campaigns/"+c.ID
	if dealer == campaign.HQOwner {
		dealer, resource = events.CampaignOutboxDealer, "campaigns/"+c.ID
	}
	e, err := events.WebhookEvent(dealer, events.WebhookCampaignCompleted, resource, c.UpdateTime, map[string]any{
		"campaign": c.ID, "dealer": c.Owner, "kind": c.Kind, "name": c.Name, "complete_time": c.UpdateTime.UTC(),
	})
	if err != nil {
		return err
	}
	return outbox.Add(ctx, tx, e)
}

// campaignEvent is the outbox event that starts (scheduled) or stops
// (cancelled) the campaign's workflow.
func campaignEvent(c *campaign.Campaign) outbox.Event {
	kind := events.KindCampaignScheduled
	if c.State == campaign.StateCancelled {
		kind = events.KindCampaignCancelled
	}
	dealer := c.Owner
	if dealer == campaign.HQOwner {
		dealer = events.CampaignOutboxDealer
	}
	return outbox.Event{
		DealerID: dealer, Kind: kind,
		WorkflowID: campaign.WorkflowID(c.Owner, c.ID), WorkflowType: events.CampaignWorkflowType,
		TaskQueue: events.CampaignTaskQueue, SignalName: events.CampaignSignal,
		Payload:    events.CampaignChanged{Owner: c.Owner, Campaign: c.ID, State: string(c.State), StartTime: c.StartTime, Version: c.Version},
		StartInput: events.CampaignStart{Owner: c.Owner, Campaign: c.ID},
		OccurredAt: c.UpdateTime,
	}
}

// Stats counts a campaign's recipients by outcome.
func (s *Store) Stats(ctx context.Context, scope campaign.Scope, owner, id string) (campaign.Stats, error) {
	st := campaign.Stats{Suppressed: map[string]int64{}}
	if !validate.IsUUID(id) {
		return st, notFound(id)
	}
	err := pg.InReadOnlyTx(ctx, s.pool, scopeOf(scope), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT state, suppress_reason, delivery, return_at IS NOT NULL, count(*)
			FROM recipients WHERE dealer_id = $1 AND campaign_id = $2 GROUP BY 1, 2, 3, 4`, owner, id)
		if err != nil {
			return err
		}
		var (
			state, reason, delivery string
			returned                bool
			n                       int64
		)
		_, err = pgx.ForEachRow(rows, []any{&state, &reason, &delivery, &returned, &n}, func() error {
			st.Targeted += n
			if returned {
				st.Returned += n
			}
			switch state {
			case campaign.RecipientPending, campaign.RecipientSending:
				st.Pending += n
			case campaign.RecipientSent:
				st.Sent += n
				switch delivery {
				case campaign.DeliveryDelivered:
					st.Delivered += n
				case campaign.DeliveryUndelivered:
					st.Failed += n
				}
			case campaign.RecipientFailed:
				st.Failed += n
			case campaign.RecipientSuppressed:
				st.Suppressed[reason] += n
			}
			return nil
		})
		return err
	})
	return st, err
}

const recipientColumns = `dealer_id, campaign_id::text, customer_dealer, customer_id::text, vin, state, suppress_reason, channel,
	coalesce(message_id::text, ''), provider_id, attempts, next_attempt_at, sent_at, delivery, receipt_at, return_at, return_dealer`

// claimedColumns is recipientColumns qualified for Claim's UPDATE ... FROM.
const claimedColumns = `r.dealer_id, r.campaign_id::text, r.customer_dealer, r.customer_id::text, r.vin, r.state, r.suppress_reason,
	r.channel, coalesce(r.message_id::text, ''), r.provider_id, r.attempts, r.next_attempt_at, r.sent_at, r.delivery, r.receipt_at,
	r.return_at, r.return_dealer`

func scanRecipient(row pgx.Row) (campaign.Recipient, error) {
	var (
		r                         campaign.Recipient
		ch                        string
		sent, receipt, returnedAt *time.Time
	)
	err := row.Scan(&r.Owner, &r.Campaign, &r.Dealer, &r.Customer, &r.VIN, &r.State, &r.SuppressReason, &ch, &r.MessageID,
		&r.ProviderID, &r.Attempts, &r.NextAttemptTime, &sent, &r.Delivery, &receipt, &returnedAt, &r.ReturnDealer)
	r.Channel = campaign.Channel(ch)
	for _, t := range []struct {
		src *time.Time
		dst *time.Time
	}{{sent, &r.SentTime}, {receipt, &r.ReceiptTime}, {returnedAt, &r.ReturnTime}} {
		if t.src != nil {
			*t.dst = t.src.UTC()
		}
	}
	return r, err
}

// ListRecipients pages a campaign's recipients by (dealer, customer).
func (s *Store) ListRecipients(ctx context.Context, scope campaign.Scope, owner, id, state string, messagesOnly, returnedOnly bool, p campaign.Page) ([]campaign.Recipient, string, error) {
	afterDealer, afterCustomer, err := decodeKey(p.After)
	if err != nil {
		return nil, "", err
	}
	size := pageSize(p.Size)
	var out []campaign.Recipient
	err = pg.InReadOnlyTx(ctx, s.pool, scopeOf(scope), func(tx pgx.Tx) error {
		var ps pg.Params
		q := `SELECT ` + recipientColumns + ` FROM recipients WHERE dealer_id = ` + ps.Add(owner) + ` AND campaign_id = ` + ps.Add(id) +
			` AND (customer_dealer, customer_id) > (` + ps.Add(afterDealer) + `, ` + ps.Add(afterCustomer) + `::uuid)`
		if state != "" {
			q += ` AND state = ` + ps.Add(state)
		}
		if messagesOnly {
			q += ` AND message_id IS NOT NULL AND state IN ('sent', 'sending', 'failed')`
		}
		if returnedOnly {
			q += ` AND return_at IS NOT NULL`
		}
		q += ` ORDER BY customer_dealer, customer_id LIMIT ` + ps.Add(size+1)
		rows, err := tx.Query(ctx, q, ps.Args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanRecipient(rows)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > size {
		out = out[:size]
		next = encodeKey(out[size-1].Dealer, out[size-1].Customer)
	}
	return out, next, nil
}

// Recipient keyset tokens: "<dealer>/<customer uuid>".
func encodeKey(dealer, customer string) string { return dealer + "/" + customer }

func decodeKey(tok string) (string, string, error) {
	if tok == "" {
		return "", "00000000-0000-0000-0000-000000000000", nil
	}
	d, c, ok := strings.Cut(tok, "/")
	if !ok || !validate.IsUUID(c) {
		return "", "", apperr.Invalid("page_token", "is not a token returned by a previous call").ZhReason("不是上一次调用返回的分页令牌")
	}
	return d, c, nil
}

// AddOptOut records (or keeps) an opt-out.
func (s *Store) AddOptOut(ctx context.Context, scope campaign.Scope, dealer, customer string, ch campaign.Channel, source string, now time.Time) error {
	if !validate.IsUUID(customer) {
		return apperr.Invalid("opt_out.customer", "is not a customer id").ZhReason("不是有效的客户 ID")
	}
	return pg.InTx(ctx, s.pool, scopeOf(scope), func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO opt_outs (dealer_id, customer_id, channel, source, create_time) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT DO NOTHING`, dealer, customer, string(ch), source, now)
		return mapError(err, "opt-out")
	})
}

// Policy reads HQ's messaging policy.
func (s *Store) Policy(ctx context.Context) (campaign.Policy, error) {
	var (
		p      campaign.Policy
		window int64
		lead   int64
		kinds  []string
	)
	err := pg.InReadOnlyTx(ctx, s.pool, all, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT quiet_start, quiet_end, frequency_cap, frequency_window_s, cap_exempt_kinds,
			greeting_lead_s, greeting_hour, greeting_zone, update_time
			FROM messaging_policy WHERE id = 'default'`).Scan(&p.QuietStart, &p.QuietEnd, &p.FrequencyCap, &window, &kinds,
			&lead, &p.GreetingHour, &p.GreetingZone, &p.UpdateTime)
	})
	p.FrequencyWindow = time.Duration(window) * time.Second
	p.GreetingLead = time.Duration(lead) * time.Second
	for _, k := range kinds {
		p.CapExemptKinds = append(p.CapExemptKinds, campaign.Kind(k))
	}
	return p, err
}

// SetPolicy replaces it.
func (s *Store) SetPolicy(ctx context.Context, p campaign.Policy) (campaign.Policy, error) {
	kinds := make([]string, len(p.CapExemptKinds))
	for i, k := range p.CapExemptKinds {
		kinds[i] = string(k)
	}
	err := pg.InTx(ctx, s.pool, all, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE messaging_policy SET quiet_start = $1, quiet_end = $2, frequency_cap = $3, frequency_window_s = $4,
			cap_exempt_kinds = $5, update_time = $6, greeting_lead_s = $7, greeting_hour = $8, greeting_zone = $9 WHERE id = 'default'`,
			p.QuietStart, p.QuietEnd, p.FrequencyCap, int64(p.FrequencyWindow/time.Second), kinds, p.UpdateTime,
			int64(p.GreetingLead/time.Second), p.GreetingHour, p.GreetingZone)
		return err
	})
	return p, err
}

// Resolution reads where resolving the audience stands.
func (s *Store) Resolution(ctx context.Context, owner, id string) (cursor string, done bool, err error) {
	err = pg.InReadOnlyTx(ctx, s.pool, all, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT audience_cursor, audience_done FROM campaigns WHERE dealer_id = $1 AND id = $2`, owner, id).Scan(&cursor, &done)
	})
	return cursor, done, err
}

// AddRecipients inserts a page of recipients (present ones unchanged) and
// moves the cursor, in one transaction; it returns the recipients so far.
func (s *Store) AddRecipients(ctx context.Context, owner, id string, rs []campaign.Recipient, cursor string, done bool) (int64, error) {
	dealers := make([]string, len(rs))
	customers := make([]string, len(rs))
	vins := make([]string, len(rs))
	due := make([]time.Time, len(rs))
	for i, r := range rs {
		dealers[i], customers[i], vins[i], due[i] = r.Dealer, r.Customer, r.VIN, r.NextAttemptTime
	}
	var n int64
	err := pg.InTx(ctx, s.pool, all, func(tx pgx.Tx) error {
		if len(rs) > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO recipients (dealer_id, campaign_id, customer_dealer, customer_id, vin, state, next_attempt_at)
				SELECT $1, $2, d, c, v, 'pending', t FROM unnest($3::text[], $4::uuid[], $5::text[], $6::timestamptz[]) AS r(d, c, v, t)
				ON CONFLICT DO NOTHING`, owner, id, dealers, customers, vins, due); err != nil {
				return fmt.Errorf("add recipients: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE campaigns SET audience_cursor = $3, audience_done = $4 WHERE dealer_id = $1 AND id = $2`,
			owner, id, cursor, done); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT count(*) FROM recipients WHERE dealer_id = $1 AND campaign_id = $2`, owner, id).Scan(&n)
	})
	return n, err
}

// Claim takes due recipients for one sender: pending ones and claimed ones
// whose lease ran out (SKIP LOCKED lets senders share a campaign).
func (s *Store) Claim(ctx context.Context, owner, id string, limit int, now time.Time, lease time.Duration) ([]campaign.Recipient, error) {
	var out []campaign.Recipient
	err := pg.InTx(ctx, s.pool, all, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `WITH due AS (
				SELECT customer_dealer, customer_id FROM recipients
				WHERE dealer_id = $1 AND campaign_id = $2 AND state IN ('pending', 'sending') AND next_attempt_at <= $3
				ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED)
			UPDATE recipients r SET state = 'sending', next_attempt_at = $5, attempts = r.attempts + 1
			FROM due WHERE r.dealer_id = $1 AND r.campaign_id = $2 AND r.customer_dealer = due.customer_dealer AND r.customer_id = due.customer_id
			RETURNING `+claimedColumns, owner, id, now, limit, now.Add(lease))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanRecipient(rows)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

func refArrays(refs []campaign.CustomerRef) ([]string, []string) {
	d := make([]string, len(refs))
	c := make([]string, len(refs))
	for i, r := range refs {
		d[i], c[i] = r.Dealer, r.Customer
	}
	return d, c
}

// RecentMarketing counts cap-counted messages per customer since since.
func (s *Store) RecentMarketing(ctx context.Context, id string, refs []campaign.CustomerRef, since time.Time) (map[campaign.CustomerRef]int, error) {
	out := map[campaign.CustomerRef]int{}
	dealers, customers := refArrays(refs)
	err := pg.InReadOnlyTx(ctx, s.pool, all, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT l.dealer_id, l.customer_id::text, count(*) FROM contact_log l
			JOIN unnest($1::text[], $2::uuid[]) AS r(d, c) ON l.dealer_id = r.d AND l.customer_id = r.c
			WHERE l.sent_at >= $3 AND l.campaign_id <> $4 GROUP BY 1, 2`, dealers, customers, since, id)
		if err != nil {
			return err
		}
		var (
			ref campaign.CustomerRef
			n   int
		)
		_, err = pgx.ForEachRow(rows, []any{&ref.Dealer, &ref.Customer, &n}, func() error { out[ref] = n; return nil })
		return err
	})
	return out, err
}

// OptOuts returns each customer's opted-out channels ("" is all).
func (s *Store) OptOuts(ctx context.Context, refs []campaign.CustomerRef) (map[campaign.CustomerRef]map[campaign.Channel]bool, error) {
	out := map[campaign.CustomerRef]map[campaign.Channel]bool{}
	dealers, customers := refArrays(refs)
	err := pg.InReadOnlyTx(ctx, s.pool, all, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT o.dealer_id, o.customer_id::text, o.channel FROM opt_outs o
			JOIN unnest($1::text[], $2::uuid[]) AS r(d, c) ON o.dealer_id = r.d AND o.customer_id = r.c`, dealers, customers)
		if err != nil {
			return err
		}
		var (
			ref campaign.CustomerRef
			ch  string
		)
		_, err = pgx.ForEachRow(rows, []any{&ref.Dealer, &ref.Customer, &ch}, func() error {
			if out[ref] == nil {
				out[ref] = map[campaign.Channel]bool{}
			}
			out[ref][campaign.Channel(ch)] = true
			return nil
		})
		return err
	})
	return out, err
}

// Decide writes the rules' outcomes in one transaction: suppressions end
// the row, deferrals move it past the quiet hours, and each send records
// its message id (before it leaves) with its frequency-cap entry.
func (s *Store) Decide(ctx context.Context, c *campaign.Campaign, outcomes []campaign.Outcome, capped bool, now time.Time) error {
	var (
		supD, supC, supR    []string
		defD, defC          []string
		defT                []time.Time
		sendD, sendC, sendM []string
		sendCh              []string
	)
	for _, o := range outcomes {
		r := o.Recipient
		switch {
		case o.Decision.Suppress != "":
			supD, supC, supR = append(supD, r.Dealer), append(supC, r.Customer), append(supR, o.Decision.Suppress)
		case !o.Decision.NotBefore.IsZero():
			defD, defC, defT = append(defD, r.Dealer), append(defC, r.Customer), append(defT, o.Decision.NotBefore)
		default:
			sendD, sendC, sendM, sendCh = append(sendD, r.Dealer), append(sendC, r.Customer), append(sendM, r.MessageID), append(sendCh, string(r.Channel))
		}
	}
	return pg.InTx(ctx, s.pool, all, func(tx pgx.Tx) error {
		if len(supD) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE recipients r SET state = 'suppressed', suppress_reason = x.reason
				FROM unnest($3::text[], $4::uuid[], $5::text[]) AS x(d, c, reason)
				WHERE r.dealer_id = $1 AND r.campaign_id = $2 AND r.customer_dealer = x.d AND r.customer_id = x.c AND r.state = 'sending'`,
				c.Owner, c.ID, supD, supC, supR); err != nil {
				return fmt.Errorf("record suppressions: %w", err)
			}
		}
		if len(defD) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE recipients r SET state = 'pending', next_attempt_at = x.t
				FROM unnest($3::text[], $4::uuid[], $5::timestamptz[]) AS x(d, c, t)
				WHERE r.dealer_id = $1 AND r.campaign_id = $2 AND r.customer_dealer = x.d AND r.customer_id = x.c AND r.state = 'sending'`,
				c.Owner, c.ID, defD, defC, defT); err != nil {
				return fmt.Errorf("record deferrals: %w", err)
			}
		}
		if len(sendD) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE recipients r SET message_id = x.m, channel = x.ch
			FROM unnest($3::text[], $4::uuid[], $5::uuid[], $6::text[]) AS x(d, c, m, ch)
			WHERE r.dealer_id = $1 AND r.campaign_id = $2 AND r.customer_dealer = x.d AND r.customer_id = x.c AND r.state = 'sending'`,
			c.Owner, c.ID, sendD, sendC, sendM, sendCh); err != nil {
			return fmt.Errorf("record messages: %w", err)
		}
		if !capped {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO contact_log (dealer_id, customer_id, campaign_id, sent_at)
			SELECT d, c, $1, $2 FROM unnest($3::text[], $4::uuid[]) AS x(d, c) ON CONFLICT DO NOTHING`, c.ID, now, sendD, sendC)
		if err != nil {
			return fmt.Errorf("record contact log: %w", err)
		}
		return nil
	})
}

// MarkSent records the providers' answers: sent, failed for good, or left
// claimed for a retry after the lease.
func (s *Store) MarkSent(ctx context.Context, owner, id string, results []campaign.SendResult, now time.Time) error {
	var (
		okD, okC, okP []string
		badD, badC    []string
	)
	for _, r := range results {
		switch {
		case r.Err == nil:
			okD, okC, okP = append(okD, r.Recipient.Dealer), append(okC, r.Recipient.Customer), append(okP, r.ProviderID)
		case r.Permanent:
			badD, badC = append(badD, r.Recipient.Dealer), append(badC, r.Recipient.Customer)
		}
	}
	if len(okD) == 0 && len(badD) == 0 {
		return nil
	}
	return pg.InTx(ctx, s.pool, all, func(tx pgx.Tx) error {
		if len(okD) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE recipients r SET state = 'sent', provider_id = x.p, sent_at = $3,
				delivery = CASE WHEN r.delivery = '' THEN 'accepted' ELSE r.delivery END
				FROM unnest($4::text[], $5::uuid[], $6::text[]) AS x(d, c, p)
				WHERE r.dealer_id = $1 AND r.campaign_id = $2 AND r.customer_dealer = x.d AND r.customer_id = x.c AND r.state = 'sending'`,
				owner, id, now, okD, okC, okP); err != nil {
				return fmt.Errorf("mark sent: %w", err)
			}
		}
		if len(badD) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE recipients r SET state = 'failed'
				FROM unnest($3::text[], $4::uuid[]) AS x(d, c)
				WHERE r.dealer_id = $1 AND r.campaign_id = $2 AND r.customer_dealer = x.d AND r.customer_id = x.c AND r.state = 'sending'`,
				owner, id, badD, badC); err != nil {
				return fmt.Errorf("mark failed: %w", err)
			}
		}
		return nil
	})
}

// SuppressRemaining ends every waiting recipient that has no message yet
// (one recorded before a cancellation may already be with the provider).
func (s *Store) SuppressRemaining(ctx context.Context, owner, id, reason string) error {
	return pg.InTx(ctx, s.pool, all, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE recipients SET state = 'suppressed', suppress_reason = $3
			WHERE dealer_id = $1 AND campaign_id = $2 AND state IN ('pending', 'sending') AND message_id IS NULL`, owner, id, reason)
		return err
	})
}

// Remaining counts waiting recipients and the earliest due among them.
func (s *Store) Remaining(ctx context.Context, owner, id string) (int64, time.Time, error) {
	var (
		n    int64
		next *time.Time
	)
	err := pg.InReadOnlyTx(ctx, s.pool, all, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*), min(next_attempt_at) FROM recipients
			WHERE dealer_id = $1 AND campaign_id = $2 AND state IN ('pending', 'sending')`, owner, id).Scan(&n, &next)
	})
	if next == nil {
		return n, time.Time{}, err
	}
	return n, next.UTC(), err
}

// ReturnCandidates pages recipients with a VIN and no return yet.
func (s *Store) ReturnCandidates(ctx context.Context, owner, id, after string, limit int) ([]campaign.Recipient, error) {
	d, c, err := decodeKey(after)
	if err != nil {
		return nil, err
	}
	var out []campaign.Recipient
	err = pg.InReadOnlyTx(ctx, s.pool, all, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+recipientColumns+` FROM recipients
			WHERE dealer_id = $1 AND campaign_id = $2 AND vin <> '' AND return_at IS NULL AND (customer_dealer, customer_id) > ($3, $4::uuid)
			ORDER BY customer_dealer, customer_id LIMIT $5`, owner, id, d, c, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanRecipient(rows)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

// MarkReturned records returns (the first one stays).
func (s *Store) MarkReturned(ctx context.Context, owner, id string, rs []campaign.Recipient) error {
	if len(rs) == 0 {
		return nil
	}
	d := make([]string, len(rs))
	c := make([]string, len(rs))
	t := make([]time.Time, len(rs))
	rd := make([]string, len(rs))
	for i, r := range rs {
		d[i], c[i], t[i], rd[i] = r.Dealer, r.Customer, r.ReturnTime, r.ReturnDealer
	}
	return pg.InTx(ctx, s.pool, all, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE recipients r SET return_at = x.t, return_dealer = x.rd
			FROM unnest($3::text[], $4::uuid[], $5::timestamptz[], $6::text[]) AS x(d, c, t, rd)
			WHERE r.dealer_id = $1 AND r.campaign_id = $2 AND r.customer_dealer = x.d AND r.customer_id = x.c AND r.return_at IS NULL`,
			owner, id, d, c, t, rd)
		return err
	})
}

// RecordReceipts sets the messages' delivery states in one statement; a
// receipt for an unknown message (or an id that is not one) is not counted.
func (s *Store) RecordReceipts(ctx context.Context, rs []campaign.Receipt) (int, error) {
	ids := make([]string, 0, len(rs))
	states := make([]string, 0, len(rs))
	times := make([]time.Time, 0, len(rs))
	for _, r := range rs {
		if validate.IsUUID(r.MessageID) {
			ids, states, times = append(ids, r.MessageID), append(states, r.Delivery), append(times, r.Time)
		}
	}
	if len(ids) == 0 {
		return 0, nil
	}
	var n int64
	err := pg.InTx(ctx, s.pool, all, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE recipients r SET delivery = x.s, receipt_at = x.t
			FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS x(m, s, t)
			WHERE r.message_id = x.m AND (r.receipt_at IS NULL OR r.receipt_at <= x.t)`, ids, states, times)
		n = tag.RowsAffected()
		return err
	})
	return int(n), err
}

// mapError turns constraint violations into application errors.
func mapError(err error, what string) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return apperr.Errorf(apperr.ECONFLICT, "%s already exists", what).Zh(what + " 已存在")
		case "42501":
			return apperr.Errorf(apperr.ENOTFOUND, "%s not found", what).Zh(what + " 不存在")
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}
