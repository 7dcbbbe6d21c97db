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
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
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
	DefaultConcurrency   = 8
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
	// maxOutageWait bounds the wait before a failed batch or listener is
	// tried again (MinBackoff doubling up to MaxBackoff would otherwise
	// grow to minutes during a long database outage, and the relay would
	// sleep that long after the database is back).
	maxOutageWait = 10 * time.Second
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
// Each batch takes turns between dealers (see claimByDealer): a backlog
// at one dealer delays the others' events by at most one batch, and within
// a dealer live events go before backfills. Up to Concurrency hand-offs
// run at once.
//
// A failed hand-off increments the event's attempts, records last_error and
// postpones the event with exponential backoff (MinBackoff doubling up to
// MaxBackoff); other events go on. Events are never dropped: one that keeps
// failing stays pending, visible to operators in the table. When Temporal
// is unreachable the rest of the batch is not attempted (it records the
// same error) instead of waiting out SignalTimeout for every event: after
// start-up and after such a failure one hand-off goes first, alone, and
// the number at once doubles with each success up to Concurrency. An
// outage of Temporal is not the events' fault, so it does not postpone
// the skipped ones (the one tried waits at most 10 s): the relay tries
// again every PollInterval (one hand-off per try), and the backlog goes
// out as soon as Temporal answers, however long the outage lasted.
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
	// retried. A failed batch or listener (the database is down) is
	// retried after the same delay, but never more than maxOutageWait
	// (10 s) later, so the relay resumes soon after an outage.
	MinBackoff, MaxBackoff time.Duration
	// Retention is how long delivered events are kept (for inspection)
	// before the relay deletes them, checked hourly; zero means
	// DefaultRetention, negative keeps them forever.
	Retention time.Duration
	// Concurrency is how many hand-offs run at once (DefaultConcurrency
	// if zero; 1 hands events off one by one). Each hand-off is a round
	// trip to Temporal that mostly waits on its persistence, so parallel
	// hand-offs, not the relay's CPU, set the pace.
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
	concurrency                 int
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
		concurrency:   r.Concurrency,
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
	switch {
	case s.concurrency < 0:
		errs = append(errs, fmt.Errorf("Concurrency must not be negative, got %d", s.concurrency))
	case s.concurrency == 0:
		s.concurrency = DefaultConcurrency
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

// outageWait is the delay before the relay's own work (a batch, the
// listener) is retried after its n-th consecutive failure: backoff, but
// at most maxOutageWait (or MinBackoff, if that is longer).
func (s settings) outageWait(n int) time.Duration {
	return min(s.backoff(n), max(maxOutageWait, s.minBackoff))
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

	st := &runState{window: 1}
	st.metrics = r.newRelayMetrics(s)
	defer st.metrics.close()
	var failures int // consecutive failed batches
	var lastPurge time.Time
	for {
		res, err := r.deliverBatch(ctx, s, st)
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
			wait = s.outageWait(failures)
			st.queue = queueUnknown // a migration may have run meanwhile
			s.log.WarnContext(ctx, "outbox relay: batch failed; retrying", "table", s.table, "retry_in", wait, "error", err)
		case res.claimed > 0 && !res.unreachable:
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

// runState is what a relay's Run carries from one batch to the next.
type runState struct {
	// queue says whether the table has the per-dealer queue (TableSQL or
	// UpgradeSQL applied); checked before the first batch and after a
	// failed one.
	queue queueKind
	// traced says whether the table has trace_context, found with queue.
	traced bool
	// cursor is the last dealer the previous batch served: the next batch
	// starts with the dealers after it, so every dealer with due events
	// gets its turn however many there are.
	cursor string
	// window is how many hand-offs may run at once: 1 at start and after
	// Temporal was unreachable, so the first hand-off finds out alone
	// (and the rest of the batch is postponed without each waiting out
	// SignalTimeout); it doubles with each success up to Concurrency.
	window int
	// metrics records delivery lag (and observes the pending gauges).
	metrics *relayMetrics
}

type queueKind int

const (
	queueUnknown queueKind = iota
	queueByDealer
	queueFIFO // a table without the per-dealer queue index
)

// crashError carries an afterSignal error out of the transaction.
type crashError struct{ err error }

func (e *crashError) Error() string { return "outbox relay: simulated crash: " + e.err.Error() }

// claimed is a pending event as the relay reads it.
type claimed struct {
	Event
	payload, startInput []byte
	createdAt           time.Time
	attempts            int
	traceContext        *string // the producer's traceparent
}

type batchResult struct {
	claimed     int
	unreachable bool // Temporal could not be reached
}

// deliverBatch claims due events, hands them off and records the outcome,
// all in one transaction.
func (r *Relay) deliverBatch(ctx context.Context, s settings, st *runState) (batchResult, error) {
	var res batchResult
	// The transaction outlives ctx by a bounded grace period, so hand-offs
	// already made when shutdown starts are recorded instead of repeated.
	dbCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), maxBatchTime+s.signalTimeout+dbGrace)
	defer cancel()
	var delivered []*claimed
	err := postgres.InTx(dbCtx, r.Pool, postgres.AllDealers(), func(tx pgx.Tx) error {
		delivered = nil
		events, err := r.claim(dbCtx, tx, s, st)
		if err != nil {
			return err
		}
		res.claimed = len(events)
		out := r.handOff(ctx, s, st, events)
		if out.crash != nil {
			return &crashError{out.crash}
		}
		res.unreachable = out.unreachable
		if err := markDelivered(dbCtx, tx, s, out.delivered); err != nil {
			return err
		}
		delivered = out.delivered
		return markFailed(dbCtx, tx, s, out.failed)
	})
	if err == nil {
		st.metrics.delivered(ctx, delivered)
	}
	if err != nil {
		if _, ok := errors.AsType[*crashError](err); ok {
			return res, err
		}
		return res, fmt.Errorf("deliver from %s: %w", s.table, err)
	}
	return res, nil
}

// handOffs is the outcome of a batch's hand-offs. Events in neither list
// were not attempted (shutdown, maxBatchTime) and stay pending as they are.
type handOffs struct {
	delivered   []*claimed
	failed      []failedHandOff
	unreachable bool
	crash       error // from afterSignal
}

// failedHandOff is an event whose hand-off failed (or was skipped), with
// the error for last_error and kind, which tells the event's own failures
// from those that concern Temporal as a whole (see markFailed).
type failedHandOff struct {
	*claimed
	err  error
	kind failure
}

// handOff hands events off in order, up to st.window at once (at most
// s.concurrency). When one finds Temporal unreachable, no further hand-off
// starts: those in flight finish and the rest are failed as not attempted.
func (r *Relay) handOff(ctx context.Context, s settings, st *runState, events []*claimed) handOffs {
	type result struct {
		i   int
		err error
	}
	var (
		out      handOffs
		down     error // the first unreachable error
		results  = make(chan result, len(events))
		inFlight int
		start    = time.Now()
	)
	collect := func() {
		res := <-results
		inFlight--
		e := events[res.i]
		switch {
		case res.err == nil:
			out.delivered = append(out.delivered, e)
			st.window = min(s.concurrency, st.window*2)
			if r.afterSignal != nil && out.crash == nil {
				out.crash = r.afterSignal(e.Event)
			}
		case ctx.Err() != nil:
			// Shutting down; not the event's fault: left pending.
		default:
			if unreachable(res.err) {
				out.failed = append(out.failed, failedHandOff{e, res.err, failedOutage})
				st.window = 1
				if down == nil {
					down = res.err
				}
				return
			}
			out.failed = append(out.failed, failedHandOff{e, res.err, failedEvent})
			s.log.WarnContext(ctx, "outbox relay: hand-off failed; will retry",
				"event_id", e.ID, "kind", e.Kind, "dealer_id", e.DealerID, "workflow_id", e.WorkflowID,
				"attempts", e.attempts+1, "error", res.err)
		}
	}
	next := 0
	for ; next < len(events); next++ {
		for inFlight >= st.window {
			collect()
		}
		if down != nil || out.crash != nil || ctx.Err() != nil || time.Since(start) > maxBatchTime {
			break // the rest is left pending (or, below, recorded as not attempted)
		}
		inFlight++
		go func(i int) { results <- result{i, r.signal(ctx, s, events[i])} }(next)
	}
	for inFlight > 0 {
		collect()
	}
	if down != nil {
		out.unreachable = true
		rest := events[next:]
		for _, e := range rest {
			out.failed = append(out.failed, failedHandOff{e, fmt.Errorf("not attempted, Temporal unreachable: %w", down), notAttempted})
		}
		s.log.WarnContext(ctx, "outbox relay: Temporal unreachable; the rest of the batch waits for the next try",
			"table", s.table, "events", len(rest)+1, "error", down)
	}
	return out
}

// claimColumns are the columns claim reads, in scanClaimed's order; a
// table without trace_context reads NULL in its place.
func claimColumns(traced bool) string {
	tc := "NULL::text AS trace_context"
	if traced {
		tc = "trace_context"
	}
	return `dealer_id, id::text, kind, workflow_id, workflow_type, task_queue, signal_name,
       payload, start_input, created_at, attempts, ` + tc
}

// claim locks the batch's events (FOR UPDATE SKIP LOCKED, so replicas
// share the work), in the order they should be handed off.
func (r *Relay) claim(ctx context.Context, tx pgx.Tx, s settings, st *runState) ([]*claimed, error) {
	if st.queue == queueUnknown {
		var ok bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (
    SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE i.indrelid = to_regclass($1) AND c.relname = 'outbox_events_dealer_pending_idx')`, s.table).Scan(&ok)
		if err != nil {
			return nil, fmt.Errorf("look for the per-dealer queue of %s: %w", s.table, err)
		}
		if err := tx.QueryRow(ctx, traceColumnSQL, s.table).Scan(&st.traced); err != nil {
			return nil, fmt.Errorf("look for the trace_context column of %s: %w", s.table, err)
		}
		st.queue = queueFIFO
		if ok {
			st.queue = queueByDealer
		} else {
			s.log.WarnContext(ctx, "outbox relay: the table lacks the per-dealer queue, so events are served first come, first served and one dealer's backlog delays every other's; apply outbox.UpgradeSQL in a migration",
				"table", s.table)
		}
	}
	if st.queue == queueFIFO {
		return claimFIFO(ctx, tx, s, st.traced)
	}
	return claimByDealer(ctx, tx, s, st.traced, &st.cursor)
}

// claimFIFO is the claim of a table without the per-dealer queue.
func claimFIFO(ctx context.Context, tx pgx.Tx, s settings, traced bool) ([]*claimed, error) {
	rows, err := tx.Query(ctx, `
SELECT `+claimColumns(traced)+`
FROM `+s.table+`
WHERE delivered_at IS NULL AND next_attempt_at <= now()
ORDER BY next_attempt_at, created_at
LIMIT $1
FOR UPDATE SKIP LOCKED`, s.batchSize)
	if err != nil {
		return nil, fmt.Errorf("claim events: %w", err)
	}
	events, err := pgx.CollectRows(rows, scanClaimed)
	if err != nil {
		return nil, fmt.Errorf("claim events: %w", err)
	}
	return events, nil
}

// walkSQL lists up to $2 dealers after $1, in order, that have due events:
// one probe of the per-dealer queue index per dealer (a loose index scan),
// however many events each has waiting.
func walkSQL(table string) string {
	next := `SELECT dealer_id FROM ` + table + `
        WHERE delivered_at IS NULL AND next_attempt_at <= now() AND dealer_id > %s
        ORDER BY dealer_id LIMIT 1`
	return `
WITH RECURSIVE walk (dealer_id, n) AS (
    SELECT (` + fmt.Sprintf(next, "$1") + `), 1
    UNION ALL
    SELECT (` + fmt.Sprintf(next, "walk.dealer_id") + `), n + 1
    FROM walk WHERE walk.dealer_id IS NOT NULL AND n < $2
)
SELECT dealer_id FROM walk WHERE dealer_id IS NOT NULL`
}

// claimByDealer takes turns between dealers: it finds up to batchSize
// dealers with due events, starting after *cursor and wrapping around,
// claims an equal share of the batch from each (live events first, then
// the due ones oldest first) and orders them round robin: every dealer's
// first event, then every dealer's second, and so on. A dealer with 50,000
// events waiting thus gets one turn among the dealers with work, not the
// whole relay.
func claimByDealer(ctx context.Context, tx pgx.Tx, s settings, traced bool, cursor *string) ([]*claimed, error) {
	walk := walkSQL(s.table)
	list := func(after string, n int) ([]string, error) {
		rows, err := tx.Query(ctx, walk, after, n)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, pgx.RowTo[string])
	}
	dealers, err := list(*cursor, s.batchSize)
	if err != nil {
		return nil, fmt.Errorf("claim events: find dealers with due events: %w", err)
	}
	if len(dealers) < s.batchSize && *cursor != "" {
		// Wrap around to the dealers up to the cursor.
		more, err := list("", s.batchSize-len(dealers))
		if err != nil {
			return nil, fmt.Errorf("claim events: find dealers with due events: %w", err)
		}
		for _, d := range more {
			if d > *cursor {
				break
			}
			dealers = append(dealers, d)
		}
	}
	if len(dealers) == 0 {
		*cursor = ""
		return nil, nil
	}
	*cursor = dealers[len(dealers)-1]
	share := (s.batchSize + len(dealers) - 1) / len(dealers)
	rows, err := tx.Query(ctx, `
SELECT e.dealer_id, e.id, e.kind, e.workflow_id, e.workflow_type, e.task_queue, e.signal_name,
       e.payload, e.start_input, e.created_at, e.attempts, e.trace_context
FROM unnest($1::text[]) WITH ORDINALITY AS d (dealer_id, turn)
CROSS JOIN LATERAL (
    SELECT `+claimColumns(traced)+`, backfill, next_attempt_at
    FROM `+s.table+` AS o
    WHERE o.dealer_id = d.dealer_id AND o.delivered_at IS NULL AND o.next_attempt_at <= now()
    ORDER BY o.backfill, o.next_attempt_at, o.created_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
) AS e
ORDER BY d.turn, e.backfill, e.next_attempt_at, e.created_at`, dealers, share)
	if err != nil {
		return nil, fmt.Errorf("claim events: %w", err)
	}
	events, err := pgx.CollectRows(rows, scanClaimed)
	if err != nil {
		return nil, fmt.Errorf("claim events: %w", err)
	}
	return roundRobin(events), nil
}

// roundRobin reorders events grouped by dealer (each group in its own
// order) into turns: the first of each dealer, then the second, ...
func roundRobin(events []*claimed) []*claimed {
	var groups [][]*claimed
	for i, e := range events {
		if i == 0 || e.DealerID != events[i-1].DealerID {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], e)
	}
	out := make([]*claimed, 0, len(events))
	for turn := 0; len(out) < len(events); turn++ {
		for _, g := range groups {
			if turn < len(g) {
				out = append(out, g[turn])
			}
		}
	}
	return out
}

func scanClaimed(row pgx.CollectableRow) (*claimed, error) {
	var c claimed
	err := row.Scan(&c.DealerID, &c.ID, &c.Kind, &c.WorkflowID, &c.WorkflowType, &c.TaskQueue, &c.SignalName,
		&c.payload, &c.startInput, &c.createdAt, &c.attempts, &c.traceContext)
	c.Payload = json.RawMessage(c.payload)
	c.OccurredAt = c.createdAt
	if c.startInput != nil {
		c.StartInput = json.RawMessage(c.startInput)
	}
	return &c, err
}

// signal hands one event to Temporal, in a SpanDeliver span that
// continues (and links to) the trace the event was recorded in; the
// Temporal client's tracing interceptor carries it on into the workflow.
func (r *Relay) signal(ctx context.Context, s settings, e *claimed) (err error) {
	ctx, cancel := context.WithTimeout(ctx, s.signalTimeout)
	defer cancel()
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(eventAttrs(&e.Event)...)}
	if producer := producerContext(e.traceContext); producer.IsValid() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, producer)
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: producer}))
	} else {
		opts = append(opts, trace.WithNewRoot())
	}
	ctx, span := tracer().Start(ctx, SpanDeliver, opts...)
	defer func() {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(otelcodes.Error, "hand-off failed")
		}
		span.End()
	}()
	env := Envelope{
		EventID:    e.ID,
		Kind:       e.Kind,
		DealerID:   e.DealerID,
		OccurredAt: e.createdAt.UTC(),
		Payload:    json.RawMessage(e.payload),
	}
	wopts := client.StartWorkflowOptions{
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
	_, err = r.Temporal.SignalWithStartWorkflow(ctx, e.WorkflowID, e.SignalName, env, wopts, e.WorkflowType, args...)
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

// failure is how a hand-off failed, for markFailed.
type failure int

const (
	failedEvent  failure = iota // the event's own failure
	failedOutage                // tried, but Temporal was unreachable
	notAttempted                // skipped because Temporal was unreachable
)

// markFailed records each failure in last_error. A failure of the event
// counts as an attempt and postpones it by backoff(attempts). An event
// skipped because Temporal was unreachable is neither counted nor
// postponed: it goes out with the first batch that finds Temporal back.
// The one tried counts, and is postponed by at most outageWait, so the
// next batch tries another (and an event that alone keeps timing out
// does not slow every batch). Postponing them all by backoff made the
// backlog wait, after Temporal came back, about as long as the outage
// had lasted (up to MaxBackoff), since every batch during the outage
// doubled its delay.
func markFailed(ctx context.Context, tx pgx.Tx, s settings, failed []failedHandOff) error {
	if len(failed) == 0 {
		return nil
	}
	n := len(failed)
	dealers, ids, msgs := make([]string, n), make([]string, n), make([]string, n)
	delays := make([]*int64, n) // nil: skipped, so neither counted nor postponed
	for i, e := range failed {
		dealers[i], ids[i] = e.DealerID, e.ID
		msgs[i] = truncate(e.err.Error(), maxErrorLen)
		switch e.kind {
		case failedEvent:
			d := s.backoff(e.attempts + 1).Milliseconds()
			delays[i] = &d
		case failedOutage:
			d := s.outageWait(e.attempts + 1).Milliseconds()
			delays[i] = &d
		}
	}
	_, err := tx.Exec(ctx, `
UPDATE `+s.table+` AS o
SET attempts = o.attempts + (f.delay_ms IS NOT NULL)::int, last_error = f.err,
    next_attempt_at = coalesce(clock_timestamp() + f.delay_ms * interval '1 millisecond', o.next_attempt_at)
FROM unnest($1::text[], $2::uuid[], $3::text[], $4::bigint[]) AS f(dealer_id, id, err, delay_ms)
WHERE o.dealer_id = f.dealer_id AND o.id = f.id`, dealers, ids, msgs, delays)
	if err != nil {
		return fmt.Errorf("record %d failed hand-offs: %w", len(failed), err)
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
		wait := s.outageWait(failures)
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
