package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc/codes"

	"github.com/dealercare/dealercare/pkg/postgres"
)

// Relay defaults, used for zero fields.
const (
	DefaultBatchSize     = 100
	DefaultPollInterval  = 2 * time.Second
	DefaultSignalTimeout = 10 * time.Second
	DefaultMinBackoff    = time.Second
	DefaultMaxBackoff    = 5 * time.Minute
	DefaultRetention     = 7 * 24 * time.Hour
)

const (
	// maxBatchTime stops a batch from starting new hand-offs, so the
	// transaction holding its row locks stays short even when Temporal is
	// slow; the rest of the batch is claimed again at once.
	maxBatchTime = 30 * time.Second
	// dbGrace bounds the batch's own statements and commit on top of the
	// hand-offs, and lets a shutting-down relay record what it delivered.
	dbGrace = 15 * time.Second
	// purgeInterval is how often a relay deletes expired delivered events.
	purgeInterval = time.Hour
	// purgeChunk bounds one DELETE, so purging never holds many locks.
	purgeChunk = 1000
	// maxErrorLen bounds last_error.
	maxErrorLen = 2000
)

// Relay delivers committed outbox events to Temporal: for each pending event
// it calls SignalWithStartWorkflow on the event's workflow (starting it with
// the event's type, task queue and start input if it is not running) and
// then marks the event delivered.
//
// Events are claimed with SELECT ... FOR UPDATE SKIP LOCKED in a transaction
// that lasts until they are marked, so any number of replicas share the work
// without handing off the same event twice in the common path. Delivery is
// at least once: a relay that dies after a hand-off but before its commit
// leaves the event pending, and it is handed off again. Receivers therefore
// deduplicate by [Envelope].EventID (see [Dedup]).
//
// A failed hand-off increments the event's attempts, records last_error and
// postpones the event with exponential backoff (MinBackoff doubling up to
// MaxBackoff); other events go on. Events are never dropped: one that keeps
// failing stays pending, visible to operators in the table. When Temporal
// is unreachable the rest of the batch is postponed with the same error
// instead of waiting out SignalTimeout for every event.
//
// The relay LISTENs for the notification [Add] sends at commit, so a new
// event is usually handed off within milliseconds; polling every
// PollInterval is the fallback (a lost listener connection, postponed
// events coming due). Events carry no ordering guarantee: retries, several
// replicas and backoff all reorder them, so receivers must not assume
// OccurredAt order.
//
// The relay connects as the service role and works with the
// postgres.AllDealers scope. Every process of the service (each replica)
// runs one Relay; a Relay's Run must not be called concurrently.
type Relay struct {
	// Pool is the service's pool. The relay uses one of its connections at
	// a time and opens one more, outside it, for LISTEN.
	Pool *pgxpool.Pool
	// Temporal is the client events are handed to; a lazy client
	// (temporal.NewLazyClient) lets the relay start while Temporal is down.
	Temporal client.Client
	// Log receives delivery failures (slog.Default() if nil). Payloads are
	// never logged.
	Log *slog.Logger
	// Schema holds the outbox table; empty finds it through the pool's
	// search_path, as Add does.
	Schema string
	// BatchSize is the number of events claimed per transaction.
	BatchSize int
	// PollInterval is the fallback polling period.
	PollInterval time.Duration
	// SignalTimeout bounds one hand-off. The Temporal client retries
	// transient errors within it.
	SignalTimeout time.Duration
	// MinBackoff and MaxBackoff bound the delay before a failed event is
	// retried (and before a failed batch or listener is retried).
	MinBackoff, MaxBackoff time.Duration
	// Retention is how long delivered events are kept (for inspection)
	// before the relay deletes them, checked hourly; zero means
	// DefaultRetention, negative keeps them forever.
	Retention time.Duration
	// Concurrency is how many hand-offs of a batch run at once (default 1).
	// When many events come due together (thousands of complaints filed in
	// a burst), parallel hand-offs keep workflow starts from queueing
	// behind one another's round trips.
	Concurrency int

	// afterSignal, set by tests, runs after each successful hand-off; an
	// error aborts the batch without recording anything and ends Run with
	// that error, as a crash between hand-off and commit would.
	afterSignal func(Event) error
}

// settings is a Relay with defaults applied.
type settings struct {
	table                       string // quoted, possibly schema-qualified
	batchSize                   int
	pollInterval, signalTimeout time.Duration
	minBackoff, maxBackoff      time.Duration
	retention                   time.Duration
	log                         *slog.Logger
}

func (r *Relay) settings() (settings, error) {
	s := settings{
		table:         pgx.Identifier{TableName}.Sanitize(),
		batchSize:     r.BatchSize,
		pollInterval:  r.PollInterval,
		signalTimeout: r.SignalTimeout,
		minBackoff:    r.MinBackoff,
		maxBackoff:    r.MaxBackoff,
		retention:     r.Retention,
		log:           r.Log,
	}
	if r.Schema != "" {
		s.table = pgx.Identifier{r.Schema, TableName}.Sanitize()
	}
	var errs []error
	if r.Pool == nil {
		errs = append(errs, errors.New("Pool is nil"))
	}
	if r.Temporal == nil {
		errs = append(errs, errors.New("Temporal is nil"))
	}
	for _, f := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"PollInterval", &s.pollInterval, DefaultPollInterval},
		{"SignalTimeout", &s.signalTimeout, DefaultSignalTimeout},
		{"MinBackoff", &s.minBackoff, DefaultMinBackoff},
		{"MaxBackoff", &s.maxBackoff, DefaultMaxBackoff},
	} {
		switch {
		case *f.v < 0:
			errs = append(errs, fmt.Errorf("%s must not be negative, got %s", f.name, *f.v))
		case *f.v == 0:
			*f.v = f.def
		}
	}
	if s.maxBackoff < s.minBackoff {
		errs = append(errs, fmt.Errorf("MaxBackoff (%s) must not be below MinBackoff (%s)", s.maxBackoff, s.minBackoff))
	}
	switch {
	case s.batchSize < 0:
		errs = append(errs, fmt.Errorf("BatchSize must not be negative, got %d", s.batchSize))
	case s.batchSize == 0:
		s.batchSize = DefaultBatchSize
	}
	if s.retention == 0 {
		s.retention = DefaultRetention
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if len(errs) > 0 {
		return settings{}, fmt.Errorf("outbox relay: %w", errors.Join(errs...))
	}
	return s, nil
}

// backoff is the delay after the n-th consecutive failure (n >= 1).
func (s settings) backoff(n int) time.Duration {
	d := s.minBackoff
	for i := 1; i < n && d < s.maxBackoff; i++ {
		d *= 2
	}
	return min(d, s.maxBackoff)
}

// Run delivers events until ctx is cancelled, then returns nil once the
// batch in flight is recorded. It returns an error only for an invalid
// configuration: database and Temporal failures are logged and retried, so
// a service keeps its relay running through outages.
func (r *Relay) Run(ctx context.Context) error {
	s, err := r.settings()
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // before wg.Wait: stops the listener

	wake := make(chan struct{}, 1)
	wg.Go(func() { r.listen(ctx, s, wake) })

	var failures int // consecutive failed batches
	var lastPurge time.Time
	for {
		res, err := r.deliverBatch(ctx, s)
		if crash, ok := errors.AsType[*crashError](err); ok {
			return crash.err
		}
		if ctx.Err() != nil {
			return nil
		}
		wait := s.pollInterval
		switch {
		case err != nil:
			failures++
			wait = s.backoff(failures)
			s.log.WarnContext(ctx, "outbox relay: batch failed; retrying", "table", s.table, "retry_in", wait, "error", err)
		case res.claimed == s.batchSize && !res.unreachable:
			failures = 0
			continue // more may be waiting
		default:
			failures = 0
		}
		if s.retention > 0 && time.Since(lastPurge) >= purgeInterval {
			lastPurge = time.Now()
			if n, err := r.purge(ctx, s); err != nil {
				s.log.WarnContext(ctx, "outbox relay: purge of delivered events failed", "table", s.table, "error", err)
			} else if n > 0 {
				s.log.DebugContext(ctx, "outbox relay: purged delivered events", "table", s.table, "count", n)
			}
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// crashError carries an afterSignal error out of the transaction.
type crashError struct{ err error }

func (e *crashError) Error() string { return "outbox relay: simulated crash: " + e.err.Error() }

// claimed is a pending event as the relay reads it.
type claimed struct {
	Event
	payload, startInput []byte
	createdAt           time.Time
	attempts            int
}

type batchResult struct {
	claimed     int
	unreachable bool // Temporal could not be reached
}

// deliverBatch claims up to batchSize due events, hands them off and
// records the outcome, all in one transaction.
func (r *Relay) deliverBatch(ctx context.Context, s settings) (batchResult, error) {
	var res batchResult
	// The transaction outlives ctx by a bounded grace period, so hand-offs
	// already made when shutdown starts are recorded instead of repeated.
	dbCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), maxBatchTime+s.signalTimeout+dbGrace)
	defer cancel()
	err := postgres.InTx(dbCtx, r.Pool, postgres.AllDealers(), func(tx pgx.Tx) error {
		events, err := claim(dbCtx, tx, s)
		if err != nil {
			return err
		}
		res.claimed = len(events)
		start := time.Now()
		var delivered, failed []*claimed
		var errs []error
		if r.Concurrency > 1 && r.afterSignal == nil {
			delivered, failed, errs = r.signalConcurrently(ctx, s, events, start)
			if err := markDelivered(dbCtx, tx, s, delivered); err != nil {
				return err
			}
			return markFailed(dbCtx, tx, s, failed, errs)
		}
		for i, e := range events {
			if ctx.Err() != nil || time.Since(start) > maxBatchTime {
				break // left pending, claimed again by the next batch
			}
			err := r.signal(ctx, s, e)
			if err != nil && ctx.Err() != nil {
				break // shutting down; not the event's fault
			}
			if err == nil {
				delivered = append(delivered, e)
				if r.afterSignal != nil {
					if herr := r.afterSignal(e.Event); herr != nil {
						return &crashError{herr}
					}
				}
				continue
			}
			if unreachable(err) {
				res.unreachable = true
				rest := events[i:]
				failed = append(failed, rest...)
				errs = append(errs, err)
				for range rest[1:] {
					errs = append(errs, fmt.Errorf("not attempted, Temporal unreachable: %w", err))
				}
				s.log.WarnContext(ctx, "outbox relay: Temporal unreachable; postponing events",
					"table", s.table, "events", len(rest), "error", err)
				break
			}
			failed = append(failed, e)
			errs = append(errs, err)
			s.log.WarnContext(ctx, "outbox relay: hand-off failed; will retry",
				"event_id", e.ID, "kind", e.Kind, "dealer_id", e.DealerID, "workflow_id", e.WorkflowID,
				"attempts", e.attempts+1, "error", err)
		}
		if err := markDelivered(dbCtx, tx, s, delivered); err != nil {
			return err
		}
		return markFailed(dbCtx, tx, s, failed, errs)
	})
	if err != nil {
		if _, ok := errors.AsType[*crashError](err); ok {
			return res, err
		}
		return res, fmt.Errorf("deliver from %s: %w", s.table, err)
	}
	return res, nil
}

func claim(ctx context.Context, tx pgx.Tx, s settings) ([]*claimed, error) {
	rows, err := tx.Query(ctx, `
SELECT dealer_id, id::text, kind, workflow_id, workflow_type, task_queue, signal_name,
       payload, start_input, created_at, attempts
FROM `+s.table+`
WHERE delivered_at IS NULL AND next_attempt_at <= now()
ORDER BY next_attempt_at, created_at
LIMIT $1
FOR UPDATE SKIP LOCKED`, s.batchSize)
	if err != nil {
		return nil, fmt.Errorf("claim events: %w", err)
	}
	events, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*claimed, error) {
		var c claimed
		err := row.Scan(&c.DealerID, &c.ID, &c.Kind, &c.WorkflowID, &c.WorkflowType, &c.TaskQueue, &c.SignalName,
			&c.payload, &c.startInput, &c.createdAt, &c.attempts)
		c.Payload = json.RawMessage(c.payload)
		c.OccurredAt = c.createdAt
		if c.startInput != nil {
			c.StartInput = json.RawMessage(c.startInput)
		}
		return &c, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim events: %w", err)
	}
	return events, nil
}

// signal hands one event to Temporal.
// signalConcurrently hands a batch off with r.Concurrency hand-offs at
// once. Events not started before maxBatchTime or shutdown stay pending.
func (r *Relay) signalConcurrently(ctx context.Context, s settings, events []*claimed, start time.Time) (delivered, failed []*claimed, errs []error) {
	results := make([]error, len(events))
	started := make([]bool, len(events))
	sem := make(chan struct{}, r.Concurrency)
	var wg sync.WaitGroup
	for i, e := range events {
		if ctx.Err() != nil || time.Since(start) > maxBatchTime {
			break
		}
		sem <- struct{}{}
		started[i] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = r.signal(ctx, s, e)
		}()
	}
	wg.Wait()
	for i, e := range events {
		switch {
		case !started[i]:
		case results[i] == nil:
			delivered = append(delivered, e)
		case ctx.Err() != nil:
			// Shutting down; not the event's fault: left pending.
		default:
			failed = append(failed, e)
			errs = append(errs, results[i])
			s.log.WarnContext(ctx, "outbox relay: hand-off failed; will retry",
				"event_id", e.ID, "kind", e.Kind, "dealer_id", e.DealerID, "workflow_id", e.WorkflowID,
				"attempts", e.attempts+1, "error", results[i])
		}
	}
	return delivered, failed, errs
}

func (r *Relay) signal(ctx context.Context, s settings, e *claimed) error {
	ctx, cancel := context.WithTimeout(ctx, s.signalTimeout)
	defer cancel()
	env := Envelope{
		EventID:    e.ID,
		Kind:       e.Kind,
		DealerID:   e.DealerID,
		OccurredAt: e.createdAt.UTC(),
		Payload:    json.RawMessage(e.payload),
	}
	opts := client.StartWorkflowOptions{
		ID:        e.WorkflowID,
		TaskQueue: e.TaskQueue,
		// A running workflow just gets the signal; a closed one is started
		// again, since the id is a business key whose life goes on.
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}
	var args []any
	if e.startInput != nil {
		args = append(args, json.RawMessage(e.startInput))
	}
	_, err := r.Temporal.SignalWithStartWorkflow(ctx, e.WorkflowID, e.SignalName, env, opts, e.WorkflowType, args...)
	return err
}

// unreachable reports errors that concern Temporal as a whole rather than
// one event, after which trying the rest of a batch would only wait out
// SignalTimeout again for each event.
func unreachable(err error) bool {
	switch serviceerror.ToStatus(err).Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted:
		return true
	}
	return false
}

// markDelivered and markFailed join the batch on the table's primary key.
// The ids travel as uuid[]: under row-level security a condition is an
// index condition only if every function in it is leakproof, and a cast
// of the joined column (d.id::uuid) is not, so it used to filter every
// row of the dealer (1.5 s for 100 events among a million).
func markDelivered(ctx context.Context, tx pgx.Tx, s settings, events []*claimed) error {
	if len(events) == 0 {
		return nil
	}
	dealers, ids := make([]string, len(events)), make([]string, len(events))
	for i, e := range events {
		dealers[i], ids[i] = e.DealerID, e.ID
	}
	_, err := tx.Exec(ctx, `
UPDATE `+s.table+` AS o
SET delivered_at = clock_timestamp(), attempts = o.attempts + 1
FROM unnest($1::text[], $2::uuid[]) AS d(dealer_id, id)
WHERE o.dealer_id = d.dealer_id AND o.id = d.id`, dealers, ids)
	if err != nil {
		return fmt.Errorf("mark %d events delivered: %w", len(events), err)
	}
	return nil
}

func markFailed(ctx context.Context, tx pgx.Tx, s settings, events []*claimed, errs []error) error {
	if len(events) == 0 {
		return nil
	}
	dealers, ids, msgs := make([]string, len(events)), make([]string, len(events)), make([]string, len(events))
	delays := make([]int64, len(events))
	for i, e := range events {
		dealers[i], ids[i] = e.DealerID, e.ID
		msgs[i] = truncate(errs[i].Error(), maxErrorLen)
		delays[i] = s.backoff(e.attempts + 1).Milliseconds()
	}
	_, err := tx.Exec(ctx, `
UPDATE `+s.table+` AS o
SET attempts = o.attempts + 1, last_error = f.err,
    next_attempt_at = clock_timestamp() + f.delay_ms * interval '1 millisecond'
FROM unnest($1::text[], $2::uuid[], $3::text[], $4::bigint[]) AS f(dealer_id, id, err, delay_ms)
WHERE o.dealer_id = f.dealer_id AND o.id = f.id`, dealers, ids, msgs, delays)
	if err != nil {
		return fmt.Errorf("record %d failed hand-offs: %w", len(events), err)
	}
	return nil
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}

// purge deletes events delivered more than s.retention ago, in chunks.
func (r *Relay) purge(ctx context.Context, s settings) (int64, error) {
	var total int64
	for {
		var n int64
		err := postgres.InTx(ctx, r.Pool, postgres.AllDealers(), func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `
WITH doomed AS MATERIALIZED (
    SELECT dealer_id, id FROM `+s.table+`
    WHERE delivered_at < now() - $1 * interval '1 millisecond'
    ORDER BY delivered_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
DELETE FROM `+s.table+` AS o USING doomed
WHERE o.dealer_id = doomed.dealer_id AND o.id = doomed.id`, s.retention.Milliseconds(), purgeChunk)
			n = tag.RowsAffected()
			return err
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("purge delivered events from %s: %w", s.table, err)
		}
		if n < purgeChunk || ctx.Err() != nil {
			return total, nil
		}
	}
}

// listen keeps a connection LISTENing on the table's channel and pokes wake
// for every notification, and once after each (re)connection to cover
// events committed while it was not listening. Polling covers the gaps.
func (r *Relay) listen(ctx context.Context, s settings, wake chan<- struct{}) {
	failures := 0
	for {
		err := r.listenOnce(ctx, s, wake, func() { failures = 0 })
		if ctx.Err() != nil {
			return
		}
		failures++
		wait := s.backoff(failures)
		s.log.WarnContext(ctx, "outbox relay: listening for new events failed; polling until it is back",
			"table", s.table, "poll_interval", s.pollInterval, "retry_in", wait, "error", err)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}

func (r *Relay) listenOnce(ctx context.Context, s settings, wake chan<- struct{}, listening func()) error {
	conn, err := pgx.ConnectConfig(ctx, r.Pool.Config().ConnConfig)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	var oid *string
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1)::oid::text", s.table).Scan(&oid); err != nil {
		return fmt.Errorf("look up %s: %w", s.table, err)
	}
	if oid == nil {
		return fmt.Errorf("table %s not found (migration missing, or wrong schema or search_path)", s.table)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channelPrefix + *oid}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	listening()
	poke(wake)
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return fmt.Errorf("wait for notification: %w", err)
		}
		poke(wake)
	}
}

// poke wakes the delivery loop without blocking; one pending wake-up is
// enough however many notifications arrive.
func poke(wake chan<- struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}
