package outbox_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dealercare/dealercare/pkg/outbox"
	"github.com/dealercare/dealercare/pkg/pgtest"
	"github.com/dealercare/dealercare/pkg/temporal/temporaltest"
)

const (
	// outage is how long Temporal (or PostgreSQL) stays away in the outage
	// tests: long enough for the relay to fail many batches.
	outage = 40 * time.Second
	// recoverWithin bounds the wait, once the outage is over, for every
	// pending event to be delivered. A relay that recovers delivers them
	// within a poll interval or two; one that postponed them by a backoff
	// grown during the outage waits about as long as the outage lasted.
	recoverWithin = 25 * time.Second
	outageEvents  = 30
	// dbOutage and dbRecoverWithin are outage and recoverWithin for the
	// database: a relay that recovers retries within 10 s of the end.
	dbOutage        = 36 * time.Second
	dbRecoverWithin = 20 * time.Second
)

// productionRelay is the harness's relay with the defaults a service
// runs with (poll interval, backoffs), which the harness shortens.
func (h *harness) productionRelay() *outbox.Relay {
	return &outbox.Relay{
		Pool:     h.pool,
		Temporal: h.tc,
		Log:      slog.New(slog.NewTextHandler(h.t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		// Short enough that many hand-offs fail during the outage.
		SignalTimeout: time.Second,
	}
}

// waitDeliveredWithin is waitDelivered with its own bound.
func (h *harness) waitDeliveredWithin(d time.Duration, ids []string) {
	h.t.Helper()
	deadline := time.Now().Add(d)
	for {
		pending, detail := 0, ""
		for _, id := range ids {
			if r, _ := h.row(id); !r.delivered {
				if pending == 0 {
					detail = fmt.Sprintf("event %s: %+v", id, r)
				}
				pending++
			}
		}
		if pending == 0 {
			h.t.Logf("%d events delivered %s after the outage ended", len(ids), d-time.Until(deadline))
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%d of %d events still pending %s after the outage ended; first: %s", pending, len(ids), d, detail)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// After Temporal is killed with SIGKILL and started again on the same
// port and data, the relay delivers the events recorded meanwhile soon
// after Temporal is back, not after a backoff that grew during the outage.
func TestRelayRecoversAfterTemporalRestart(t *testing.T) {
	srv := temporaltest.StartDevServer(t)
	h := newHarnessAt(t, srv.Addr, migrations)
	h.start(h.productionRelay())
	before := h.workflowID()
	h.waitDelivered(h.add(h.event(before, "before")))

	srv.Kill()
	var ids []string
	wfs := make([]string, outageEvents)
	for i := range wfs {
		wfs[i] = h.workflowID()
		e := h.event(wfs[i], "during")
		e.DealerID = fmt.Sprintf("D%d", i%3+1)
		ids = append(ids, h.add(e))
	}
	eventually(t, "the relay to find Temporal down", func() (bool, string) {
		r, _ := h.row(ids[0])
		return r.lastError != "", fmt.Sprintf("%+v", r)
	})
	time.Sleep(outage)
	srv.Start()

	h.waitDeliveredWithin(recoverWithin, ids)
	for _, wf := range wfs {
		h.waitStarted(wf)
	}
}

// After the database refuses the relay's connections for a while (every
// backend of the database terminated, new connections refused, as during
// a restart of PostgreSQL), the relay delivers an event committed just
// after the database is back soon, not after a backoff that grew during
// the outage.
func TestRelayRecoversAfterDatabaseOutage(t *testing.T) {
	h := newHarness(t)
	h.start(h.productionRelay())
	wf := h.workflowID()
	h.waitDelivered(h.add(h.event(wf, "before")))

	admin, err := pgx.Connect(context.Background(), os.Getenv(pgtest.EnvURL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close(context.Background()) }) // after allow(true) below
	db := pgx.Identifier{h.db.Name}.Sanitize()
	allow := func(on bool) {
		t.Helper()
		if _, err := admin.Exec(context.Background(), fmt.Sprintf("ALTER DATABASE %s ALLOW_CONNECTIONS %t", db, on)); err != nil {
			t.Fatal(err)
		}
	}
	allow(false)
	t.Cleanup(func() { allow(true) })
	if _, err := admin.Exec(context.Background(),
		`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, h.db.Name); err != nil {
		t.Fatal(err)
	}
	time.Sleep(dbOutage)
	allow(true)

	id := h.add(h.event(wf, "after"))
	h.waitDeliveredWithin(dbRecoverWithin, []string{id})
	h.waitProcessed(wf, 2)
}

// waitStarted waits until Temporal has the workflow wf (started by a
// hand-off) with the event's signal. The worker may still be catching up after the restart, so
// this asks Temporal, not the workflow's query.
func (h *harness) waitStarted(wf string) {
	h.t.Helper()
	eventually(h.t, "workflow "+wf+" started", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d, err := h.tc.DescribeWorkflowExecution(ctx, wf, "")
		if err != nil {
			return false, err.Error()
		}
		info := d.GetWorkflowExecutionInfo()
		// Started and signalled: at least those two events.
		return info.GetType().GetName() == workflowType && info.GetHistoryLength() >= 2, d.String()
	})
}
