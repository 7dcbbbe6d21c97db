package campaign

import (
	"context"
	"flag"
	"log/slog"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	dctemporal "github.com/dealercare/dealercare/pkg/temporal"
	"github.com/dealercare/dealercare/pkg/temporal/temporaltest"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// go test ./campaign/ -run TestCampaignOnTemporal -update, with
// DEALERCARE_TEST_TEMPORAL_ADDRESS set, records the history anew; keep the
// old files: they are the runs still open in production.
var update = flag.Bool("update", false, "rewrite testdata/*.json from runs on the Temporal dev server")

// TestReplayRecordedHistories replays every recorded history with the
// current code: a non-deterministic change fails here.
// cancel_in_returns_v0.json was recorded before a cancellation in the
// returns phase ended the recall's chase tasks (the run went on waiting).
func TestReplayRecordedHistories(t *testing.T) {
	temporaltest.ReplayTestdata(t, newReplayer())
}

func newReplayer() worker.WorkflowReplayer {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(CampaignSend, workflow.RegisterOptions{Name: events.CampaignWorkflowType})
	return r
}

// TestCampaignOnTemporal runs a campaign on the real Temporal server: it is
// sent, chased and reconciled, waits on its reconciliation timer, and is
// cancelled then. The history up to the cancellation's effect (a second
// timer before the change, the end after it) replays with the current code.
func TestCampaignOnTemporal(t *testing.T) {
	addr := temporaltest.Address(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := dctemporal.Dial(ctx, dctemporal.Config{Address: addr, Namespace: "default"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	queue := "campaign-test-" + outbox.NewID()
	fake := &service{windowEnd: time.Now().Add(30 * 24 * time.Hour)}
	w := worker.New(c, queue, worker.Options{})
	register(w, &Activities{Campaigns: fake})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ref := Ref{Owner: "HQ", Campaign: "c-" + outbox.NewID()}
	id := "campaign/HQ/" + ref.Campaign
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, events.CampaignWorkflowType,
		Input{CampaignStart: events.CampaignStart{Owner: ref.Owner, Campaign: ref.Campaign}, StartTime: time.Now().Add(-time.Minute),
			ReconcileInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.TerminateWorkflow(context.Background(), id, "", "test over") })
	count := func(h *historypb.History, ty enumspb.EventType) int {
		n := 0
		for _, e := range h.GetEvents() {
			if e.GetEventType() == ty {
				n++
			}
		}
		return n
	}
	temporaltest.WaitFor(ctx, t, func() bool {
		return count(temporaltest.History(ctx, t, c, id, run.GetRunID()), enumspb.EVENT_TYPE_TIMER_STARTED) == 1
	})
	if err := c.SignalWorkflow(ctx, id, run.GetRunID(), events.CampaignSignal, cancelled(ref)); err != nil {
		t.Fatal(err)
	}
	// Since cancel-ends-chase the cancel ends the run (after the chase
	// pass); before it, the run slept on (a second timer), as
	// cancel_in_returns_v0.json recorded, which stays as it is.
	var h *historypb.History
	temporaltest.WaitFor(ctx, t, func() bool {
		h = temporaltest.History(ctx, t, c, id, run.GetRunID())
		return count(h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED) == 1
	})
	if err := newReplayer().ReplayWorkflowHistory(nil, h); err != nil {
		t.Fatalf("replay: %v", err)
	}
	if *update {
		temporaltest.SaveHistory(t, "cancel_in_returns_v1.json", h)
	}
}
