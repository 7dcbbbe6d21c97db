package complaint

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	"github.com/dealercare/dealercare/pkg/calendar"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	dctemporal "github.com/dealercare/dealercare/pkg/temporal"
	"github.com/dealercare/dealercare/pkg/temporal/temporaltest"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// go test ./complaint/ -run TestEscalationOnTemporal -update, with
// DEALERCARE_TEST_TEMPORAL_ADDRESS set, records the histories anew; commit
// them. Record new ones when the workflow changes on purpose, and keep the
// old ones: they are the runs still open in production. The histories
// without a suffix are runs from before changeLocalActivities; *_local.json
// are those after it and before changeDeadlines; *_deadlines.json are
// those after changeDeadlines and before changeDeadlinesAtStop;
// *_at_stop.json are those after changeDeadlinesAtStop;
// complaint_escalation_policy_changed.json is a run that took a
// policy_changed event before changeIgnorePolicyChanged, and
// *_policy_changed_ignored.json one after it.
var update = flag.Bool("update", false, "rewrite testdata/*.json from runs on the Temporal dev server")

// TestReplayRecordedHistories replays every recorded history with the
// current code: a change that would break the runs in flight (a
// non-deterministic change) fails here.
func TestReplayRecordedHistories(t *testing.T) {
	temporaltest.ReplayTestdata(t, newReplayer())
}

func newReplayer() worker.WorkflowReplayer {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(ComplaintEscalation, workflow.RegisterOptions{Name: events.ComplaintWorkflowType})
	return r
}

// realSeconds is the policy of the runs on the real server: every severity
// 1s to respond and 2s to resolve, critical 1h and 1s.
var realSeconds = policy(time.Second, 2*time.Second, time.Hour, time.Second)

// TestEscalationOnTemporal runs the workflow on the real Temporal server,
// started the way the outbox relay starts it, checks what it records, and
// replays the histories it produced.
func TestEscalationOnTemporal(t *testing.T) {
	addr := temporaltest.Address(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := dctemporal.Dial(ctx, dctemporal.Config{Address: addr, Namespace: "default"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cals := map[string]calendar.Spec{testOrigin: alwaysOpen, "D002": calendar.AlwaysOpen(shanghai).Spec()}

	t.Run("the ladder to L4", func(t *testing.T) {
		r := newRealRun(ctx, t, c, realSeconds, cals)
		r.startWorker()
		defer r.stopWorker()
		filed := time.Now().UTC()
		r.relay(event{version: 1, change: "created", state: events.ComplaintNew, at: filed})
		r.waitForRecords(12)
		r.relay(event{version: 2, change: "resolved", state: events.ComplaintResolved})
		r.relay(event{version: 3, change: "closed", state: events.ComplaintClosed})
		r.waitForCompletion()

		want := []string{
			"response/warned L0 +800ms", "response/breached L1 +1s", "escalated/L1 L1 +1s",
			"resolution/1/warned L1 +1.6s", "resolution/1/breached L2 +2s", "escalated/L2 L2 +2s",
			"resolution/2/warned L2 +3.2s", "resolution/2/breached L3 +4s", "escalated/L3 L3 +4s",
			"resolution/3/warned L3 +4.8s", "resolution/3/breached L4 +6s", "escalated/L4 L4 +6s",
		}
		if got := r.recorded(filed); !slices.Equal(got, want) {
			t.Errorf("recorded %v, want %v", got, want)
		}
		r.replayAndSave("complaint_escalation_ladder_at_stop.json", "")
	})

	t.Run("events in a batch, out of order, redelivered, across ContinueAsNew", func(t *testing.T) {
		r := newRealRun(ctx, t, c, realSeconds, cals)
		r.maxEvents = 4
		filed := time.Now().UTC()
		// Temporal took the first events while no worker polled: the first
		// workflow task sees them together, in the wrong order.
		r.relay(event{version: 3, change: "started", state: events.ComplaintInProgress, at: filed.Add(200 * time.Millisecond)})
		r.relay(event{version: 1, change: "created", state: events.ComplaintNew, at: filed})
		r.relay(event{version: 2, change: "acknowledged", state: events.ComplaintAcknowledged, at: filed.Add(100 * time.Millisecond)})
		r.startWorker()
		defer r.stopWorker()
		paused := event{version: 4, change: "paused", state: events.ComplaintPendingCustomer, at: filed.Add(300 * time.Millisecond)}
		r.relay(paused) // the 4th signal: the run continues as new
		firstRun := r.waitForContinueAsNew()
		r.relay(paused) // a redelivery, recognised by the next run
		r.relay(event{version: 5, change: "resumed", state: events.ComplaintInProgress})
		r.relay(event{version: 6, change: "escalated", state: events.ComplaintInProgress, level: 1})
		r.relay(event{version: 7, change: "severity_changed", state: events.ComplaintInProgress, severity: "critical"})
		r.waitForRecords(9) // resolution 1s: L2, L3, L4 within 3s
		r.relay(event{version: 8, change: "transferred", state: events.ComplaintInProgress, severity: "critical", dealer: "D002"})
		r.relay(event{version: 9, change: "resolved", state: events.ComplaintResolved, severity: "critical", dealer: "D002"})
		r.relay(event{version: 10, change: "closed", state: events.ComplaintClosed, severity: "critical", dealer: "D002"})
		s := r.waitForCompletion()

		keys := r.keys()
		want := []string{
			"resolution/1/warned", "resolution/1/breached", "escalated/L2",
			"resolution/2/warned", "resolution/2/breached", "escalated/L3",
			"resolution/3/warned", "resolution/3/breached", "escalated/L4",
		}
		if !slices.Equal(keys, want) {
			t.Errorf("recorded %v, want %v", keys, want)
		}
		// Applied 10 and Ignored 0: the first three were sorted by version.
		if s.Version != 10 || s.Applied != 10 || s.Ignored != 0 || s.Level != 4 || s.Dealer != "D002" || s.Redeliveries != 1 ||
			s.Status != events.ComplaintClosed {
			t.Errorf("final state %+v", s)
		}
		r.replayAndSave("complaint_escalation_batch_continue_as_new_at_stop.json", firstRun)
		r.replayAndSave("complaint_escalation_after_continue_as_new_at_stop.json", "")
	})

	t.Run("a policy_changed event", func(t *testing.T) {
		// Nothing sends policy_changed. Runs from before
		// changeIgnorePolicyChanged reloaded the policy on one
		// (complaint_escalation_policy_changed.json, recorded then); now
		// the complaint keeps the policy it was filed under.
		p := policy(time.Hour, 2*time.Hour, time.Hour, time.Hour)
		r := newRealRun(ctx, t, c, p, cals)
		r.startWorker()
		defer r.stopWorker()
		filed := time.Now().UTC()
		r.relay(event{version: 1, change: "created", state: events.ComplaintNew, at: filed})
		temporaltest.WaitFor(r.ctx, r.t, func() bool { return r.clock.clockInputCalls() >= 1 })
		r.clock.setPolicy(policy(time.Second, 2*time.Second, time.Hour, time.Hour))
		r.relay(event{version: 2, change: "policy_changed", state: events.ComplaintNew})
		r.relay(event{version: 3, change: "acknowledged", state: events.ComplaintAcknowledged})
		r.relay(event{version: 4, change: "resolved", state: events.ComplaintResolved})
		r.relay(event{version: 5, change: "closed", state: events.ComplaintClosed})
		r.waitForCompletion()
		if n := r.clock.clockInputCalls(); n != 1 {
			t.Errorf("%d GetClockInput calls, want 1 (filed)", n)
		}
		r.replayAndSave("complaint_escalation_policy_changed_ignored.json", "")
	})

	t.Run("a worker restart neither loses nor repeats an escalation", func(t *testing.T) {
		p := policy(time.Second, 3*time.Second, time.Hour, time.Hour)
		r := newRealRun(ctx, t, c, p, cals)
		r.startWorker()
		filed := time.Now().UTC()
		r.relay(event{version: 1, change: "created", state: events.ComplaintNew, at: filed})
		r.waitForRecords(3) // L1 at 1s
		r.stopWorker()
		// Down over the resolution warning (2.4s) and breach (3s).
		time.Sleep(time.Until(filed.Add(4 * time.Second)))
		if n := len(r.keys()); n != 3 {
			t.Fatalf("%d records with the worker down", n)
		}
		r.startWorker() // a new worker: replays the history it did not see
		defer r.stopWorker()
		r.waitForRecords(6)
		r.relay(event{version: 2, change: "resolved", state: events.ComplaintResolved})
		r.relay(event{version: 3, change: "closed", state: events.ComplaintClosed})
		r.waitForCompletion()
		want := []string{
			"response/warned L0 +800ms", "response/breached L1 +1s", "escalated/L1 L1 +1s",
			"resolution/1/warned L1 +2.4s", "resolution/1/breached L2 +3s", "escalated/L2 L2 +3s",
		}
		if got := r.recorded(filed); !slices.Equal(got[:min(len(got), 6)], want) {
			t.Errorf("recorded %v, want %v first", got, want)
		}
	})
}

// realRun is one complaint's workflow on the real server, on its own task
// queue, with its own fakes.
type realRun struct {
	ctx       context.Context
	t         *testing.T
	c         client.Client
	queue     string
	complaint string
	maxEvents int
	firstRun  string // the run the first event started
	clock     *fakeClockService
	network   *fakeNetwork
	w         worker.Worker
}

func newRealRun(ctx context.Context, t *testing.T, c client.Client, p *complaintv1.SlaPolicy, cals map[string]calendar.Spec) *realRun {
	r := &realRun{
		ctx: ctx, t: t, c: c, queue: "complaint-test-" + outbox.NewID(), complaint: "C-" + outbox.NewID(),
		clock: newFakeClockService(testOrigin, p), network: newFakeNetwork(cals),
	}
	t.Cleanup(func() {
		// A failed test leaves a running workflow behind otherwise.
		_ = c.TerminateWorkflow(context.Background(), r.id(), "", "test done")
	})
	return r
}

func (r *realRun) id() string { return events.ComplaintWorkflowID(testOrigin, r.complaint) }

func (r *realRun) startWorker() {
	r.w = worker.New(r.c, r.queue, worker.Options{})
	Register(r.w, r.clock, r.network)
	if err := r.w.Start(); err != nil {
		r.t.Fatal(err)
	}
}

func (r *realRun) stopWorker() {
	if r.w != nil {
		r.w.Stop()
		r.w = nil
	}
}

// relay hands e to the workflow as outbox.Relay does, with SignalWithStart;
// the start input also shortens the grace period to a second.
func (r *realRun) relay(e event) {
	r.t.Helper()
	e.complaint = r.complaint
	if e.at.IsZero() {
		e.at = time.Now().UTC()
	}
	if e.created.IsZero() {
		e.created = e.at
	}
	e.id = fmt.Sprintf("%s-v%d", r.complaint, e.version)
	start := Input{ComplaintStart: events.ComplaintStart{ComplaintID: r.complaint, OriginDealer: testOrigin}, Grace: time.Second, MaxEvents: r.maxEvents}
	opts := client.StartWorkflowOptions{ID: r.id(), TaskQueue: r.queue}
	run, err := r.c.SignalWithStartWorkflow(r.ctx, opts.ID, events.ComplaintSignal, e.envelope(), opts, events.ComplaintWorkflowType, start)
	if err != nil {
		r.t.Fatal(err)
	}
	if r.firstRun == "" {
		r.firstRun = run.GetRunID()
	}
}

func (r *realRun) keys() []string {
	var out []string
	for _, rec := range r.clock.recorded() {
		out = append(out, rec.GetKey())
	}
	return out
}

// recorded lists the records as "key L<level> +<offset from filed>".
func (r *realRun) recorded(filed time.Time) []string {
	var out []string
	for _, rec := range r.clock.recorded() {
		out = append(out, fmt.Sprintf("%s L%d +%s", rec.GetKey(), rec.GetLevel(), rec.GetTime().AsTime().Sub(filed)))
	}
	return out
}

func (r *realRun) waitForRecords(n int) {
	r.t.Helper()
	temporaltest.WaitFor(r.ctx, r.t, func() bool { return len(r.clock.recorded()) >= n })
}

// waitForContinueAsNew waits until the run that took the first event
// continues as new and returns its run id.
func (r *realRun) waitForContinueAsNew() string {
	r.t.Helper()
	temporaltest.WaitFor(r.ctx, r.t, func() bool {
		d, err := r.c.DescribeWorkflowExecution(r.ctx, r.id(), r.firstRun)
		return err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW
	})
	return r.firstRun
}

// waitForCompletion waits until the latest run completes and returns its
// final state (queries work on a closed workflow).
func (r *realRun) waitForCompletion() State {
	r.t.Helper()
	temporaltest.WaitFor(r.ctx, r.t, func() bool {
		d, err := r.c.DescribeWorkflowExecution(r.ctx, r.id(), "")
		return err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	})
	v, err := r.c.QueryWorkflow(r.ctx, r.id(), "", QueryState)
	if err != nil {
		r.t.Fatal(err)
	}
	var s State
	if err := v.Get(&s); err != nil {
		r.t.Fatal(err)
	}
	return s
}

// replayAndSave replays the run's history (the latest run when runID is
// empty) and saves it with -update.
func (r *realRun) replayAndSave(name, runID string) {
	r.t.Helper()
	h := temporaltest.History(r.ctx, r.t, r.c, r.id(), runID)
	if err := newReplayer().ReplayWorkflowHistory(nil, h); err != nil {
		r.t.Fatalf("replay %s: %v", name, err)
	}
	if *update {
		temporaltest.SaveHistory(r.t, name, h)
	}
}
