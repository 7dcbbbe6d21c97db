package vehicle

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/calendar"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// call is one request a reminder step made, at the workflow's time.
type call struct {
	what, dealer, due, step string
	at                      time.Time
	atRisk                  bool
}

// services plays the campaign, callback and customer services' methods
// the reminder steps call, recording each call at the test clock's time.
type services struct {
	campaignv1.CampaignWorkflowServiceClient
	callbackv1.CallbackWorkflowServiceClient
	customerv1.SegmentServiceClient

	env *testsuite.TestWorkflowEnvironment
	mu  sync.Mutex
	log []call
	// deferFirst makes the first RemindVehicle report recipients waiting
	// an hour for their quiet hours.
	deferFirst bool
	// plan is what GetVehiclePlan answers (nil: the default plan), for
	// planVIN only if set.
	plan    *campaignv1.MaintenancePlan
	planVIN string
}

func (s *services) GetVehiclePlan(_ context.Context, r *campaignv1.GetVehiclePlanRequest, _ ...grpc.CallOption) (*campaignv1.MaintenancePlan, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.plan != nil && (s.planVIN == "" || s.planVIN == r.GetVin()) {
		return s.plan, nil
	}
	return &campaignv1.MaintenancePlan{Model: "default", Months: 6, IntervalKm: 5000, DefaultKmPerDay: 40}, nil
}

func (s *services) add(c call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.env != nil {
		c.at = s.env.Now().UTC()
	}
	s.log = append(s.log, c)
}

func (s *services) calls() []call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]call(nil), s.log...)
}

func (s *services) RemindVehicle(_ context.Context, r *campaignv1.RemindVehicleRequest, _ ...grpc.CallOption) (*campaignv1.RemindVehicleResponse, error) {
	s.add(call{what: "remind", dealer: r.GetDealer(), due: r.GetDueDate(), step: r.GetStep()})
	out := &campaignv1.RemindVehicleResponse{Campaign: "reminder-" + r.GetStep(), Recipients: 1}
	s.mu.Lock()
	if s.deferFirst {
		s.deferFirst = false
		out.NextAttemptTime = timestamppb.New(s.env.Now().Add(time.Hour))
	}
	s.mu.Unlock()
	return out, nil
}

func (s *services) ReconcileReturns(_ context.Context, r *campaignv1.ReconcileReturnsRequest, _ ...grpc.CallOption) (*campaignv1.ReconcileReturnsResponse, error) {
	s.add(call{what: "return", dealer: r.GetDealer(), step: r.GetCampaign()})
	return &campaignv1.ReconcileReturnsResponse{Returned: 1}, nil
}

func (s *services) EnsureCallbackTask(_ context.Context, r *callbackv1.EnsureCallbackTaskRequest, _ ...grpc.CallOption) (*callbackv1.CallbackTask, error) {
	if r.GetKind() != callbackv1.CallbackKind_CALLBACK_KIND_REVISIT_OVERDUE {
		return nil, errors.New("wrong kind")
	}
	s.add(call{what: "callback", dealer: r.GetDealer(), due: r.GetSourceId()})
	return &callbackv1.CallbackTask{Id: "task-1"}, nil
}

func (s *services) RecordRecallRepair(_ context.Context, r *campaignv1.RecordRecallRepairRequest, _ ...grpc.CallOption) (*campaignv1.RecordRecallRepairResponse, error) {
	s.add(call{what: "recall", dealer: r.GetDealer(), due: r.GetCampaignCode(), step: r.GetRepairOrder()})
	return &campaignv1.RecordRecallRepairResponse{Completed: 1}, nil
}

func (s *services) MarkChurnRisk(_ context.Context, r *customerv1.MarkChurnRiskRequest, _ ...grpc.CallOption) (*customerv1.MarkChurnRiskResponse, error) {
	s.add(call{what: "churn", atRisk: r.GetAtRisk()})
	return &customerv1.MarkChurnRiskResponse{UpdatedArchives: 1}, nil
}

// reminderTest runs a vehicle's workflow from start with events at the
// given offsets, until its MaxEvents make it continue as new.
func reminderTest(t *testing.T, start time.Time, svc *services, policy *ReminderPolicy, evs ...struct {
	after time.Duration
	env   outbox.Envelope
}) State {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	svc.env = env
	fake := &fakeVehicleState{}
	register(env, fake)
	env.RegisterActivity(&ReminderActivities{Campaigns: svc, Callbacks: svc, Segments: svc})
	for _, e := range evs {
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(events.VehicleSignal, e.env) }, e.after)
	}
	env.ExecuteWorkflow(events.VehicleWorkflowType, Input{VehicleStart: events.VehicleStart{VIN: testVIN}, MaxEvents: len(evs), Reminders: policy})
	var can *workflow.ContinueAsNewError
	if !env.IsWorkflowCompleted() || !errors.As(env.GetWorkflowError(), &can) {
		t.Fatalf("workflow = %v, want ContinueAsNew", env.GetWorkflowError())
	}
	var state State
	if v, err := env.QueryWorkflow(QueryState); err == nil {
		_ = v.Get(&state)
	}
	return state
}

type timed = struct {
	after time.Duration
	env   outbox.Envelope
}

var cst = calendar.Zone("Asia/Shanghai")

func at10(date string) time.Time {
	d, _ := calendar.ParseDate(date)
	return time.Date(d.Year, d.Month, d.Day, 10, 0, 0, 0, cst).UTC()
}

// TestReminderCycle: a delivery's first maintenance falls due by mileage
// (5,000 km at 40 km/day: 125 days) before the 6 months; the reminders go
// out 7 days and 1 day before, at 10:00, from the delivering dealer; 14
// days overdue a REVISIT_OVERDUE callback opens there; 90 days overdue the
// vehicle is marked at risk of churn. A repair order at another dealer
// then resets the cycle: the reminding campaigns count the return and the
// churn mark is cleared.
func TestReminderCycle(t *testing.T) {
	start := day("2027-01-04")
	svc := &services{}
	reminderTest(t, start, svc, nil,
		timed{time.Minute, deliveredEvent("e1", "D001", "S1", start, 0)},
		timed{300 * 24 * time.Hour, roClosedEvent("e2", "D002", "R1", start.Add(300*24*time.Hour), 9000)},
	)
	due := "2027-05-09" // Jan 4 + 125 days
	want := []call{
		{what: "remind", dealer: "D001", due: due, step: StepBefore7d, at: at10("2027-05-02")},
		{what: "remind", dealer: "D001", due: due, step: StepBefore1d, at: at10("2027-05-08")},
		{what: "callback", dealer: "D001", due: testVIN + "/" + due, at: at10("2027-05-23")},
		{what: "churn", atRisk: true, at: at10("2027-08-07")},
		{what: "return", dealer: "D001", step: "reminder-" + StepBefore7d},
		{what: "return", dealer: "D001", step: "reminder-" + StepBefore1d},
		{what: "churn", atRisk: false},
	}
	got := svc.calls()
	if len(got) != len(want) {
		t.Fatalf("calls = %+v, want %+v", got, want)
	}
	back := start.Add(300 * 24 * time.Hour)
	for i, w := range want {
		g := got[i]
		if w.at.IsZero() {
			w.at = g.at
			if g.at.Before(back) {
				t.Errorf("call %d %+v came before the return", i, g)
			}
		}
		if g != w {
			t.Errorf("call %d = %+v, want %+v", i, g, w)
		}
	}
}

// TestReminderResetByVisitElsewhere: a repair order at another dealer
// before the first reminder starts a new cycle; the reminders then come
// from that dealer, for the new due date, and none for the old one.
func TestReminderResetByVisitElsewhere(t *testing.T) {
	start := day("2027-01-04")
	svc := &services{}
	visit := start.Add(100 * 24 * time.Hour)
	state := reminderTest(t, start, svc, nil,
		timed{time.Minute, deliveredEvent("e1", "D001", "S1", start, 0)},
		timed{100 * 24 * time.Hour, roClosedEvent("e2", "D002", "R1", visit, 4000)},
		timed{226 * 24 * time.Hour, roClosedEvent("e3", "D002", "R2", start.Add(226*24*time.Hour), 9000)},
	)
	got := svc.calls()
	if len(got) < 2 || got[0].dealer != "D002" || got[0].step != StepBefore7d || got[1].step != StepBefore1d {
		t.Fatalf("calls = %+v, want the second cycle's reminders from D002", got)
	}
	for _, c := range got {
		if c.due == "2027-05-09" {
			t.Errorf("reminded for the first cycle's due date: %+v", c)
		}
	}
	if state.Reminders == nil || state.Reminders.Dealer != "D002" {
		t.Errorf("state reminders = %+v", state.Reminders)
	}
}

// TestReminderMileageFirst: heavy use brings the due date forward; the
// reminder follows the mileage, not the 6 months.
func TestReminderMileageFirst(t *testing.T) {
	start := day("2027-01-04")
	svc := &services{}
	reminderTest(t, start, svc, nil,
		timed{time.Minute, roClosedEvent("e1", "D001", "R1", start, 10000)},
		timed{10 * 24 * time.Hour, roClosedEvent("e2", "D001", "R2", start.Add(10*24*time.Hour), 12000)}, // 200 km/day
		timed{60 * 24 * time.Hour, roClosedEvent("e3", "D001", "R3", start.Add(60*24*time.Hour), 14000)},
	)
	got := svc.calls()
	// From Jan 14 at 200 km/day: 25 days, due Feb 8; the reminder on Feb 1.
	if len(got) == 0 || got[0].due != "2027-02-08" || !got[0].at.Equal(at10("2027-02-01")) {
		t.Fatalf("calls = %+v, want the first reminder on 2027-02-01 for due 2027-02-08", got)
	}
}

// TestReminderDeferredByQuietHours: recipients waiting for their quiet
// hours bring the step back when they may be sent, once more.
func TestReminderDeferredByQuietHours(t *testing.T) {
	start := day("2027-01-04")
	svc := &services{deferFirst: true}
	reminderTest(t, start, svc, &ReminderPolicy{Before7d: 7 * 24 * time.Hour, Before1d: 24 * time.Hour, Overdue14d: 14 * 24 * time.Hour, Churn90d: 90 * 24 * time.Hour},
		timed{time.Minute, deliveredEvent("e1", "D001", "S1", start, 0)},
		timed{120 * 24 * time.Hour, roClosedEvent("e2", "D001", "R1", start.Add(120*24*time.Hour), 4800)},
	)
	got := svc.calls()
	if len(got) < 2 || got[0].step != StepBefore7d || got[1].step != StepBefore7d || got[1].at.Sub(got[0].at) != time.Hour {
		t.Fatalf("calls = %+v, want before_7d again an hour later", got)
	}
}

// TestReminderBackfillSkipsPast: a visit recorded long after it happened
// does not remind of a due date already past; only later steps run.
func TestReminderBackfillSkipsPast(t *testing.T) {
	start := day("2027-01-04")
	svc := &services{}
	old := start.Add(-200 * 24 * time.Hour) // due 75 days ago, churn in 15 days
	state := reminderTest(t, start, svc, nil,
		timed{time.Minute, envelope("e1", events.KindRepairOrderClosed, "D001", start, events.RepairOrderClosed{
			Dealer: "D001", RepairOrderID: "R1", VIN: testVIN, Type: "maintenance", CloseTime: old, MileageKM: 20000})},
		timed{30 * 24 * time.Hour, roClosedEvent("e2", "D001", "R2", start.Add(30*24*time.Hour), 26000)},
	)
	got := svc.calls()
	if len(got) < 1 || got[0].what != "churn" || !got[0].atRisk {
		t.Fatalf("calls = %+v, want only the churn mark", got)
	}
	for _, c := range got {
		if c.what == "remind" || c.what == "callback" {
			t.Errorf("a past step ran: %+v", c)
		}
	}
	_ = state
}

// TestReminderPolicyInSeconds: offsets are policy down to seconds, so a
// whole cycle runs in a minute of a demo.
func TestReminderPolicyInSeconds(t *testing.T) {
	p := ReminderPolicy{Before7d: 30 * time.Second, Before1d: 10 * time.Second, Overdue14d: 20 * time.Second, Churn90d: 40 * time.Second, DueHour: 10}
	d, _ := calendar.ParseDate("2027-02-08")
	steps := p.Steps(d, cst)
	due := at10("2027-02-08")
	want := []time.Time{due.Add(-30 * time.Second), due.Add(-10 * time.Second), due.Add(20 * time.Second), due.Add(40 * time.Second)}
	for i, s := range steps {
		if !s.At.Equal(want[i]) {
			t.Errorf("step %s at %s, want %s", s.Name, s.At, want[i])
		}
	}
}

// TestRecallRepairReported: a recall repair order quoting a code, at a
// dealer other than the one that sold the car and delivered after a newer
// visit, is reported to the campaign service with the repairing dealer;
// a recall without a code, another type, and a redelivery are not.
func TestRecallRepairReported(t *testing.T) {
	start := day("2027-01-04")
	svc := &services{}
	recall := func(id, dealer, ro, code string, at time.Time) outbox.Envelope {
		return envelope(id, events.KindRepairOrderClosed, dealer, at, events.RepairOrderClosed{
			Dealer: dealer, RepairOrderID: ro, Number: "RO" + ro, VIN: testVIN, Type: recallType, CampaignCode: code,
			OpenTime: at.Add(-2 * time.Hour), CloseTime: at, MileageKM: 3000,
		})
	}
	fixed := start.Add(20 * 24 * time.Hour)
	reminderTest(t, start, svc, nil,
		timed{time.Minute, deliveredEvent("e1", "D001", "S1", start, 0)},
		timed{30 * 24 * time.Hour, roClosedEvent("e2", "D003", "R0", start.Add(30*24*time.Hour), 4000)},
		timed{31 * 24 * time.Hour, recall("e3", "D002", "R1", "RC2026-01", fixed)},
		timed{32 * 24 * time.Hour, recall("e3", "D002", "R1", "RC2026-01", fixed)},
		timed{33 * 24 * time.Hour, recall("e4", "D002", "R2", "", fixed)},
	)
	var got []call
	for _, c := range svc.calls() {
		if c.what == "recall" {
			got = append(got, c)
		}
	}
	want := call{what: "recall", dealer: "D002", due: "RC2026-01", step: "ROR1", at: start.Add(31 * 24 * time.Hour).UTC()}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("recall calls = %+v, want [%+v]", got, want)
	}
}

// TestPlanOfTheModel: HQ's plan for the vehicle's model (3 months or
// 10,000 km, 100 km/day) sets the due date: 3 months after the delivery,
// before the 10,000 km that 100 km/day reach in 100 days; the reminders
// follow it.
func TestPlanOfTheModel(t *testing.T) {
	start := day("2027-01-04")
	svc := &services{plan: &campaignv1.MaintenancePlan{Model: "帕萨特", Months: 3, IntervalKm: 10000, DefaultKmPerDay: 100}}
	st := reminderTest(t, start, svc, nil, timed{time.Minute, deliveredEvent("e1", "D001", "S1", start, 0)})
	if st.NextDue == nil || st.NextDue.Date.String() != "2027-04-04" || st.NextDue.MileageKM != 10000 {
		t.Fatalf("next due = %+v, want 2027-04-04 at 10000 km", st.NextDue)
	}
	if st.Plan == nil || st.Plan.Months != 3 || st.Plan.MaxKMPerDay != DefaultPlan().MaxKMPerDay {
		t.Errorf("plan in state = %+v", st.Plan)
	}
	if st.Reminders == nil || len(st.Reminders.Pending) == 0 || !st.Reminders.Pending[0].At.Equal(at10("2027-03-28")) {
		t.Errorf("reminders = %+v, want the first 7 days before 2027-04-04", st.Reminders)
	}
}
