package greeting

import (
	"context"
	"flag"
	"log/slog"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/outbox"
	dctemporal "github.com/dealercare/dealercare/pkg/temporal"
	"github.com/dealercare/dealercare/pkg/temporal/temporaltest"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// go test ./greeting/ -run TestGreetingsOnTemporal -update, with
// DEALERCARE_TEST_TEMPORAL_ADDRESS set, records the histories anew; commit
// them, and keep the old ones: they are the runs still open in production.
var update = flag.Bool("update", false, "rewrite testdata/*.json from runs on the Temporal dev server")

// TestReplayRecordedHistories replays every recorded history with the
// current code: a non-deterministic change fails here.
func TestReplayRecordedHistories(t *testing.T) {
	temporaltest.ReplayTestdata(t, newReplayer())
}

func newReplayer() worker.WorkflowReplayer {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(HolidayGreetings, workflow.RegisterOptions{Name: WorkflowType})
	r.RegisterWorkflowWithOptions(BirthdayGreetings, workflow.RegisterOptions{Name: BirthdayWorkflowType})
	return r
}

// firstRun waits until the run's history holds a timer or its continuation
// (whichever the date of the run brings first) and returns it.
func firstRun(ctx context.Context, t *testing.T, c client.Client, id, runID string) *historypb.History {
	t.Helper()
	var h *historypb.History
	temporaltest.WaitFor(ctx, t, func() bool {
		h = temporaltest.History(ctx, t, c, id, runID)
		for _, e := range h.GetEvents() {
			switch e.GetEventType() {
			case enumspb.EVENT_TYPE_TIMER_STARTED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
				return true
			}
		}
		return false
	})
	return h
}

// TestGreetingsOnTemporal runs the greeting workflows on the real Temporal
// server and replays the histories they produced.
func TestGreetingsOnTemporal(t *testing.T) {
	addr := temporaltest.Address(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := dctemporal.Dial(ctx, dctemporal.Config{Address: addr, Namespace: "default"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close) // after the runs' termination (cleanups run last first)
	queue := "greeting-test-" + outbox.NewID()
	fake := &campaigns{}
	w := worker.New(c, queue, worker.Options{})
	register(w, &Activities{Campaigns: fake})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	recordRun(ctx, t, c, queue, "greetings/holidays-test-"+outbox.NewID(), WorkflowType, Input{}, "holidays_v1.json")

	// The birthday workflow: today's campaign is made at once (its hour has
	// come at UTC+14 or comes within the lead), then the run continues as new.
	bfake := &birthdayCampaigns{lead: 14 * 24 * time.Hour, hour: 10}
	bw := worker.New(c, queue+"-b", worker.Options{})
	register(bw, &Activities{Campaigns: bfake})
	if err := bw.Start(); err != nil {
		t.Fatal(err)
	}
	defer bw.Stop()
	bid := "greetings/birthdays-test-" + outbox.NewID()
	recordRun(ctx, t, c, queue+"-b", bid, BirthdayWorkflowType, BirthdayInput{}, "birthdays_v0.json")
	// A day ahead of the lead: the run waits on its timer.
	recordRun(ctx, t, c, queue+"-b", bid+"-timer", BirthdayWorkflowType,
		BirthdayInput{Date: time.Now().AddDate(0, 0, 20).Format(time.DateOnly)}, "birthdays_timer_v0.json")
}

// recordRun starts workflow id of workflowType with in on queue (it is
// terminated when the test ends), waits for its first timer or
// continuation, replays that history with the current code and, with
// -update, records it as testdata/file.
func recordRun(ctx context.Context, t *testing.T, c client.Client, queue, id, workflowType string, in any, file string) {
	t.Helper()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, workflowType, in)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.TerminateWorkflow(context.Background(), id, "", "test over") })
	h := firstRun(ctx, t, c, id, run.GetRunID())
	if err := newReplayer().ReplayWorkflowHistory(nil, h); err != nil {
		t.Fatalf("replay %s: %v", file, err)
	}
	if *update {
		temporaltest.SaveHistory(t, file, h)
	}
}
