package callback

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// t0 is a Monday, 10:00 in Shanghai: a repair order closes.
var t0 = wall("2026-03-09 10:00")

// callbackTest runs one workflow in the time-skipping test environment,
// started at start, against fake services.
type callbackTest struct {
	t          *testing.T
	env        *testsuite.TestWorkflowEnvironment
	start      time.Time
	wf         *fakeWorkflowService
	tasks      *fakeTasks
	complaints *fakeComplaints
	archive    *fakeArchive

	mu    sync.Mutex
	calls []call
}

// call is an activity as it started, with the workflow's clock then.
type call struct {
	activity string
	now      time.Time
}

func newCallbackTest(t *testing.T, start time.Time) *callbackTest {
	var s testsuite.WorkflowTestSuite
	ct := &callbackTest{
		t: t, env: s.NewTestWorkflowEnvironment(), start: start,
		wf:         &fakeWorkflowService{schedule: defaultSchedule()},
		tasks:      &fakeTasks{findings: "The brakes squeak since the service."},
		complaints: &fakeComplaints{state: complaintv1.State_STATE_RESOLVED},
		archive:    &fakeArchive{consent: map[string]*bool{testCustomer: ptr(true)}},
	}
	ct.env.SetStartTime(start)
	register(ct.env, &Activities{Workflow: ct.wf, Tasks: ct.tasks, Complaints: ct.complaints, Archive: ct.archive})
	ct.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		ct.mu.Lock()
		ct.calls = append(ct.calls, call{activity: info.ActivityType.Name, now: ct.env.Now()})
		ct.mu.Unlock()
	})
	return ct
}

// sendAt delivers env at the instant at (not before the start).
func (ct *callbackTest) sendAt(at time.Time, env outbox.Envelope) {
	ct.env.RegisterDelayedCallback(func() { ct.env.SignalWorkflow(events.CallbackSignal, env) }, at.Sub(ct.start))
}

// doAt runs f at the instant at.
func (ct *callbackTest) doAt(at time.Time, f func()) {
	ct.env.RegisterDelayedCallback(f, at.Sub(ct.start))
}

// run executes the workflow to its end; the error is the workflow's.
func (ct *callbackTest) run(in Input) (Result, error) {
	ct.t.Helper()
	ct.env.ExecuteWorkflow(events.CallbackWorkflowType, in)
	if !ct.env.IsWorkflowCompleted() {
		ct.t.Fatal("workflow did not end")
	}
	if err := ct.env.GetWorkflowError(); err != nil {
		return Result{}, err
	}
	var res Result
	if err := ct.env.GetWorkflowResult(&res); err != nil {
		ct.t.Fatal(err)
	}
	return res, nil
}

func (ct *callbackTest) runOK(in Input) Result {
	ct.t.Helper()
	res, err := ct.run(in)
	if err != nil {
		ct.t.Fatalf("workflow error: %v", err)
	}
	return res
}

// activities lists the activities as "name @ Shanghai time".
func (ct *callbackTest) activities() []string {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	var out []string
	for _, c := range ct.calls {
		out = append(out, c.activity+" @ "+inShanghai(c.now))
	}
	return out
}

// retries lists the ScheduleCallbackRetry requests as "after N: next".
func (ct *callbackTest) retries() []string {
	_, retries, _, _ := ct.wf.snapshot()
	var out []string
	for _, r := range retries {
		if r.GetDealer() != testDealer || r.GetTask() != testTask {
			ct.t.Errorf("retry for %s/%s", r.GetDealer(), r.GetTask())
		}
		out = append(out, "after "+itoa(int(r.GetAfterAttempt()))+": "+inShanghai(r.GetNextAttemptTime().AsTime()))
	}
	return out
}

// ends lists the EndCallbackTask requests as "STATUS reason @ time".
func (ct *callbackTest) ends() []string {
	_, _, ends, _ := ct.wf.snapshot()
	var out []string
	for _, e := range ends {
		out = append(out, strings.TrimPrefix(e.GetStatus().String(), "CALLBACK_STATUS_")+" "+e.GetReason()+" @ "+inShanghai(e.GetTime().AsTime()))
	}
	return out
}

func itoa(n int) string { return string(rune('0'+n/10%10)) + string(rune('0'+n%10)) }

func expect(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n  got  %q\n  want %q", what, got, want)
	}
}

func TestDueAfterTheDelayInsideCallingHours(t *testing.T) {
	ct := newCallbackTest(t, t0)
	ct.sendAt(t0, roClosed("E1", t0))
	ct.sendAt(wall("2026-03-12 12:00"), cancelled("E2", wall("2026-03-12 12:00")))
	res := ct.runOK(start3DC())

	expect(t, "activities", ct.activities(), []string{
		"GetCallbackSchedule @ 2026-03-09 10:00 Mon",
		"CheckCallConsent @ 2026-03-12 10:00 Thu",
		"EnsureCallbackTask @ 2026-03-12 10:00 Thu",
	})
	ensures, _, ends, _ := ct.wf.snapshot()
	if len(ensures) != 1 {
		t.Fatalf("%d EnsureCallbackTask calls", len(ensures))
	}
	e := ensures[0]
	if got := inShanghai(e.GetDueTime().AsTime()); got != "2026-03-12 10:00 Thu" {
		t.Errorf("due %s", got)
	}
	if got := inShanghai(e.GetDeadline().AsTime()); got != "2026-03-17 10:00 Tue" {
		t.Errorf("deadline %s", got)
	}
	if e.GetDealer() != testDealer || e.GetKind() != callbackv1.CallbackKind_CALLBACK_KIND_3DC || e.GetSourceType() != events.SourceRepairOrder ||
		e.GetSourceId() != testRO || e.GetWorkflowId() != "default-test-workflow-id" || e.GetCustomer() != testCustomer ||
		e.GetVin() != testVIN || e.GetRepairOrderNumber() != "RO20260309001" || e.GetDoNotCall() {
		t.Errorf("ensure request %v", e)
	}
	if len(ends) != 0 {
		t.Errorf("a cancelled task ended again: %v", ct.ends())
	}
	if res.Task != testTask || res.Outcome != StatusCancelled {
		t.Errorf("result %+v", res)
	}
}

// The delay counts from the close time the event carries, not from when
// the event arrived.
func TestDueCountsFromTheEventTime(t *testing.T) {
	ct := newCallbackTest(t, t0)
	ct.sendAt(t0, roClosed("E1", t0.Add(-3*time.Hour))) // closed 07:00, sent late
	ct.sendAt(wall("2026-03-12 12:00"), cancelled("E2", wall("2026-03-12 12:00")))
	ct.runOK(start3DC())
	ensures, _, _, _ := ct.wf.snapshot()
	if got := inShanghai(ensures[0].GetDueTime().AsTime()); got != "2026-03-12 09:00 Thu" {
		t.Errorf("due %s, want 07:00 moved to 09:00", got)
	}
}

func TestDueAtNightMovesToNineTheNextMorning(t *testing.T) {
	closed := wall("2026-03-09 22:10")
	ct := newCallbackTest(t, closed)
	ct.sendAt(closed, roClosed("E1", closed))
	ct.sendAt(wall("2026-03-13 12:00"), cancelled("E2", wall("2026-03-13 12:00")))
	ct.runOK(start3DC())
	expect(t, "activities", ct.activities(), []string{
		"GetCallbackSchedule @ 2026-03-09 22:10 Mon",
		"CheckCallConsent @ 2026-03-13 09:00 Fri",
		"EnsureCallbackTask @ 2026-03-13 09:00 Fri",
	})
	ensures, _, _, _ := ct.wf.snapshot()
	if got := inShanghai(ensures[0].GetDueTime().AsTime()); got != "2026-03-13 09:00 Fri" {
		t.Errorf("due %s", got)
	}
	if got := inShanghai(ensures[0].GetDeadline().AsTime()); got != "2026-03-18 09:00 Wed" {
		t.Errorf("deadline %s", got)
	}
}

func TestUnreachableAfterThreeUnansweredAttempts(t *testing.T) {
	ct := newCallbackTest(t, t0)
	ct.sendAt(t0, roClosed("E1", t0))
	a1, a2, a3 := wall("2026-03-12 11:00"), wall("2026-03-13 11:05"), wall("2026-03-14 11:10")
	ct.sendAt(a1, attempted("A1", 1, "no_answer", a1, time.Time{}))
	ct.sendAt(a2, attempted("A2", 2, "busy", a2, time.Time{}))
	ct.sendAt(a3, attempted("A3", 3, "no_answer", a3, time.Time{}))
	res := ct.runOK(start3DC())

	expect(t, "retries", ct.retries(), []string{"after 01: 2026-03-13 11:00 Fri", "after 02: 2026-03-14 11:05 Sat"})
	expect(t, "ends", ct.ends(), []string{"UNREACHABLE not reached after 3 attempts @ 2026-03-14 11:10 Sat"})
	if res.Outcome != StatusUnreachable || res.Reason != "not reached after 3 attempts" {
		t.Errorf("result %+v", res)
	}
	// Consent is checked at the due time and before each retry.
	if n := ct.archive.calls; n != 3 {
		t.Errorf("%d consent checks, want 3", n)
	}
}

// A retry that would fall at 22:30 in Shanghai, outside 09:00-21:00, is
// planned for 09:00 the next day.
func TestRetryAtNightMovesToNineTheNextMorning(t *testing.T) {
	ct := newCallbackTest(t, t0)
	ct.wf.schedule.RetryInterval = durationpbHours(2)
	ct.sendAt(t0, roClosed("E1", t0))
	a1 := wall("2026-03-12 20:30")
	ct.sendAt(a1, attempted("A1", 1, "no_answer", a1, time.Time{}))
	ct.sendAt(wall("2026-03-13 09:30"), cancelled("E3", wall("2026-03-13 09:30")))
	ct.runOK(start3DC())

	_, retries, _, _ := ct.wf.snapshot()
	if len(retries) != 1 {
		t.Fatalf("%d retries", len(retries))
	}
	want := time.Date(2026, 3, 13, 1, 0, 0, 0, time.UTC) // 09:00 in Shanghai
	if got := retries[0].GetNextAttemptTime().AsTime(); !got.Equal(want) || retries[0].GetAfterAttempt() != 1 {
		t.Errorf("retry after %d at %s, want after 1 at %s", retries[0].GetAfterAttempt(), inShanghai(got), inShanghai(want))
	}
}

func TestCallBackLaterIsNotCountedAsUnreached(t *testing.T) {
	ct := newCallbackTest(t, t0)
	ct.wf.schedule.MaxAttempts = 2
	ct.sendAt(t0, roClosed("E1", t0))
	a1, a2, a3 := wall("2026-03-12 11:00"), wall("2026-03-13 11:00"), wall("2026-03-14 09:05")
	ct.sendAt(a1, attempted("A1", 1, "no_answer", a1, time.Time{}))
	// "Call me at 23:00": outside calling hours, so 09:00 the next day.
	ct.sendAt(a2, attempted("A2", 2, "call_back_later", a2, wall("2026-03-13 23:00")))
	ct.sendAt(a3, attempted("A3", 3, "no_answer", a3, time.Time{}))
	res := ct.runOK(start3DC())

	expect(t, "retries", ct.retries(), []string{"after 01: 2026-03-13 11:00 Fri", "after 02: 2026-03-14 09:00 Sat"})
	expect(t, "ends", ct.ends(), []string{"UNREACHABLE not reached after 2 attempts @ 2026-03-14 09:05 Sat"})
	if res.Outcome != StatusUnreachable {
		t.Errorf("result %+v", res)
	}
}

func TestCallBackLaterInsideCallingHoursKeepsTheTime(t *testing.T) {
	ct := newCallbackTest(t, t0)
	ct.sendAt(t0, roClosed("E1", t0))
	a1 := wall("2026-03-12 10:05")
	ct.sendAt(a1, attempted("A1", 1, "call_back_later", a1, wall("2026-03-12 15:30")))
	ct.sendAt(wall("2026-03-12 16:00"), cancelled("E2", wall("2026-03-12 16:00")))
	ct.runOK(start3DC())
	expect(t, "retries", ct.retries(), []string{"after 01: 2026-03-12 15:30 Thu"})
}

func TestDeadlineExpiresTheTask(t *testing.T) {
	ct := newCallbackTest(t, t0)
	ct.sendAt(t0, roClosed("E1", t0))
	a1 := wall("2026-03-12 11:00")
	ct.sendAt(a1, attempted("A1", 1, "no_answer", a1, time.Time{}))
	res := ct.runOK(start3DC())
	expect(t, "ends", ct.ends(), []string{"EXPIRED not done by the deadline @ 2026-03-17 10:00 Tue"})
	if res.Outcome != StatusExpired || res.Reason != "not done by the deadline" {
		t.Errorf("result %+v", res)
	}
}

// The deadline found the task completed (the event is still on its way):
// the run waits for the completion and acts on it.
func TestDeadlineAfterACompletionStillOpensTheComplaint(t *testing.T) {
	ct := newCallbackTest(t, t0)
	ct.sendAt(t0, roClosed("E1", t0))
	ct.doAt(wall("2026-03-17 09:59"), func() { ct.wf.setStatus(callbackv1.CallbackStatus_CALLBACK_STATUS_COMPLETED) })
	late := wall("2026-03-17 10:30")
	ct.sendAt(late, completed("C1", wall("2026-03-17 09:59"), 30, false))
	res := ct.runOK(start3DC())
	expect(t, "ends", ct.ends(), []string{"EXPIRED not done by the deadline @ 2026-03-17 10:00 Tue"})
	creates, _, _ := ct.complaints.snapshot()
	if len(creates) != 1 || res.Outcome != StatusCompleted || res.Complaint != "CP-1" {
		t.Errorf("%d complaints opened, result %+v", len(creates), res)
	}
}

func TestDoNotCallCreatesTheTaskCancelled(t *testing.T) {
	ct := newCallbackTest(t, t0)
	ct.archive.setCallConsent(testCustomer, false)
	ct.sendAt(t0, roClosed("E1", t0))
	res := ct.runOK(start3DC())
	ensures, retries, ends, _ := ct.wf.snapshot()
	if len(ensures) != 1 || !ensures[0].GetDoNotCall() {
		t.Fatalf("ensure requests %v", ensures)
	}
	if len(retries)+len(ends) != 0 {
		t.Errorf("retries %v, ends %v", retries, ends)
	}
	if res.Outcome != StatusCancelled {
		t.Errorf("result %+v", res)
	}
}

func TestConsentWithdrawnBeforeARetryCancels(t *testing.T) {
	ct := newCallbackTest(t, t0)
	ct.sendAt(t0, roClosed("E1", t0))
	ct.doAt(wall("2026-03-12 10:30"), func() { ct.archive.setCallConsent(testCustomer, false) })
	a1 := wall("2026-03-12 11:00")
	ct.sendAt(a1, attempted("A1", 1, "no_answer", a1, time.Time{}))
	res := ct.runOK(start3DC())
	expect(t, "retries", ct.retries(), nil)
	expect(t, "ends", ct.ends(), []string{"CANCELLED do not call @ 2026-03-12 11:00 Thu"})
	if res.Outcome != StatusCancelled || res.Reason != "do not call" {
		t.Errorf("result %+v", res)
	}
}

func TestDuplicateSourceEventsMakeOneTask(t *testing.T) {
	ct := newCallbackTest(t, t0)
	first := roClosed("E1", t0)
	ct.sendAt(t0, first)
	ct.sendAt(t0.Add(time.Minute), first)                    // redelivered while sleeping
	ct.sendAt(t0.Add(time.Hour), roClosed("E1b", t0))        // the same close again
	ct.sendAt(wall("2026-03-12 10:30"), first)               // redelivered after the task exists
	ct.sendAt(wall("2026-03-12 11:00"), roClosed("E1c", t0)) // once more
	ct.sendAt(wall("2026-03-12 12:00"), cancelled("E2", wall("2026-03-12 12:00")))
	ct.runOK(start3DC())
	ensures, _, _, _ := ct.wf.snapshot()
	if len(ensures) != 1 {
		t.Errorf("%d EnsureCallbackTask calls, want 1", len(ensures))
	}
	if n := strings.Count(strings.Join(ct.activities(), ","), "GetCallbackSchedule"); n != 1 {
		t.Errorf("%d schedules loaded", n)
	}
}

func TestDuplicateAttemptEventsMakeOneRetry(t *testing.T) {
	ct := newCallbackTest(t, t0)
	ct.sendAt(t0, roClosed("E1", t0))
	a1 := wall("2026-03-12 11:00")
	ev := attempted("A1", 1, "no_answer", a1, time.Time{})
	ct.sendAt(a1, ev)
	ct.sendAt(a1.Add(time.Minute), ev)                                                  // redelivery: same event id
	ct.sendAt(a1.Add(2*time.Minute), attempted("A1b", 1, "no_answer", a1, time.Time{})) // same attempt number
	ct.sendAt(wall("2026-03-12 12:00"), cancelled("E2", wall("2026-03-12 12:00")))
	ct.runOK(start3DC())
	expect(t, "retries", ct.retries(), []string{"after 01: 2026-03-13 11:00 Fri"})
}

func TestCompletedDissatisfiedOpensALinkedComplaint(t *testing.T) {
	cases := []struct {
		name     string
		in       Input
		source   outbox.Envelope
		score    float64
		severity complaintv1.Severity
		category complaintv1.Category
		policy   func(*callbackv1.CallbackSchedule) // the dealer's policy, when not the default
	}{
		{"3DC under 50: high", start3DC(), roClosed("E1", t0), 40, complaintv1.Severity_SEVERITY_HIGH, complaintv1.Category_CATEGORY_OTHER, nil},
		{"3DC at 65: medium", start3DC(), roClosed("E1", t0), 65, complaintv1.Severity_SEVERITY_MEDIUM, complaintv1.Category_CATEGORY_OTHER, nil},
		{"7DC: sales promise", Input{CallbackStart: events.CallbackStart{Kind: events.Callback7DC, Dealer: testDealer, SourceType: events.SourceSale, SourceID: "S-1"}},
			delivered("E1", t0), 70, complaintv1.Severity_SEVERITY_MEDIUM, complaintv1.Category_CATEGORY_SALES_PROMISE, nil},
		{"dealer's bands: under 30 critical", start3DC(), roClosed("E1", t0), 25, complaintv1.Severity_SEVERITY_CRITICAL, complaintv1.Category_CATEGORY_OTHER, ownBands},
		{"dealer's bands: under 60 high", start3DC(), roClosed("E1", t0), 55, complaintv1.Severity_SEVERITY_HIGH, complaintv1.Category_CATEGORY_OTHER, ownBands},
		{"dealer's bands: otherwise low", start3DC(), roClosed("E1", t0), 65, complaintv1.Severity_SEVERITY_LOW, complaintv1.Category_CATEGORY_OTHER, ownBands},
		{"an older callback service without severities", start3DC(), roClosed("E1", t0), 45, complaintv1.Severity_SEVERITY_HIGH, complaintv1.Category_CATEGORY_OTHER,
			func(s *callbackv1.CallbackSchedule) { s.ComplaintSeverity, s.ComplaintSeverityRules = 0, nil }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ct := newCallbackTest(t, t0)
			ct.wf.schedule.Delay = durationpbHours(1)
			if c.policy != nil {
				c.policy(ct.wf.schedule)
			}
			ct.sendAt(t0, c.source)
			a1 := wall("2026-03-09 11:30")
			ct.sendAt(a1, attempted("A1", 1, "answered", a1, time.Time{}))
			ct.sendAt(a1.Add(10*time.Minute), completed("C1", a1.Add(10*time.Minute), c.score, false))
			res := ct.runOK(c.in)

			creates, closes, reopens := ct.complaints.snapshot()
			if len(creates) != 1 || len(closes)+len(reopens) != 0 {
				t.Fatalf("creates %v closes %v reopens %v", creates, closes, reopens)
			}
			cr := creates[0]
			cp := cr.GetComplaint()
			if cr.GetDealer() != testDealer || cp.GetChannel() != complaintv1.Channel_CHANNEL_CALLBACK || cp.GetCategory() != c.category ||
				cp.GetSeverity() != c.severity || cp.GetCustomer() != testCustomer || cp.GetVin() != testVIN ||
				cp.GetDescription() != "The brakes squeak since the service." || cp.GetSource() != "callback/T-1" {
				t.Errorf("create request %v", cr)
			}
			_, _, ends, links := ct.wf.snapshot()
			if len(links) != 1 || links[0].GetTask() != testTask || links[0].GetComplaint() != "CP-1" || links[0].GetDealer() != testDealer {
				t.Errorf("links %v", links)
			}
			if len(ends) != 0 {
				t.Errorf("ends %v", ends)
			}
			if res.Outcome != StatusCompleted || res.Complaint != "CP-1" {
				t.Errorf("result %+v", res)
			}
		})
	}
}

// ownBands is a dealer's policy of complaint severities: CRITICAL under
// 30, HIGH under 60, LOW otherwise.
func ownBands(s *callbackv1.CallbackSchedule) {
	s.ComplaintSeverity = complaintv1.Severity_SEVERITY_LOW
	s.ComplaintSeverityRules = []*callbackv1.ComplaintSeverityRule{
		{ScoreBelow: 30, Severity: complaintv1.Severity_SEVERITY_CRITICAL}, {ScoreBelow: 60, Severity: complaintv1.Severity_SEVERITY_HIGH}}
}

func TestCompletedSatisfiedOpensNothing(t *testing.T) {
	ct := newCallbackTest(t, t0)
	ct.sendAt(t0, roClosed("E1", t0))
	a1 := wall("2026-03-12 10:30")
	ct.sendAt(a1, attempted("A1", 1, "answered", a1, time.Time{}))
	ct.sendAt(a1.Add(5*time.Minute), completed("C1", a1.Add(5*time.Minute), 95, true))
	res := ct.runOK(start3DC())
	creates, closes, reopens := ct.complaints.snapshot()
	_, retries, ends, links := ct.wf.snapshot()
	if len(creates)+len(closes)+len(reopens)+len(retries)+len(ends)+len(links) != 0 {
		t.Errorf("calls after a satisfied completion: %v", ct.activities())
	}
	if res.Outcome != StatusCompleted || res.Complaint != "" {
		t.Errorf("result %+v", res)
	}
}

func followUpInput() Input {
	return Input{CallbackStart: events.CallbackStart{Kind: events.CallbackComplaintFollowUp, Dealer: testDealer, SourceType: events.SourceComplaint, SourceID: events.FollowUpSourceID("C-9", 2)}}
}

func TestFollowUp(t *testing.T) {
	cases := []struct {
		name      string
		satisfied bool
		state     complaintv1.State // before the call
		wantErr   bool
		closes    int
		reopens   int
	}{
		{"satisfied closes", true, complaintv1.State_STATE_RESOLVED, false, 1, 0},
		{"dissatisfied reopens", false, complaintv1.State_STATE_RESOLVED, false, 0, 1},
		{"already closed counts as closed", true, complaintv1.State_STATE_CLOSED, false, 1, 0},
		{"already reopened counts as reopened", false, complaintv1.State_STATE_IN_PROGRESS, false, 0, 1},
		{"closing a reopened complaint fails", true, complaintv1.State_STATE_IN_PROGRESS, true, 1, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ct := newCallbackTest(t, t0)
			ct.complaints.state = c.state
			ct.sendAt(t0, resolved("E1", t0, 2))
			a1 := wall("2026-03-12 10:30")
			ct.sendAt(a1, attempted("A1", 1, "answered", a1, time.Time{}))
			ct.sendAt(a1.Add(5*time.Minute), completed("C1", a1.Add(5*time.Minute), 50, c.satisfied))
			res, err := ct.run(followUpInput())
			var appErr *temporal.ApplicationError
			if c.wantErr != (err != nil) || (err != nil && (!errors.As(err, &appErr) || appErr.Type() != ErrTypeFailedPrecondition)) {
				t.Fatalf("error %v, want one: %v", err, c.wantErr)
			}
			ensures, _, _, _ := ct.wf.snapshot()
			if e := ensures[0]; e.GetComplaint() != "C-9" || e.GetSourceId() != "C-9/2" || e.GetSourceType() != events.SourceComplaint ||
				e.GetKind() != callbackv1.CallbackKind_CALLBACK_KIND_COMPLAINT_FOLLOW_UP {
				t.Errorf("ensure %v", e)
			}
			creates, closes, reopens := ct.complaints.snapshot()
			if len(creates) != 0 || len(closes) != c.closes || len(reopens) != c.reopens {
				t.Fatalf("creates %d closes %d reopens %d", len(creates), len(closes), len(reopens))
			}
			for _, r := range closes {
				if r.GetDealer() != testDealer || r.GetComplaint() != "C-9" || !strings.Contains(r.GetNote(), testTask) {
					t.Errorf("close %v", r)
				}
			}
			for _, r := range reopens {
				if r.GetDealer() != testDealer || r.GetComplaint() != "C-9" || !strings.Contains(r.GetNote(), testTask) {
					t.Errorf("reopen %v", r)
				}
			}
			if !c.wantErr && (res.Outcome != StatusCompleted || res.Complaint != "C-9") {
				t.Errorf("result %+v", res)
			}
		})
	}
}

func TestCancelledEndsTheRun(t *testing.T) {
	ct := newCallbackTest(t, t0)
	ct.sendAt(t0, roClosed("E1", t0))
	at := wall("2026-03-12 12:00")
	ct.sendAt(at, cancelled("X1", at))
	ct.sendAt(at.Add(time.Hour), attempted("A1", 1, "no_answer", at, time.Time{})) // never handled
	res := ct.runOK(start3DC())
	_, retries, ends, _ := ct.wf.snapshot()
	if len(retries)+len(ends) != 0 || res.Outcome != StatusCancelled {
		t.Errorf("retries %v ends %v result %+v", retries, ends, res)
	}
	if env := ct.env.Now(); !env.Equal(at) {
		t.Errorf("ended at %s", inShanghai(env))
	}
}

func TestWrongNumberAndRefusalEndTheRun(t *testing.T) {
	for outcome, want := range map[string]string{"wrong_number": StatusUnreachable, "refused": StatusRefused} {
		t.Run(outcome, func(t *testing.T) {
			ct := newCallbackTest(t, t0)
			ct.sendAt(t0, roClosed("E1", t0))
			a1 := wall("2026-03-12 11:00")
			ct.sendAt(a1, attempted("A1", 1, outcome, a1, time.Time{}))
			res := ct.runOK(start3DC())
			_, retries, ends, _ := ct.wf.snapshot()
			if len(retries)+len(ends) != 0 || res.Outcome != want {
				t.Errorf("retries %v ends %v result %+v", retries, ends, res)
			}
		})
	}
}

func TestFirstEventNotASourceEndsWithoutATask(t *testing.T) {
	cases := map[string]struct {
		in  Input
		env outbox.Envelope
	}{
		"an attempt":             {start3DC(), attempted("A1", 1, "no_answer", t0, time.Time{})},
		"a delivery for a 3DC":   {start3DC(), delivered("E1", t0)},
		"another repair order":   {Input{CallbackStart: events.CallbackStart{Kind: events.Callback3DC, Dealer: testDealer, SourceType: events.SourceRepairOrder, SourceID: "RO-2"}}, roClosed("E1", t0)},
		"another resolution":     {followUpInput(), resolved("E1", t0, 1)},
		"an undecodable payload": {start3DC(), outbox.Envelope{EventID: "E1", Kind: events.KindRepairOrderClosed, Payload: []byte(`"x"`)}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			ct := newCallbackTest(t, t0)
			ct.sendAt(t0, c.env)
			ct.sendAt(t0.Add(time.Minute), roClosed("E2", t0)) // not looked at
			res := ct.runOK(c.in)
			if a := ct.activities(); len(a) != 0 {
				t.Errorf("activities %v", a)
			}
			if res.Outcome != "no_source" || res.Reason == "" {
				t.Errorf("result %+v", res)
			}
		})
	}
}

// A second run for a source whose task ended (a late redelivery after the
// first run finished) ends at once.
func TestTaskAlreadyEndedEndsTheRun(t *testing.T) {
	ct := newCallbackTest(t, t0)
	ct.wf.task = &callbackv1.CallbackTask{Id: testTask, Dealer: testDealer, Status: callbackv1.CallbackStatus_CALLBACK_STATUS_COMPLETED}
	ct.sendAt(t0, roClosed("E1", t0))
	ct.sendAt(wall("2026-03-12 11:00"), completed("C1", t0, 10, false))
	res := ct.runOK(start3DC())
	expect(t, "activities", ct.activities(), []string{
		"GetCallbackSchedule @ 2026-03-09 10:00 Mon",
		"CheckCallConsent @ 2026-03-12 10:00 Thu",
		"EnsureCallbackTask @ 2026-03-12 10:00 Thu",
	})
	if res.Outcome != StatusCompleted {
		t.Errorf("result %+v", res)
	}
}

func TestNewCustomerIsKeyedByTheCustomer(t *testing.T) {
	ct := newCallbackTest(t, t0)
	ct.sendAt(t0, delivered("E1", t0))
	ct.sendAt(wall("2026-03-12 12:00"), cancelled("E2", wall("2026-03-12 12:00")))
	ct.runOK(Input{CallbackStart: events.CallbackStart{Kind: events.CallbackNewCustomer, Dealer: testDealer, SourceType: events.SourceCustomer, SourceID: testCustomer}})
	ensures, _, _, _ := ct.wf.snapshot()
	if e := ensures[0]; e.GetSourceType() != events.SourceCustomer || e.GetSourceId() != testCustomer || e.GetKind() != callbackv1.CallbackKind_CALLBACK_KIND_NEW_CUSTOMER {
		t.Errorf("ensure %v", e)
	}
}

// A start without input (a bare signal) takes kind and source from the
// workflow id.
func TestStartWithoutInputUsesTheWorkflowID(t *testing.T) {
	ct := newCallbackTest(t, t0)
	ct.env.SetStartWorkflowOptions(clientStartOptions(events.CallbackWorkflowID(events.Callback3DC, testRO)))
	ct.sendAt(t0, roClosed("E1", t0))
	ct.sendAt(wall("2026-03-12 12:00"), cancelled("E2", wall("2026-03-12 12:00")))
	ct.runOK(Input{})
	ensures, _, _, _ := ct.wf.snapshot()
	if e := ensures[0]; e.GetSourceId() != testRO || e.GetDealer() != testDealer || e.GetWorkflowId() != "callback/3DC/RO-1" {
		t.Errorf("ensure %v", e)
	}
}

func TestEventCapFailsTheRun(t *testing.T) {
	ct := newCallbackTest(t, t0)
	ev := roClosed("E1", t0)
	for i := range 5 {
		ct.sendAt(t0.Add(time.Duration(i)*time.Minute), ev)
	}
	in := start3DC()
	in.MaxEvents = 4
	_, err := ct.run(in)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrTypeTooManyEvents {
		t.Fatalf("error %v, want %s", err, ErrTypeTooManyEvents)
	}
}

func TestUnusableScheduleFailsTheRun(t *testing.T) {
	ct := newCallbackTest(t, t0)
	ct.wf.schedule.CallingEnd = "25:00"
	ct.sendAt(t0, roClosed("E1", t0))
	_, err := ct.run(start3DC())
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrTypeInvalidSchedule {
		t.Fatalf("error %v, want %s", err, ErrTypeInvalidSchedule)
	}
}

func TestQueryState(t *testing.T) {
	ct := newCallbackTest(t, t0)
	ct.sendAt(t0, roClosed("E1", t0))
	a1 := wall("2026-03-12 11:00")
	ct.sendAt(a1, attempted("A1", 1, "no_answer", a1, time.Time{}))
	var s State
	ct.doAt(wall("2026-03-12 12:00"), func() {
		v, err := ct.env.QueryWorkflow(QueryState)
		if err != nil {
			t.Error(err)
			return
		}
		if err := v.Get(&s); err != nil {
			t.Error(err)
		}
	})
	ct.sendAt(wall("2026-03-12 13:00"), cancelled("E2", wall("2026-03-12 13:00")))
	ct.runOK(start3DC())
	if s.Phase != PhaseOpen || s.Task == nil || s.Task.ID != testTask || s.Unreached != 1 || !slices.Equal(s.Attempts, []int{1}) ||
		inShanghai(s.NextRetry) != "2026-03-13 11:00 Fri" || inShanghai(s.Due) != "2026-03-12 10:00 Thu" {
		t.Errorf("state %+v", s)
	}
}

// A visit recorded long after it happened (a backfill, an import) whose
// callback window is already over makes no task.
func TestSourceAfterTheWindowMakesNoTask(t *testing.T) {
	ct := newCallbackTest(t, t0)
	ct.sendAt(t0, roClosed("E1", t0.Add(-30*24*time.Hour)))
	res := ct.runOK(start3DC())
	expect(t, "activities", ct.activities(), []string{"GetCallbackSchedule @ 2026-03-09 10:00 Mon"})
	if res.Outcome != "too_late" {
		t.Errorf("result %+v, want too_late", res)
	}
}
