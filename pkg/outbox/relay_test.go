package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/dealercare/dealercare/pkg/outbox"
	"github.com/dealercare/dealercare/pkg/pgtest"
	"github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/temporal/temporaltest"
)

const (
	schema       = "svc"
	signalName   = "event"
	workflowType = "OutboxTestCounter"
	// waitFor bounds every wait; deliveries normally take milliseconds.
	waitFor = 30 * time.Second
)

var migrations = fstest.MapFS{
	"0001_outbox.sql": {Data: []byte(outbox.TableSQL(""))},
}

// counterInput is the test workflow's start input.
type counterInput struct {
	Label string `json:"label"`
}

// counterState is what the test workflow reports through its query.
type counterState struct {
	Label     string          // from the start input
	Received  int             // signals, redeliveries included
	Processed int             // distinct events
	EventIDs  []string        // processed, in order
	Last      outbox.Envelope // last processed
	Seen      outbox.Dedup
}

// counterWorkflow counts the events it receives, dropping redeliveries
// with outbox.Dedup as a real receiver would.
func counterWorkflow(ctx workflow.Context, in counterInput) error {
	st := counterState{Label: in.Label}
	if err := workflow.SetQueryHandler(ctx, "state", func() (counterState, error) { return st, nil }); err != nil {
		return err
	}
	events := workflow.GetSignalChannel(ctx, signalName)
	for {
		var env outbox.Envelope
		events.Receive(ctx, &env)
		st.Received++
		if st.Seen.Seen(env.EventID) {
			continue
		}
		st.Processed++
		st.EventIDs = append(st.EventIDs, env.EventID)
		st.Last = env
	}
}

// harness is one test's database, Temporal client and worker.
type harness struct {
	t     *testing.T
	db    *pgtest.DB
	pool  *pgxpool.Pool // the service role, search_path = schema, as in a service
	tc    client.Client
	queue string

	mu        sync.Mutex
	workflows []string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessOn(t, migrations)
}

// newHarnessOn is newHarness with the outbox table of migrations.
func newHarnessOn(t *testing.T, migrations fstest.MapFS) *harness {
	t.Helper()
	return newHarnessAt(t, temporaltest.Address(t), migrations)
}

// newHarnessAt is newHarnessOn with the Temporal server at addr.
func newHarnessAt(t *testing.T, addr string, migrations fstest.MapFS) *harness {
	t.Helper()
	db := pgtest.New(t, schema, migrations)
	pool := db.AppPool(t, postgres.Config{MaxConns: 8, ApplicationName: "outbox-test"})
	tc, err := client.Dial(client.Options{HostPort: addr, Logger: quietLogger()})
	if err != nil {
		t.Fatalf("connect to Temporal at %s: %v", addr, err)
	}
	t.Cleanup(tc.Close)
	h := &harness{t: t, db: db, pool: pool, tc: tc, queue: "outbox-test-" + outbox.NewID()}
	w := worker.New(tc, h.queue, worker.Options{})
	w.RegisterWorkflowWithOptions(counterWorkflow, workflow.RegisterOptions{Name: workflowType})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	t.Cleanup(h.terminateWorkflows) // before the worker stops
	return h
}

func quietLogger() tlog.Logger {
	return tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))
}

// workflowID returns a fresh business key, terminated when the test ends.
func (h *harness) workflowID() string {
	id := "vehicle/TEST" + strings.ToUpper(outbox.NewID()[:8])
	h.mu.Lock()
	h.workflows = append(h.workflows, id)
	h.mu.Unlock()
	return id
}

func (h *harness) terminateWorkflows() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, id := range h.workflows {
		_ = h.tc.TerminateWorkflow(ctx, id, "", "test finished") // never started in some tests
	}
}

// event is a valid event for the test workflow wf.
func (h *harness) event(wf, kind string) outbox.Event {
	return outbox.Event{
		ID:           outbox.NewID(),
		DealerID:     "D1",
		Kind:         kind,
		WorkflowID:   wf,
		WorkflowType: workflowType,
		TaskQueue:    h.queue,
		SignalName:   signalName,
		Payload:      map[string]any{"kind": kind},
		StartInput:   counterInput{Label: "started by " + kind},
	}
}

// add commits e in its own transaction, scoped to its dealer.
func (h *harness) add(e outbox.Event) string {
	h.t.Helper()
	err := postgres.InTx(context.Background(), h.pool, postgres.Dealers(e.DealerID), func(tx pgx.Tx) error {
		return outbox.Add(context.Background(), tx, e)
	})
	if err != nil {
		h.t.Fatalf("add event: %v", err)
	}
	return e.ID
}

// relay returns a relay on the harness's pool and Temporal client with
// short backoffs; tests adjust it before starting it.
func (h *harness) relay() *outbox.Relay {
	return &outbox.Relay{
		Pool:         h.pool,
		Temporal:     h.tc,
		Log:          slog.New(slog.NewTextHandler(h.t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		PollInterval: 100 * time.Millisecond,
		MinBackoff:   50 * time.Millisecond,
		MaxBackoff:   200 * time.Millisecond,
	}
}

// start runs r until the returned stop is called (or the test ends) and
// returns what Run returned.
func (h *harness) start(r *outbox.Relay) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(waitFor):
				err = errors.New("relay did not stop")
			}
		})
		return err
	}
	h.t.Cleanup(func() {
		if err := stop(); err != nil {
			h.t.Errorf("relay: %v", err)
		}
	})
	return stop
}

// row is an outbox row as the relay leaves it.
type row struct {
	delivered bool
	attempts  int
	lastError string
	createdAt time.Time
}

func (h *harness) row(id string) (row, bool) {
	h.t.Helper()
	var r row
	found := true
	err := postgres.InTx(context.Background(), h.pool, postgres.AllDealers(), func(tx pgx.Tx) error {
		err := tx.QueryRow(context.Background(), `
SELECT delivered_at IS NOT NULL, attempts, coalesce(last_error, ''), created_at
FROM outbox_events WHERE id = $1`, id).Scan(&r.delivered, &r.attempts, &r.lastError, &r.createdAt)
		if errors.Is(err, pgx.ErrNoRows) {
			found = false
			return nil
		}
		return err
	})
	if err != nil {
		h.t.Fatalf("read outbox row %s: %v", id, err)
	}
	return r, found
}

// waitDelivered waits until every id is marked delivered.
func (h *harness) waitDelivered(ids ...string) {
	h.t.Helper()
	eventually(h.t, "events delivered", func() (bool, string) {
		for _, id := range ids {
			if r, _ := h.row(id); !r.delivered {
				return false, fmt.Sprintf("event %s: %+v", id, r)
			}
		}
		return true, ""
	})
}

// state queries the test workflow; ok is false while it does not exist.
func (h *harness) state(wf string) (counterState, bool) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := h.tc.QueryWorkflow(ctx, wf, "", "state")
	if _, notFound := errors.AsType[*serviceerror.NotFound](err); notFound {
		return counterState{}, false
	}
	if err != nil {
		h.t.Fatalf("query %s: %v", wf, err)
	}
	var st counterState
	if err := v.Get(&st); err != nil {
		h.t.Fatalf("decode state of %s: %v", wf, err)
	}
	return st, true
}

// waitProcessed waits until wf has processed n distinct events.
func (h *harness) waitProcessed(wf string, n int) counterState {
	h.t.Helper()
	var st counterState
	eventually(h.t, fmt.Sprintf("%s processed %d events", wf, n), func() (bool, string) {
		var ok bool
		st, ok = h.state(wf)
		return ok && st.Processed >= n, fmt.Sprintf("%+v", st)
	})
	return st
}

// fence sends one more event to wf through r's relay and waits for the
// workflow to process it. Signals are processed in the order Temporal
// recorded them, so afterwards the state includes every signal that
// reached wf before the fence, redeliveries included.
func (h *harness) fence(wf string) counterState {
	h.t.Helper()
	before, _ := h.state(wf)
	id := h.add(h.event(wf, "fence"))
	h.waitDelivered(id)
	st := h.waitProcessed(wf, before.Processed+1)
	if st.Last.EventID != id {
		h.t.Fatalf("last processed event of %s is %s, want the fence %s", wf, st.Last.EventID, id)
	}
	return st
}

// eventually polls cond until it holds or waitFor passes.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last: %s", waitFor, what, detail)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// (1) An event added in a transaction that rolls back is never delivered.
func TestRolledBackEventIsNeverDelivered(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	wf := h.workflowID()

	rolledBack := h.event(wf, "rolled_back")
	errAbort := errors.New("business rule failed")
	err := postgres.InTx(ctx, h.pool, postgres.Dealers("D1"), func(tx pgx.Tx) error {
		if err := outbox.Add(ctx, tx, rolledBack); err != nil {
			return err
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("InTx() = %v, want %v", err, errAbort)
	}
	committed := h.add(h.event(wf, "committed"))

	h.start(h.relay())
	h.waitDelivered(committed)
	st := h.fence(wf)
	if len(st.EventIDs) != 2 || st.EventIDs[0] != committed || st.Received != 2 {
		t.Errorf("workflow got %d signals, events %v; want only %s and the fence", st.Received, st.EventIDs, committed)
	}
	if _, found := h.row(rolledBack.ID); found {
		t.Errorf("rolled-back event %s is in the outbox", rolledBack.ID)
	}
}

// (2) A committed event reaches its workflow exactly once, with its
// envelope and the workflow's start input intact.
func TestCommittedEventIsDeliveredOnce(t *testing.T) {
	h := newHarness(t)
	wf := h.workflowID()
	e := h.event(wf, "repair_order.closed")
	e.Payload = map[string]any{"repair_order": "RO-1", "mileage": 12345}
	e.StartInput = counterInput{Label: "LSVAU2180N2183294"}
	h.add(e)

	h.start(h.relay())
	h.waitDelivered(e.ID)
	r, _ := h.row(e.ID)
	if r.attempts != 1 || r.lastError != "" {
		t.Errorf("delivered row has attempts %d, last_error %q; want 1 and none", r.attempts, r.lastError)
	}

	st := h.waitProcessed(wf, 1)
	if st.Label != "LSVAU2180N2183294" {
		t.Errorf("workflow started with label %q, want the event's start input", st.Label)
	}
	env := st.Last
	if env.EventID != e.ID || env.Kind != e.Kind || env.DealerID != "D1" {
		t.Errorf("envelope = %+v, want event %s, kind %s, dealer D1", env, e.ID, e.Kind)
	}
	if !env.OccurredAt.Equal(r.createdAt) {
		t.Errorf("OccurredAt = %s, want created_at %s", env.OccurredAt, r.createdAt)
	}
	var payload struct {
		RepairOrder string `json:"repair_order"`
		Mileage     int    `json:"mileage"`
	}
	if err := env.Decode(&payload); err != nil || payload.RepairOrder != "RO-1" || payload.Mileage != 12345 {
		t.Errorf("payload = %+v (%v), want RO-1 at 12345 km", payload, err)
	}

	st = h.fence(wf)
	if st.Received != 2 || st.Processed != 2 {
		t.Errorf("after the fence the workflow received %d signals and processed %d events, want 2 and 2", st.Received, st.Processed)
	}
}

// OccurredAt, when the caller sets it, is what the receiver sees.
func TestOccurredAtFromCaller(t *testing.T) {
	h := newHarness(t)
	wf := h.workflowID()
	e := h.event(wf, "vehicle.delivered")
	e.OccurredAt = time.Date(2025, 10, 1, 8, 30, 0, 0, time.FixedZone("CST", 8*3600))
	h.add(e)
	h.start(h.relay())
	st := h.waitProcessed(wf, 1)
	if !st.Last.OccurredAt.Equal(e.OccurredAt) || st.Last.OccurredAt.Location() != time.UTC {
		t.Errorf("OccurredAt = %s, want %s in UTC", st.Last.OccurredAt, e.OccurredAt)
	}
}

// New events wake the relay through LISTEN/NOTIFY: with polling off (an
// hour), three events added one after another are still delivered. At
// most two batches run without a notification (the first one and the one
// after LISTEN starts), and one batch cannot deliver two of these events,
// since each is added only after the previous one is marked delivered.
func TestNotificationWakesRelay(t *testing.T) {
	h := newHarness(t)
	wf := h.workflowID()
	r := h.relay()
	r.PollInterval = time.Hour
	h.start(r)
	for i := range 3 {
		start := time.Now()
		id := h.add(h.event(wf, fmt.Sprintf("e%d", i)))
		h.waitDelivered(id)
		t.Logf("event %d delivered after %s", i, time.Since(start))
	}
	if st := h.waitProcessed(wf, 3); st.Received != 3 {
		t.Errorf("workflow received %d signals, want 3", st.Received)
	}
}

// (3) A relay that dies after the hand-off but before recording it leaves
// the event pending; the next relay hands it off again and the workflow's
// Dedup drops the duplicate.
func TestCrashBetweenHandOffAndCommit(t *testing.T) {
	h := newHarness(t)
	wf := h.workflowID()
	id := h.add(h.event(wf, "complaint.resolved"))

	errCrash := errors.New("process killed")
	crashing := h.relay()
	var signalled []string
	outbox.SetAfterSignal(crashing, func(e outbox.Event) error {
		signalled = append(signalled, e.ID)
		return errCrash
	})
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := crashing.Run(ctx); !errors.Is(err, errCrash) {
		t.Fatalf("crashing relay: Run() = %v, want %v", err, errCrash)
	}
	if !slices.Equal(signalled, []string{id}) {
		t.Fatalf("crashing relay handed off %v, want [%s]", signalled, id)
	}
	if r, _ := h.row(id); r.delivered || r.attempts != 0 {
		t.Fatalf("after the crash the row is %+v, want pending and untouched", r)
	}
	if st := h.waitProcessed(wf, 1); st.Received != 1 {
		t.Fatalf("after the crash the workflow received %d signals, want 1", st.Received)
	}

	h.start(h.relay())
	h.waitDelivered(id)
	eventually(t, "the redelivery to reach the workflow", func() (bool, string) {
		st, _ := h.state(wf)
		return st.Received == 2, fmt.Sprintf("%+v", st)
	})
	st := h.fence(wf)
	if st.Received != 3 || st.Processed != 2 || st.Seen.Len() != 2 {
		t.Errorf("workflow received %d signals, processed %d events, remembers %d ids; want 3 (one redelivery), 2, 2",
			st.Received, st.Processed, st.Seen.Len())
	}
	if st.EventIDs[0] != id {
		t.Errorf("first processed event is %s, want %s", st.EventIDs[0], id)
	}
}

// (4) Two relays running together hand off each event once: every event is
// delivered and no workflow receives a duplicate.
func TestConcurrentRelaysDoNotDoubleDeliver(t *testing.T) {
	h := newHarness(t)
	const perWorkflow = 25
	wfs := []string{h.workflowID(), h.workflowID()}
	var ids []string
	for i := range perWorkflow {
		for _, wf := range wfs {
			ids = append(ids, h.add(h.event(wf, fmt.Sprintf("e%d", i))))
		}
	}
	for range 2 {
		r := h.relay()
		r.BatchSize = 5
		h.start(r)
	}
	h.waitDelivered(ids...)
	for _, wf := range wfs {
		st := h.fence(wf)
		if st.Received != perWorkflow+1 || st.Processed != perWorkflow+1 {
			t.Errorf("%s received %d signals for %d events, want %d each", wf, st.Received, st.Processed, perWorkflow+1)
		}
	}
}

// SKIP LOCKED hands concurrent claimers disjoint events.
func TestClaimSkipsLockedEvents(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	wf := h.workflowID()
	var all []string
	for i := range 10 {
		all = append(all, h.add(h.event(wf, fmt.Sprintf("e%d", i))))
	}
	first := h.relay()
	first.BatchSize = 4
	second := h.relay()
	second.BatchSize = 10
	var a, b []string
	err := postgres.InTx(ctx, h.pool, postgres.AllDealers(), func(tx1 pgx.Tx) error {
		var err error
		if a, err = outbox.Claim(ctx, tx1, first); err != nil {
			return err
		}
		return postgres.InTx(ctx, h.pool, postgres.AllDealers(), func(tx2 pgx.Tx) error {
			// Waiting for tx1's locks would hang this goroutine: fail instead.
			if _, err := tx2.Exec(ctx, "SET LOCAL lock_timeout = '5s'"); err != nil {
				return err
			}
			b, err = outbox.Claim(ctx, tx2, second)
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 4 || len(b) != 6 {
		t.Fatalf("claims got %d and %d events, want 4 and 6", len(a), len(b))
	}
	if got := slices.Concat(a, b); !slices.Equal(got, all) {
		t.Errorf("claims %v + %v, want %v in created order", a, b, all)
	}
}

// (5) While Temporal is unreachable events stay pending with last_error
// (the one tried also with attempts), not postponed; once it is
// reachable they are delivered, once.
func TestTemporalUnreachable(t *testing.T) {
	h := newHarness(t)
	wf := h.workflowID()
	first := h.add(h.event(wf, "e1"))
	second := h.add(h.event(wf, "e2"))

	dead, err := client.NewLazyClient(client.Options{HostPort: deadAddress(t), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	down := h.relay()
	down.Temporal = dead
	down.SignalTimeout = 500 * time.Millisecond
	stop := h.start(down)
	// One hand-off is tried per batch: it fails, the rest of the batch is
	// skipped (recorded as not attempted, without waiting out another
	// SignalTimeout), and the one tried is postponed briefly, so the next
	// batch tries the other.
	sawSkip := false
	eventually(t, "both events tried, and one skipped after the other failed", func() (bool, string) {
		r1, _ := h.row(first)
		r2, _ := h.row(second)
		for _, r := range []row{r1, r2} {
			if strings.Contains(r.lastError, "not attempted, Temporal unreachable") {
				sawSkip = true
			}
		}
		return sawSkip && r1.attempts >= 1 && r2.attempts >= 1, fmt.Sprintf("%+v, %+v", r1, r2)
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{first, second} {
		r, _ := h.row(id)
		if r.delivered || r.lastError == "" {
			t.Errorf("event %s while Temporal is down: %+v, want pending with last_error", id, r)
		}
	}
	if _, exists := h.state(wf); exists {
		t.Fatalf("workflow %s exists although Temporal was unreachable", wf)
	}

	h.start(h.relay())
	h.waitDelivered(first, second)
	st := h.fence(wf)
	if st.Received != 3 || st.Processed != 3 {
		t.Errorf("workflow received %d signals, processed %d events; want 3 and 3", st.Received, st.Processed)
	}
}

// deadAddress is a local address nothing listens on.
func deadAddress(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// A failing event does not hold up others: an event for a workflow type
// Temporal rejects is retried with backoff while the next one goes
// through.
func TestFailingEventDoesNotBlockOthers(t *testing.T) {
	h := newHarness(t)
	bad := h.event(h.workflowID(), "bad")
	bad.TaskQueue = strings.Repeat("q", 5000) // longer than the server accepts
	h.add(bad)
	wf := h.workflowID()
	good := h.add(h.event(wf, "good"))

	h.start(h.relay())
	h.waitDelivered(good)
	eventually(t, "the bad event to be retried", func() (bool, string) {
		r, _ := h.row(bad.ID)
		return r.attempts >= 2 && !r.delivered && r.lastError != "", fmt.Sprintf("%+v", r)
	})
	if r, _ := h.row(bad.ID); strings.Contains(r.lastError, "not attempted") {
		t.Errorf("bad event's error %q was taken for Temporal being down", r.lastError)
	}
}

// The outbox table is dealer data: a dealer's transaction cannot add an
// event for another dealer, and the schema passes the tenancy check.
func TestOutboxIsTenantScoped(t *testing.T) {
	db := pgtest.New(t, schema, migrations)
	ctx := context.Background()
	if err := postgres.VerifyTenantTables(ctx, db.Pool, schema); err != nil {
		t.Fatal(err)
	}
	pool := db.AppPool(t, postgres.Config{})
	e := outbox.Event{DealerID: "D2", Kind: "k", WorkflowID: "w", WorkflowType: "t", TaskQueue: "q", SignalName: "s"}
	err := postgres.InTx(ctx, pool, postgres.Dealers("D1"), func(tx pgx.Tx) error { return outbox.Add(ctx, tx, e) })
	if err == nil || !strings.Contains(err.Error(), "row-level security") {
		t.Errorf("D1 adding an event for D2: %v, want a row-level security violation", err)
	}
}

// Purge deletes delivered events past the retention and nothing else.
func TestPurge(t *testing.T) {
	db := pgtest.New(t, schema, migrations)
	ctx := context.Background()
	pool := db.AppPool(t, postgres.Config{})
	ev := func(kind string) outbox.Event {
		return outbox.Event{ID: outbox.NewID(), DealerID: "D1", Kind: kind, WorkflowID: "w", WorkflowType: "t", TaskQueue: "q", SignalName: "s"}
	}
	old, recent, pending := ev("old"), ev("recent"), ev("pending")
	err := postgres.InTx(ctx, pool, postgres.AllDealers(), func(tx pgx.Tx) error {
		for _, e := range []outbox.Event{old, recent, pending} {
			if err := outbox.Add(ctx, tx, e); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `UPDATE outbox_events SET delivered_at = CASE kind
			WHEN 'old' THEN now() - interval '2 hours' WHEN 'recent' THEN now() - interval '10 minutes' END
			WHERE kind IN ('old', 'recent')`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &outbox.Relay{Pool: pool, Temporal: deadClient(t), Retention: time.Hour}
	n, err := outbox.Purge(ctx, r)
	if err != nil || n != 1 {
		t.Fatalf("Purge() = %d, %v; want 1 event deleted", n, err)
	}
	var kinds []string
	err = postgres.InTx(ctx, pool, postgres.AllDealers(), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "SELECT kind FROM outbox_events ORDER BY kind")
		if err != nil {
			return err
		}
		kinds, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil || !slices.Equal(kinds, []string{"pending", "recent"}) {
		t.Errorf("after purge the outbox holds %v (%v), want [pending recent]", kinds, err)
	}
}

// deadClient is a Temporal client that is never used.
func deadClient(t *testing.T) client.Client {
	c, err := client.NewLazyClient(client.Options{HostPort: deadAddress(t), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}
