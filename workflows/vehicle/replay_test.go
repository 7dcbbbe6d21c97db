package vehicle

import (
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	dctemporal "github.com/dealercare/dealercare/pkg/temporal"
	"github.com/dealercare/dealercare/pkg/temporal/temporaltest"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// go test ./vehicle/ -run TestLifecycleOnTemporal -update, with
// DEALERCARE_TEST_TEMPORAL_ADDRESS set, records the histories anew; commit
// them. Record new ones when the workflow changes on purpose, and keep the
// old ones: they are the runs still open in production.
var update = flag.Bool("update", false, "rewrite testdata/*.json from runs on the Temporal dev server")

// TestReplayRecordedHistories replays every recorded history with the
// current code: a change that would break the runs in flight (a
// non-deterministic change) fails here.
func TestReplayRecordedHistories(t *testing.T) {
	temporaltest.ReplayTestdata(t, newReplayer())
}

func newReplayer() worker.WorkflowReplayer {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(VehicleLifecycle, workflow.RegisterOptions{Name: events.VehicleWorkflowType})
	return r
}

// TestLifecycleOnTemporal runs the workflow on the real Temporal server,
// started the way the outbox relay starts it, checks what it records, and
// replays the history it produced.
func TestLifecycleOnTemporal(t *testing.T) {
	addr := temporaltest.Address(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := dctemporal.Dial(ctx, dctemporal.Config{Address: addr, Namespace: "default"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	queue := "vehicle-test-" + outbox.NewID()
	fake := &fakeVehicleState{}
	w := worker.New(c, queue, worker.Options{})
	Register(w, fake)
	plans := &services{plan: &campaignv1.MaintenancePlan{Model: "帕萨特", Months: 3, IntervalKm: 10000, DefaultKmPerDay: 100}, planVIN: "(the plans subtest's)"}
	RegisterReminders(w, &ReminderActivities{Campaigns: plans})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	t.Run("started by the relay", func(t *testing.T) {
		vin := randomVIN()
		id := events.VehicleWorkflowID(vin)
		defer terminate(t, c, id)
		for _, e := range []outbox.Envelope{
			deliveredEvent(outbox.NewID(), "D001", "S1", jan10, 0),
			roClosedEvent(outbox.NewID(), "D001", "R1", apr01, 4000),
			roClosedEvent(outbox.NewID(), "D001", "R0", mar01, 2000), // late: kept in the history (VersionKeepOlderVisits)
		} {
			relay(ctx, t, c, queue, vin, forVIN(vin, e))
		}
		second := forVIN(vin, roClosedEvent(outbox.NewID(), "D002", "R2", day("2026-05-01"), 5200))
		relay(ctx, t, c, queue, vin, second)
		relay(ctx, t, c, queue, vin, second) // redelivered

		s := waitForState(ctx, t, c, id, func(s State) bool { return s.Applied+s.Ignored+s.Redeliveries == 5 })
		if s.Applied != 4 || s.Ignored != 0 || s.Redeliveries != 1 || s.LastVisitDealer != "D002" || len(s.Visits) != 4 || s.RecordError != "" {
			t.Errorf("state = %+v", s)
		}
		temporaltest.WaitFor(ctx, t, func() bool { return fake.lastRecordedFor(vin).GetLastVisitDealer() == "D002" })
		if r := fake.lastRecordedFor(vin); r.GetNextServiceDueDate() != "2026-08-15" ||
			r.GetNextServiceDueMileageKm() != 10200 {
			t.Errorf("last recorded = %v", r)
		}
		if n := fake.attemptsFor(vin); n > 3 {
			t.Errorf("%d RecordServiceState calls for 3 applied events", n)
		}
		h := temporaltest.History(ctx, t, c, id, "")
		if err := newReplayer().ReplayWorkflowHistory(nil, h); err != nil {
			t.Fatalf("replay: %v", err)
		}
		if *update {
			// vehicle_lifecycle_relay.json is the run before
			// VersionKeepOlderVisits (the late visit dropped); it stays.
			temporaltest.SaveHistory(t, "vehicle_lifecycle_relay_keep_older.json", h)
		}
	})

	t.Run("plans and recalls", func(t *testing.T) {
		vin := randomVIN()
		plans.mu.Lock()
		plans.planVIN = vin
		plans.mu.Unlock()
		id := events.VehicleWorkflowID(vin)
		defer terminate(t, c, id)
		relay(ctx, t, c, queue, vin, forVIN(vin, deliveredEvent(outbox.NewID(), "D001", "S1", jan10, 0)))
		recall := envelope(outbox.NewID(), events.KindRepairOrderClosed, "D002", mar01, events.RepairOrderClosed{
			Dealer: "D002", RepairOrderID: "R1", Number: "RO-R1", VIN: vin, Type: recallType, CampaignCode: "RC2026-01",
			OpenTime: mar01.Add(-time.Hour), CloseTime: mar01, MileageKM: 2000,
		})
		relay(ctx, t, c, queue, vin, recall)
		s := waitForState(ctx, t, c, id, func(s State) bool { return s.Applied == 2 })
		// HQ's plan for the model: 3 months after the recall visit.
		if s.Plan == nil || s.Plan.Months != 3 || s.NextDue == nil || s.NextDue.Date.String() != "2026-06-01" {
			t.Errorf("state = %+v", s)
		}
		temporaltest.WaitFor(ctx, t, func() bool {
			for _, c := range plans.calls() {
				if c.what == "recall" && c.dealer == "D002" && c.due == "RC2026-01" {
					return true
				}
			}
			return false
		})
		h := temporaltest.History(ctx, t, c, id, "")
		if err := newReplayer().ReplayWorkflowHistory(nil, h); err != nil {
			t.Fatalf("replay: %v", err)
		}
		if *update {
			temporaltest.SaveHistory(t, "vehicle_lifecycle_plans_recalls.json", h)
		}
	})

	t.Run("continues as new", func(t *testing.T) {
		vin := randomVIN()
		id := events.VehicleWorkflowID(vin)
		defer terminate(t, c, id)
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, events.VehicleWorkflowType,
			Input{VehicleStart: events.VehicleStart{VIN: vin}, MaxEvents: 2})
		if err != nil {
			t.Fatal(err)
		}
		visit := forVIN(vin, roClosedEvent(outbox.NewID(), "D001", "R1", mar01, 2000))
		relay(ctx, t, c, queue, vin, forVIN(vin, deliveredEvent(outbox.NewID(), "D001", "S1", jan10, 0)))
		relay(ctx, t, c, queue, vin, visit)
		temporaltest.WaitFor(ctx, t, func() bool {
			d, err := c.DescribeWorkflowExecution(ctx, id, run.GetRunID())
			return err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW
		})

		if r := fake.lastRecordedFor(vin); !r.GetLastVisitTime().AsTime().Equal(mar01) {
			t.Errorf("last recorded = %v", r)
		}
		calls := fake.attemptsFor(vin) // 1 or 2: the two events may come in one workflow task

		// The next run knows the visit from the Dedup it was handed.
		relay(ctx, t, c, queue, vin, visit)
		s := waitForState(ctx, t, c, id, func(s State) bool { return s.Redeliveries == 1 })
		if s.Applied != 2 || s.LastVisitDealer != "D001" || len(s.Deliveries) != 1 || len(s.Visits) != 2 {
			t.Errorf("state = %+v", s)
		}
		if n := fake.attemptsFor(vin); n != calls {
			t.Errorf("%d RecordServiceState calls after the redelivery, want %d", n, calls)
		}

		h := temporaltest.History(ctx, t, c, id, run.GetRunID())
		if last := h.Events[len(h.Events)-1]; last.GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW {
			t.Fatalf("first run ended with %v", last.GetEventType())
		}
		if err := newReplayer().ReplayWorkflowHistory(nil, h); err != nil {
			t.Fatalf("replay: %v", err)
		}
		if *update {
			temporaltest.SaveHistory(t, "vehicle_lifecycle_continue_as_new.json", h)
		}
	})
}

// relay hands e to the workflow as outbox.Relay does.
func relay(ctx context.Context, t *testing.T, c client.Client, queue, vin string, e outbox.Envelope) {
	t.Helper()
	start := json.RawMessage(`{"vin":"` + vin + `"}`)
	opts := client.StartWorkflowOptions{ID: events.VehicleWorkflowID(vin), TaskQueue: queue}
	if _, err := c.SignalWithStartWorkflow(ctx, opts.ID, events.VehicleSignal, e, opts, events.VehicleWorkflowType, start); err != nil {
		t.Fatal(err)
	}
}

func waitForState(ctx context.Context, t *testing.T, c client.Client, id string, done func(State) bool) State {
	t.Helper()
	var s State
	temporaltest.WaitFor(ctx, t, func() bool {
		v, err := c.QueryWorkflow(ctx, id, "", QueryState)
		if err != nil {
			return false // a run continuing as new, say
		}
		s = State{}
		return v.Get(&s) == nil && done(s)
	})
	return s
}

// terminate ends the test's workflow, which would otherwise wait for
// events forever.
func terminate(t *testing.T, c client.Client, id string) {
	if err := c.TerminateWorkflow(context.Background(), id, "", "test done"); err != nil {
		t.Errorf("terminate %s: %v", id, err)
	}
}

// randomVIN is a well-formed VIN no other run uses.
func randomVIN() string {
	const chars = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ" // no I, O, Q
	b := []byte("LTEST")
	for len(b) < 17 {
		b = append(b, chars[rand.IntN(len(chars))])
	}
	return string(b)
}

// forVIN rewrites the VIN in e's payload.
func forVIN(vin string, e outbox.Envelope) outbox.Envelope {
	var p map[string]any
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		panic(err)
	}
	p["vin"] = vin
	b, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	e.Payload = b
	return e
}
