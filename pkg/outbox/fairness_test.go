package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"

	"github.com/dealercare/dealercare/pkg/outbox"
	"github.com/dealercare/dealercare/pkg/postgres"
)

// addMany commits n events of dealer in one statement, each to wf (or, if
// wf is empty, to a workflow of its own whose id is returned in order).
func (h *harness) addMany(dealer string, n int, wf string, backfill bool) {
	h.t.Helper()
	ctx := context.Background()
	err := postgres.InTx(ctx, h.pool, postgres.Dealers(dealer), func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
INSERT INTO outbox_events (dealer_id, id, kind, workflow_id, workflow_type, task_queue, signal_name,
                           payload, start_input, created_at, backfill)
SELECT $1, gen_random_uuid(), 'bulk',
       CASE WHEN $2 = '' THEN 'bench/' || $1 || '/' || g ELSE $2 END,
       $3, $4, $5, '{"kind":"bulk"}', '{"label":"bulk"}',
       now() + g * interval '1 microsecond', $6
FROM generate_series(1, $7) AS g`, dealer, wf, workflowType, h.queue, signalName, backfill, n)
		return err
	})
	if err != nil {
		h.t.Fatalf("add %d events for %s: %v", n, dealer, err)
	}
}

// handOffs records the ids of successful hand-offs in the order the relay
// saw them complete.
type handOffs struct {
	mu      sync.Mutex
	ids     []string
	dealers []string
}

func (o *handOffs) position(id string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Index(o.ids, id)
}

func (o *handOffs) len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.ids)
}

// recordingRelay is h.relay() with the production concurrency, recording
// its hand-offs.
func (h *harness) recordingRelay() (*outbox.Relay, *handOffs) {
	r := h.relay()
	o := &handOffs{}
	outbox.SetAfterSignal(r, func(e outbox.Event) error {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.ids = append(o.ids, e.ID)
		o.dealers = append(o.dealers, e.DealerID)
		return nil
	})
	return r, o
}

// A backlog at one dealer does not hold up another's events: dealer A has
// 50,000 events waiting when dealer B records one, and B's event is handed
// off within the relay's first batch, after at most one batch's worth of
// A's (FIFO would put it behind all 50,000).
func TestBacklogAtOneDealerDoesNotDelayAnother(t *testing.T) {
	h := newHarness(t)
	const backlog = 50_000
	h.addMany("A", backlog, h.workflowID(), false) // one workflow: the test stops long before its history fills
	b := h.event(h.workflowID(), "repair_order.closed")
	b.DealerID = "B"
	h.add(b)

	r, order := h.recordingRelay()
	stop := h.start(r)
	h.waitDelivered(b.ID)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	i := order.position(b.ID)
	t.Logf("B's event was the %d-th hand-off, with A's %d waiting (%d hand-offs before the relay stopped)", i+1, backlog, order.len())
	if i < 0 || i >= outbox.DefaultBatchSize {
		t.Errorf("B's event was handed off at position %d; want within the first batch (%d), not behind A's backlog", i, outbox.DefaultBatchSize)
	}
	if order.len() < 2 {
		t.Errorf("only %d hand-offs: the relay did not share the batch with A", order.len())
	}
}

// Many dealers with work take turns: with a batch of 10 and 30 dealers
// each waiting with 5 events, every dealer's first event goes before any
// dealer's second.
func TestDealersTakeTurns(t *testing.T) {
	h := newHarness(t)
	wf := h.workflowID()
	var dealers []string
	for i := range 30 {
		d := fmt.Sprintf("D%02d", i)
		dealers = append(dealers, d)
		h.addMany(d, 5, wf, false)
	}
	r, rec := h.recordingRelay()
	r.BatchSize = 10
	h.start(r)
	h.waitProcessed(wf, 150)
	rec.mu.Lock()
	order := slices.Clone(rec.dealers)
	rec.mu.Unlock()
	firstSeen := map[string]int{}
	for i, d := range order {
		if _, ok := firstSeen[d]; !ok {
			firstSeen[d] = i
		}
	}
	for _, d := range dealers {
		if firstSeen[d] >= len(dealers) {
			t.Errorf("dealer %s's first event was handed off %d-th, after another dealer's second; order %v", d, firstSeen[d], order)
		}
	}
}

// Within a dealer, live events go before backfills: a dealer loading a
// year of history still gets today's repair order's event out at once.
func TestLiveEventsBeforeBackfill(t *testing.T) {
	h := newHarness(t)
	h.addMany("D1", 2000, h.workflowID(), true)
	live := h.event(h.workflowID(), "repair_order.closed")
	h.add(live)
	backfilled := h.event(h.workflowID(), "repair_order.closed")
	backfilled.Backfill = true
	h.add(backfilled)

	r, order := h.recordingRelay()
	stop := h.start(r)
	h.waitDelivered(live.ID)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if i := order.position(live.ID); i != 0 {
		t.Errorf("the live event was handed off at position %d, after backfills; want first", i)
	}
	if r, _ := h.row(backfilled.ID); r.delivered {
		t.Errorf("the backfill event added after the live one was delivered with it; want it behind the 2,000 earlier backfills")
	}
}

// A crash between hand-offs and commit with the production concurrency:
// several hand-offs of the batch are in flight, none is recorded, and the
// next relay delivers them all again, each once in effect.
func TestCrashWithConcurrentHandOffs(t *testing.T) {
	h := newHarness(t)
	wfs := []string{h.workflowID(), h.workflowID(), h.workflowID(), h.workflowID()}
	var ids []string
	for i := range 5 {
		for _, wf := range wfs {
			ids = append(ids, h.add(h.event(wf, fmt.Sprintf("e%d", i))))
		}
	}
	errCrash := errors.New("process killed")
	crashing := h.relay()
	crashing.Concurrency = outbox.DefaultConcurrency
	signalled := 0
	outbox.SetAfterSignal(crashing, func(outbox.Event) error {
		signalled++
		if signalled == 3 { // the window has opened to 4 by now
			return errCrash
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := crashing.Run(ctx); !errors.Is(err, errCrash) {
		t.Fatalf("crashing relay: Run() = %v, want %v", err, errCrash)
	}
	for _, id := range ids {
		if r, _ := h.row(id); r.delivered || r.attempts != 0 {
			t.Fatalf("after the crash event %s is %+v, want pending and untouched", id, r)
		}
	}
	h.start(h.relay())
	h.waitDelivered(ids...)
	for _, wf := range wfs {
		st := h.fence(wf)
		if st.Processed != 6 {
			t.Errorf("%s processed %d events, want 5 and the fence", wf, st.Processed)
		}
		if st.Received < 6 {
			t.Errorf("%s received %d signals, want at least 6", wf, st.Received)
		}
	}
}

var legacyMigrations = fstest.MapFS{
	"0001_outbox.sql": {Data: []byte(outbox.LegacyTableSQL(""))},
}

// A table created before the per-dealer queue keeps working: events are
// added and delivered first come, first served; UpgradeSQL brings it to
// the per-dealer queue, after which backfills wait behind live events.
func TestLegacyTableAndUpgrade(t *testing.T) {
	h := newHarnessOn(t, legacyMigrations)
	db := h.db
	wf := h.workflowID()
	first := h.add(h.event(wf, "e1"))
	stop := h.start(h.relay())
	h.waitDelivered(first)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	bf := h.event(wf, "bf")
	bf.Backfill = true
	err := postgres.InTx(context.Background(), h.pool, postgres.Dealers("D1"), func(tx pgx.Tx) error {
		return outbox.Add(context.Background(), tx, bf)
	})
	if err == nil || !strings.Contains(err.Error(), "backfill") {
		t.Fatal("a backfill event was added to a table without the backfill column")
	}

	owner, err := pgx.Connect(context.Background(), db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(context.Background())
	if _, err := owner.Exec(context.Background(), outbox.UpgradeSQL(schema)); err != nil {
		t.Fatal(err)
	}
	h.addMany("D1", 500, wf, true)
	live := h.add(h.event(wf, "e2"))
	r, order := h.recordingRelay()
	stop = h.start(r)
	h.waitDelivered(live)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if i := order.position(live); i != 0 {
		t.Errorf("after the upgrade the live event was handed off %d-th, after backfills; want first", i)
	}
}
