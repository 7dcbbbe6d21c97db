package outbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/dealercare/dealercare/pkg/outbox"
	"github.com/dealercare/dealercare/pkg/postgres"
)

// TestRelayRate is `make bench-relay`: the relay's delivery rate next to
// bare SignalWithStart calls from as many goroutines on the same client
// (one connection) to the same Temporal server, in the same run, each
// starting a new workflow as most events do. DEALERCARE_RELAY_BENCH is the
// number of events per round (unset: skipped), DEALERCARE_RELAY_BENCH_CONCURRENCY
// the relay's Concurrency (default outbox.DefaultConcurrency). No worker
// polls the queue: the figure is the hand-off, not the workflows' work.
func TestRelayRate(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("DEALERCARE_RELAY_BENCH"))
	if n <= 0 {
		t.Skip("set DEALERCARE_RELAY_BENCH to the number of events per round (make bench-relay)")
	}
	conc := outbox.DefaultConcurrency
	if c, err := strconv.Atoi(os.Getenv("DEALERCARE_RELAY_BENCH_CONCURRENCY")); err == nil && c > 0 {
		conc = c
	}
	const dealers = 19 // as many as make run's demo network
	h := newHarness(t)
	h.queue = "outbox-bench-" + outbox.NewID() // no worker
	bare := func(round int) float64 {
		var next atomic.Int64
		var wg sync.WaitGroup
		var failed atomic.Int64
		payload := json.RawMessage(`{"kind":"bulk"}`)
		start := time.Now()
		for range conc {
			wg.Go(func() {
				for {
					i := next.Add(1)
					if i > int64(n) {
						return
					}
					id := fmt.Sprintf("bench/bare/%d/%d", round, i)
					env := outbox.Envelope{EventID: outbox.NewID(), Kind: "bulk", DealerID: "D1", OccurredAt: time.Now().UTC(), Payload: payload}
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					_, err := h.tc.SignalWithStartWorkflow(ctx, id, signalName, env, client.StartWorkflowOptions{
						ID: id, TaskQueue: h.queue,
						WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
						WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
					}, workflowType, json.RawMessage(`{"label":"bulk"}`))
					cancel()
					if err != nil {
						failed.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if f := failed.Load(); f > 0 {
			t.Fatalf("bare round %d: %d of %d SignalWithStart calls failed", round, f, n)
		}
		return float64(n) / time.Since(start).Seconds()
	}
	relay := func(round int) float64 {
		for d := range dealers {
			share := n / dealers
			if d < n%dealers {
				share++
			}
			h.addMany(fmt.Sprintf("R%d-D%02d", round, d), share, "", false)
		}
		r := h.relay()
		r.Concurrency = conc
		r.PollInterval = time.Second
		start := time.Now()
		stop := h.start(r)
		for h.pending() > 0 {
			time.Sleep(20 * time.Millisecond)
		}
		elapsed := time.Since(start)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		return float64(n) / elapsed.Seconds()
	}
	bare(0) // warm up the server and the connection
	var bareSum, relaySum float64
	const rounds = 2
	for round := 1; round <= rounds; round++ {
		var b, r float64
		if round%2 == 1 { // alternate, so a server that slows as it fills favours neither
			b, r = bare(round), relay(round)
		} else {
			r, b = relay(round), bare(round)
		}
		bareSum += b
		relaySum += r
		t.Logf("round %d: %d events, concurrency %d: bare SignalWithStart %.0f/s, relay %.0f/s (%.2f)", round, n, conc, b, r, r/b)
	}
	t.Logf("relay_bench: relay %.0f events/s, bare SignalWithStart %.0f/s, ratio %.2f (%d rounds of %d events, %d at once, %d dealers)",
		relaySum/rounds, bareSum/rounds, relaySum/bareSum, rounds, n, conc, dealers)
}

// pending is the number of undelivered events.
func (h *harness) pending() int {
	h.t.Helper()
	ctx := context.Background()
	var n int
	err := postgres.InTx(ctx, h.pool, postgres.AllDealers(), func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM outbox_events WHERE delivered_at IS NULL`).Scan(&n)
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}
