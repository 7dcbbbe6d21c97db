package vehicle

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// lifecycleTest runs one workflow run in the test environment.
type lifecycleTest struct {
	t    *testing.T
	env  *testsuite.TestWorkflowEnvironment
	fake *fakeVehicleState
}

func newLifecycleTest(t *testing.T) *lifecycleTest {
	var s testsuite.WorkflowTestSuite
	lt := &lifecycleTest{t: t, env: s.NewTestWorkflowEnvironment(), fake: &fakeVehicleState{}}
	register(lt.env, lt.fake)
	lt.env.RegisterActivity(&ReminderActivities{Campaigns: &services{}})
	return lt
}

// run starts the workflow with in and sends each batch of signals at once,
// a minute apart; in.MaxEvents should end the run after the last one. It
// returns the input the run continued as new with.
func (lt *lifecycleTest) run(in Input, batches ...[]outbox.Envelope) Input {
	t := lt.t
	t.Helper()
	for i, batch := range batches {
		lt.env.RegisterDelayedCallback(func() {
			for _, e := range batch {
				lt.env.SignalWorkflow(events.VehicleSignal, e)
			}
		}, time.Duration(i+1)*time.Minute)
	}
	lt.env.ExecuteWorkflow(events.VehicleWorkflowType, in)
	if !lt.env.IsWorkflowCompleted() {
		t.Fatal("workflow did not continue as new")
	}
	var can *workflow.ContinueAsNewError
	if err := lt.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow error = %v, want ContinueAsNew", err)
	}
	if can.WorkflowType.Name != events.VehicleWorkflowType {
		t.Errorf("continued as %q", can.WorkflowType.Name)
	}
	var next Input
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.State == nil {
		t.Fatal("no state carried")
	}
	return next
}

func one(e outbox.Envelope) []outbox.Envelope { return []outbox.Envelope{e} }

var (
	jan10 = day("2026-01-10")
	mar01 = day("2026-03-01")
	apr01 = day("2026-04-01")
)

func TestDeliveryThenVisit(t *testing.T) {
	lt := newLifecycleTest(t)
	next := lt.run(Input{VehicleStart: events.VehicleStart{VIN: testVIN}, MaxEvents: 2},
		one(deliveredEvent("e1", "D001", "S1", jan10, 0)),
		one(roClosedEvent("e2", "D001", "R1", mar01, 2000)), // 50 days: 40 km/day
	)

	reqs := lt.fake.recorded()
	if len(reqs) != 2 {
		t.Fatalf("%d RecordServiceState calls, want 2", len(reqs))
	}
	for i, want := range []struct {
		at      time.Time
		due     string
		dueKM   int32
		dealers string
	}{
		{jan10, "2026-05-15", 5000, "D001"}, // first maintenance from the delivery
		{mar01, "2026-07-04", 7000, "D001"},
	} {
		r := reqs[i]
		if r.GetVin() != testVIN || !r.GetLastVisitTime().AsTime().Equal(want.at) || r.GetLastVisitDealer() != want.dealers ||
			r.GetNextServiceDueDate() != want.due || r.GetNextServiceDueMileageKm() != want.dueKM {
			t.Errorf("call %d = %v, want %s at %s due %s / %d km", i, r, want.at, want.dealers, want.due, want.dueKM)
		}
	}
	s := next.State
	if s.VIN != testVIN || len(s.Deliveries) != 1 || len(s.Visits) != 2 || s.Applied != 2 ||
		s.NextDue == nil || !s.NextDue.RateEstimated || s.NextDue.KMPerDay != 40 {
		t.Errorf("state = %+v", s)
	}
}

func TestDuplicateEventProcessedOnce(t *testing.T) {
	lt := newLifecycleTest(t)
	e := roClosedEvent("e1", "D001", "R1", mar01, 2000)
	next := lt.run(Input{VehicleStart: events.VehicleStart{VIN: testVIN}, MaxEvents: 3}, one(e), one(e), one(e))
	if n := lt.fake.attempts(); n != 1 {
		t.Errorf("%d RecordServiceState calls, want 1", n)
	}
	if next.State.Applied != 1 || next.State.Redeliveries != 2 || next.State.Ignored != 0 || len(next.State.Visits) != 1 {
		t.Errorf("state = %+v", next.State)
	}
}

// TestOlderVisitKeptInHistory: a visit saved while Temporal was down and
// delivered after a newer one at another dealer enters the history (its
// reading reaches the archives, the rate uses it) without moving the cycle
// back. Before VersionKeepOlderVisits it was dropped.
func TestOlderVisitKeptInHistory(t *testing.T) {
	lt := newLifecycleTest(t)
	next := lt.run(Input{VehicleStart: events.VehicleStart{VIN: testVIN}, MaxEvents: 2},
		one(roClosedEvent("e2", "D002", "R2", apr01, 4000)),
		one(roClosedEvent("e1", "D001", "R1", mar01, 2000)), // delivered late
	)
	reqs := lt.fake.recorded()
	if len(reqs) != 2 || reqs[1].GetLastVisitDealer() != "D002" || reqs[1].GetNextServiceDueDate() == reqs[0].GetNextServiceDueDate() {
		t.Fatalf("calls = %v, want a second one for D002 whose due date the older reading moved", reqs)
	}
	s := next.State
	if !s.LastVisitTime.Equal(apr01) || s.LastVisitDealer != "D002" || s.Ignored != 0 || s.Applied != 2 ||
		len(s.Visits) != 2 || !s.Visits[0].Time.Equal(mar01) || !s.Visits[1].Time.Equal(apr01) {
		t.Errorf("state = %+v", s)
	}
	if !s.NextDue.RateEstimated || s.NextDue.MileageKM != 9000 {
		t.Errorf("next due = %+v, want a rate estimated from both readings and due at 9000 km", s.NextDue)
	}
}

func TestVisitsAtTwoDealers(t *testing.T) {
	lt := newLifecycleTest(t)
	next := lt.run(Input{VehicleStart: events.VehicleStart{VIN: testVIN}, MaxEvents: 2},
		one(roClosedEvent("e1", "D001", "R1", mar01, 2000)),
		one(roClosedEvent("e2", "D002", "R7", apr01, 3550)), // 31 days later: 50 km/day
	)
	reqs := lt.fake.recorded()
	if len(reqs) != 2 {
		t.Fatalf("%d calls, want 2", len(reqs))
	}
	if r := reqs[1]; r.GetLastVisitDealer() != "D002" || r.GetNextServiceDueDate() != "2026-07-10" || r.GetNextServiceDueMileageKm() != 8550 {
		t.Errorf("second call = %v", r)
	}
	if s := next.State; s.LastVisitDealer != "D002" || !s.LastVisitTime.Equal(apr01) || len(s.Visits) != 2 {
		t.Errorf("state = %+v", s)
	}
}

// TestReadingsGoWithTheState: every kept visit with a reading and an id
// travels with the state, so each archive of the VIN can fill in its
// mileage history; a repair order without a reading, or an event whose id
// the archive could not key on, is left out instead of failing the call.
func TestReadingsGoWithTheState(t *testing.T) {
	const (
		sale = "0195a3c2-0000-7000-8000-000000000001"
		ro   = "0195a3c2-0000-7000-8000-000000000002"
		bare = "0195a3c2-0000-7000-8000-000000000003"
	)
	lt := newLifecycleTest(t)
	lt.run(Input{VehicleStart: events.VehicleStart{VIN: testVIN}, MaxEvents: 4},
		one(deliveredEvent("e1", "D001", sale, jan10, 0)),
		one(roClosedEvent("e2", "D002", ro, mar01, 2000)),
		one(roClosedEvent("e3", "D002", bare, day("2026-03-15"), 0)),
		one(roClosedEvent("e4", "D001", "R9", apr01, 3550)),
	)
	reqs := lt.fake.recorded()
	if len(reqs) != 4 {
		t.Fatalf("%d calls, want 4", len(reqs))
	}
	var got []string
	for _, r := range reqs[3].GetReadings() {
		got = append(got, fmt.Sprintf("%s %s %s %d %s", r.GetReadTime().AsTime().Format("2006-01-02"), r.GetDealer(), r.GetRef(), r.GetMileageKm(), r.GetSource()))
	}
	want := []string{
		"2026-01-10 D001 " + sale + " 0 MILEAGE_SOURCE_DELIVERY",
		"2026-03-01 D002 " + ro + " 2000 MILEAGE_SOURCE_REPAIR_ORDER",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("readings sent:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestBurstRecordedTogether(t *testing.T) {
	lt := newLifecycleTest(t)
	// The first event wakes the workflow; the other two arrive while it
	// loads the vehicle's plan for the first (VersionPlans) and are taken
	// with it: the burst is recorded once, at the newest visit.
	next := lt.run(Input{VehicleStart: events.VehicleStart{VIN: testVIN}, MaxEvents: 3}, []outbox.Envelope{
		deliveredEvent("e1", "D001", "S1", jan10, 0),
		roClosedEvent("e2", "D002", "R1", mar01, 2000),
		roClosedEvent("e3", "D003", "R2", apr01, 3000),
	})
	reqs := lt.fake.recorded()
	if len(reqs) != 1 || reqs[0].GetLastVisitDealer() != "D003" {
		t.Fatalf("calls = %v, want one, at D003", reqs)
	}
	if next.State.Applied != 3 {
		t.Errorf("state = %+v", next.State)
	}
}

func TestRecordRetriesTransientErrors(t *testing.T) {
	lt := newLifecycleTest(t)
	lt.fake.errs = []error{
		status.Error(codes.Unavailable, "customer service restarting"),
		status.Error(codes.Unauthenticated, "token being rotated"),
		status.Error(codes.DeadlineExceeded, "slow"),
	}
	next := lt.run(Input{VehicleStart: events.VehicleStart{VIN: testVIN}, MaxEvents: 1},
		one(roClosedEvent("e1", "D001", "R1", mar01, 2000)))
	if n, reqs := lt.fake.attempts(), lt.fake.recorded(); n != 4 || len(reqs) != 1 {
		t.Errorf("%d attempts, %d recorded; want 4 and 1", n, len(reqs))
	}
	if next.State.RecordError != "" {
		t.Errorf("RecordError = %q", next.State.RecordError)
	}
}

func TestRecordDoesNotRetryRejections(t *testing.T) {
	for _, tt := range []struct {
		code codes.Code
		want string
	}{
		{codes.PermissionDenied, "permission denied"},
		{codes.InvalidArgument, "rejected: vin: must be 17 characters"},
	} {
		t.Run(tt.code.String(), func(t *testing.T) {
			lt := newLifecycleTest(t)
			lt.fake.errs = []error{status.Error(tt.code, "vin: must be 17 characters")}
			var afterFirst State
			lt.env.RegisterDelayedCallback(func() {
				v, err := lt.env.QueryWorkflow(QueryState)
				if err != nil {
					t.Error(err)
					return
				}
				if err := v.Get(&afterFirst); err != nil {
					t.Error(err)
				}
			}, 90*time.Second)
			next := lt.run(Input{VehicleStart: events.VehicleStart{VIN: testVIN}, MaxEvents: 2},
				one(roClosedEvent("e1", "D001", "R1", mar01, 2000)),
				one(roClosedEvent("e2", "D001", "R2", apr01, 3000)),
			)
			if !strings.Contains(afterFirst.RecordError, tt.want) {
				t.Errorf("RecordError after the rejection = %q, want %q", afterFirst.RecordError, tt.want)
			}
			// Not retried; the next event records again and clears the error.
			if n, reqs := lt.fake.attempts(), lt.fake.recorded(); n != 2 || len(reqs) != 1 {
				t.Errorf("%d attempts, %d recorded; want 2 and 1", n, len(reqs))
			}
			if next.State.RecordError != "" || next.State.Applied != 2 {
				t.Errorf("state = %+v", next.State)
			}
		})
	}
}

func TestContinueAsNewCarriesStateAndDedup(t *testing.T) {
	lt := newLifecycleTest(t)
	next := lt.run(Input{VehicleStart: events.VehicleStart{VIN: testVIN}, MaxEvents: 2},
		one(deliveredEvent("e1", "D001", "S1", jan10, 0)),
		one(roClosedEvent("e2", "D001", "R1", mar01, 2000)),
	)
	if next.VIN != testVIN || next.MaxEvents != 2 || next.Seen.Len() != 2 || next.State.Applied != 2 {
		t.Fatalf("carried %+v, state %+v", next, next.State)
	}

	// The next run drops the redelivery of e2 and takes e3.
	lt2 := newLifecycleTest(t)
	final := lt2.run(next,
		one(roClosedEvent("e2", "D001", "R1", mar01, 2000)),
		one(roClosedEvent("e3", "D002", "R9", apr01, 3240)),
	)
	reqs := lt2.fake.recorded()
	if len(reqs) != 1 || reqs[0].GetLastVisitDealer() != "D002" {
		t.Fatalf("second run calls = %v, want one for e3", reqs)
	}
	s := final.State
	if s.Applied != 3 || s.Redeliveries != 1 || len(s.Deliveries) != 1 || len(s.Visits) != 3 || final.Seen.Len() != 3 {
		t.Errorf("state = %+v, seen %v", s, final.Seen.IDs)
	}
}

func TestContinueAsNewTakesBufferedSignals(t *testing.T) {
	lt := newLifecycleTest(t)
	next := lt.run(Input{VehicleStart: events.VehicleStart{VIN: testVIN}, MaxEvents: 1}, []outbox.Envelope{
		roClosedEvent("e1", "D001", "R1", mar01, 2000),
		roClosedEvent("e2", "D002", "R2", apr01, 3000),
		roClosedEvent("e3", "D003", "R3", apr01.Add(time.Hour), 3010),
	})
	if next.State.Applied != 3 || next.Seen.Len() != 3 || next.State.LastVisitDealer != "D003" {
		t.Errorf("state = %+v", next.State)
	}
	// Recorded before continuing, the last call with the latest visit.
	if reqs := lt.fake.recorded(); len(reqs) == 0 || reqs[len(reqs)-1].GetLastVisitDealer() != "D003" {
		t.Errorf("calls = %v", reqs)
	}
}

func TestQueryState(t *testing.T) {
	lt := newLifecycleTest(t)
	var before, after State
	query := func(into *State) func() {
		return func() {
			v, err := lt.env.QueryWorkflow(QueryState)
			if err != nil {
				t.Error(err)
				return
			}
			if err := v.Get(into); err != nil {
				t.Error(err)
			}
		}
	}
	lt.env.RegisterDelayedCallback(query(&before), 30*time.Second)
	lt.env.RegisterDelayedCallback(query(&after), 150*time.Second)
	lt.run(Input{VehicleStart: events.VehicleStart{VIN: testVIN}, MaxEvents: 3},
		one(deliveredEvent("e1", "D001", "S1", jan10, 0)),
		one(roClosedEvent("e2", "D002", "R1", mar01, 2000)),
		one(roClosedEvent("e3", "D002", "R2", apr01, 3000)),
	)
	if before.VIN != testVIN || before.NextDue != nil || len(before.Visits) != 0 {
		t.Errorf("state before any event = %+v", before)
	}
	if after.LastVisitDealer != "D002" || !after.LastVisitTime.Equal(mar01) || len(after.Visits) != 2 ||
		len(after.Deliveries) != 1 || after.NextDue == nil || after.NextDue.Date != date("2026-07-04") {
		t.Errorf("state after two events = %+v", after)
	}
}

func TestVINFromWorkflowID(t *testing.T) {
	lt := newLifecycleTest(t)
	lt.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: events.VehicleWorkflowID(testVIN)})
	next := lt.run(Input{MaxEvents: 1}, one(roClosedEvent("e1", "D001", "R1", mar01, 2000)))
	if next.VIN != testVIN || next.State.VIN != testVIN {
		t.Errorf("VIN = %q, state VIN %q", next.VIN, next.State.VIN)
	}
	if reqs := lt.fake.recorded(); len(reqs) != 1 || reqs[0].GetVin() != testVIN {
		t.Errorf("calls = %v", reqs)
	}
}

func TestInputIsAVehicleStart(t *testing.T) {
	// A relay starts the workflow with an events.VehicleStart.
	p, err := converter.GetDefaultDataConverter().ToPayloads(events.VehicleStart{VIN: testVIN})
	if err != nil {
		t.Fatal(err)
	}
	var in Input
	if err := converter.GetDefaultDataConverter().FromPayloads(p, &in); err != nil {
		t.Fatal(err)
	}
	if in.VIN != testVIN || in.State != nil || in.MaxEvents != 0 {
		t.Errorf("input = %+v", in)
	}
}
