package complaint

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	"github.com/dealercare/dealercare/pkg/calendar"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// t0 is a Monday morning; the 24x7 tests count from it.
var t0 = time.Date(2026, 3, 9, 1, 0, 0, 0, time.UTC)

// escalationTest runs one workflow run in the time-skipping test
// environment, started at start.
type escalationTest struct {
	t       *testing.T
	env     *testsuite.TestWorkflowEnvironment
	start   time.Time
	clock   *fakeClockService
	network *fakeNetwork

	mu    sync.Mutex
	calls []call
}

// call is an activity as it started: its name, the workflow's clock then
// and, for RecordClockEvent, its input.
type call struct {
	activity string
	now      time.Time
	record   RecordInput
}

func newEscalationTest(t *testing.T, start time.Time, p *complaintv1.SlaPolicy, cals map[string]calendar.Spec) *escalationTest {
	var s testsuite.WorkflowTestSuite
	et := &escalationTest{
		t: t, env: s.NewTestWorkflowEnvironment(), start: start,
		clock: newFakeClockService(testOrigin, p), network: newFakeNetwork(cals),
	}
	et.env.SetStartTime(start)
	register(et.env, et.clock, et.network)
	started := func(c call) {
		c.now = et.env.Now()
		et.mu.Lock()
		et.calls = append(et.calls, c)
		et.mu.Unlock()
	}
	// Runs before changeLocalActivities call activities, later runs local
	// activities; a test sees both alike.
	et.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		c := call{activity: info.ActivityType.Name}
		if c.activity == "RecordClockEvent" {
			if err := args.Get(&c.record); err != nil {
				t.Error(err)
			}
		}
		started(c)
	})
	et.env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, args []any) {
		c := call{activity: info.ActivityType.Name}
		if in, ok := args[0].(RecordInput); ok {
			c.record = in
		}
		started(c)
	})
	return et
}

// send delivers e d after the start; e.at defaults to that moment and
// e.created to the start.
func (et *escalationTest) send(d time.Duration, e event) {
	env := et.envelope(d, e)
	et.env.RegisterDelayedCallback(func() { et.env.SignalWorkflow(events.ComplaintSignal, env) }, d)
}

// envelope is e as the relay delivers it d after the start: at that
// moment and about a complaint filed at the start, unless e says otherwise.
func (et *escalationTest) envelope(d time.Duration, e event) outbox.Envelope {
	if e.at.IsZero() {
		e.at = et.start.Add(d)
	}
	if e.created.IsZero() {
		e.created = et.start
	}
	return e.envelope()
}

// sendTogether delivers events in one callback d after the start. At 0,
// before the workflow's first task, it takes them in one batch, as it
// takes events that piled up before a worker picked it up.
func (et *escalationTest) sendTogether(d time.Duration, evs ...event) {
	var envs []outbox.Envelope
	for _, e := range evs {
		envs = append(envs, et.envelope(d, e))
	}
	et.env.RegisterDelayedCallback(func() {
		for _, env := range envs {
			et.env.SignalWorkflow(events.ComplaintSignal, env)
		}
	}, d)
}

// sendEnvelope delivers env as is d after the start.
func (et *escalationTest) sendEnvelope(d time.Duration, env outbox.Envelope) {
	et.env.RegisterDelayedCallback(func() { et.env.SignalWorkflow(events.ComplaintSignal, env) }, d)
}

// query reads the state d after the start into s.
func (et *escalationTest) query(d time.Duration, s *State) {
	et.env.RegisterDelayedCallback(func() {
		v, err := et.env.QueryWorkflow(QueryState)
		if err != nil {
			et.t.Error(err)
			return
		}
		if err := v.Get(s); err != nil {
			et.t.Error(err)
		}
	}, d)
}

// run executes the workflow to its end and returns its error.
func (et *escalationTest) run(in Input) error {
	et.t.Helper()
	if in.ComplaintID == "" {
		in.ComplaintStart = events.ComplaintStart{ComplaintID: testComplaint, OriginDealer: testOrigin}
	}
	et.env.ExecuteWorkflow(events.ComplaintWorkflowType, in)
	if !et.env.IsWorkflowCompleted() {
		et.t.Fatal("workflow did not end")
	}
	return et.env.GetWorkflowError()
}

// runToEnd expects the workflow to complete.
func (et *escalationTest) runToEnd(in Input) {
	et.t.Helper()
	if err := et.run(in); err != nil {
		et.t.Fatalf("workflow error: %v", err)
	}
}

// recorded lists the recorded clock events as "key L<level> +<offset from
// the start>", and checks each was recorded once, as the kind its key
// names.
func (et *escalationTest) recorded() []string {
	et.t.Helper()
	var out []string
	seen := map[string]bool{}
	for _, r := range et.clock.recorded() {
		if seen[r.GetKey()] {
			et.t.Errorf("%s recorded twice", r.GetKey())
		}
		seen[r.GetKey()] = true
		if r.GetComplaint() != testComplaint || r.GetKind() != kindOf(r.GetKey()) {
			et.t.Errorf("%s recorded as %s for complaint %q", r.GetKey(), r.GetKind(), r.GetComplaint())
		}
		out = append(out, fmt.Sprintf("%s L%d +%s", r.GetKey(), r.GetLevel(), r.GetTime().AsTime().Sub(et.start)))
	}
	return out
}

// onTime checks that the workflow's clock at each RecordClockEvent was the
// instant it records: the timer woke it exactly then.
func (et *escalationTest) onTime() {
	et.t.Helper()
	et.mu.Lock()
	defer et.mu.Unlock()
	for _, c := range et.calls {
		if c.activity == "RecordClockEvent" && !c.now.Equal(c.record.Time) {
			et.t.Errorf("%s recorded with time %s while the workflow clock said %s", c.record.Key, c.record.Time, c.now)
		}
	}
}

// kindOf is the kind a key must be recorded as.
func kindOf(key string) string {
	if strings.HasPrefix(key, "escalated/") {
		return "escalated"
	}
	return key[strings.LastIndex(key, "/")+1:]
}

func (et *escalationTest) activityCalls(name string) int {
	et.mu.Lock()
	defer et.mu.Unlock()
	n := 0
	for _, c := range et.calls {
		if c.activity == name {
			n++
		}
	}
	return n
}

func expect(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("recorded\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func created() event { return event{version: 1, change: "created", state: events.ComplaintNew} }

func closedAt(v int64) event {
	return event{version: v, change: "closed", state: events.ComplaintClosed}
}

func resolvedAt(v int64) event {
	return event{version: v, change: "resolved", state: events.ComplaintResolved}
}

// The whole ladder of a 24x7 demo policy (high: 10s response, 20s
// resolution, warnings at 80 %): L1 at 10s, L2 at 20s, L3 at 40s, L4 at 60s.
var fullLadder = []string{
	"response/warned L0 +8s",
	"response/breached L1 +10s",
	"escalated/L1 L1 +10s",
	"resolution/1/warned L1 +16s",
	"resolution/1/breached L2 +20s",
	"escalated/L2 L2 +20s",
	"resolution/2/warned L2 +32s",
	"resolution/2/breached L3 +40s",
	"escalated/L3 L3 +40s",
	"resolution/3/warned L3 +48s",
	"resolution/3/breached L4 +1m0s",
	"escalated/L4 L4 +1m0s",
}

func TestLadder24x7(t *testing.T) {
	et := newEscalationTest(t, t0, seconds, map[string]calendar.Spec{testOrigin: alwaysOpen})
	et.send(0, created())
	var during State
	et.query(25*time.Second, &during)
	et.send(10*time.Minute, resolvedAt(2))
	et.send(11*time.Minute, closedAt(3))
	et.runToEnd(Input{})

	expect(t, et.recorded(), fullLadder)
	et.onTime()
	if n := et.clock.recordAttempts(); n != len(fullLadder) {
		t.Errorf("%d RecordClockEvent calls, want %d", n, len(fullLadder))
	}
	if during.Level != 2 || during.Next == nil || during.Next.Key != "resolution/2/warned" ||
		!during.Next.Due.Equal(t0.Add(32*time.Second)) || during.Clock.ResolutionElapsed != 25*time.Second {
		t.Errorf("state at 25s = %+v, next %+v", during, during.Next)
	}
	if n := et.activityCalls("LoadClockInput"); n != 1 {
		t.Errorf("%d LoadClockInput calls, want 1", n)
	}
	if c := et.network.calendarCalls(); !slices.Equal(c, []string{testOrigin}) {
		t.Errorf("calendar loads %v", c)
	}
	// The breaches fall on the deadlines written at the start: the ladder
	// writes no more.
	if got := et.clock.deadlinesSet(); len(got) != 1 {
		t.Errorf("deadlines written %q, want once", got)
	}
}

func TestAcknowledgeStopsTheResponseClock(t *testing.T) {
	et := newEscalationTest(t, t0, seconds, map[string]calendar.Spec{testOrigin: alwaysOpen})
	et.send(0, created())
	et.send(9*time.Second, event{version: 2, change: "acknowledged", state: events.ComplaintAcknowledged})
	et.send(18*time.Second, event{version: 3, change: "started", state: events.ComplaintInProgress})
	et.send(25*time.Second, resolvedAt(4))
	et.send(time.Hour, closedAt(5))
	et.runToEnd(Input{})
	expect(t, et.recorded(), []string{
		"response/warned L0 +8s",
		"resolution/1/warned L0 +16s",
		"resolution/1/breached L2 +20s",
		"escalated/L2 L2 +20s",
	})
}

func TestPendingCustomerHoldsTheClockUntilResumed(t *testing.T) {
	et := newEscalationTest(t, t0, seconds, map[string]calendar.Spec{testOrigin: alwaysOpen})
	et.send(0, created())
	et.send(2*time.Second, event{version: 2, change: "acknowledged", state: events.ComplaintAcknowledged})
	et.send(3*time.Second, event{version: 3, change: "started", state: events.ComplaintInProgress})
	et.send(12*time.Second, event{version: 4, change: "paused", state: events.ComplaintPendingCustomer})
	var paused State
	et.query(time.Hour, &paused)
	et.send(2*time.Hour, event{version: 5, change: "resumed", state: events.ComplaintInProgress})
	et.send(2*time.Hour+30*time.Second, resolvedAt(6))
	et.send(3*time.Hour, closedAt(7))
	et.runToEnd(Input{})

	resumed := 2 * time.Hour
	expect(t, et.recorded(), []string{
		fmt.Sprintf("resolution/1/warned L0 +%s", resumed+4*time.Second), // 12s elapsed before the pause; warning at 16s
		fmt.Sprintf("resolution/1/breached L2 +%s", resumed+8*time.Second),
		fmt.Sprintf("escalated/L2 L2 +%s", resumed+8*time.Second),
		fmt.Sprintf("resolution/2/warned L2 +%s", resumed+20*time.Second),
		fmt.Sprintf("resolution/2/breached L3 +%s", resumed+28*time.Second),
		fmt.Sprintf("escalated/L3 L3 +%s", resumed+28*time.Second),
	})
	et.onTime()
	if paused.Next != nil || paused.Clock.ResolutionRunning || paused.Clock.ResolutionElapsed != 12*time.Second || paused.Status != events.ComplaintPendingCustomer {
		t.Errorf("state while paused = %+v, next %+v", paused, paused.Next)
	}
}

func TestSeverityChangeReloadsTheTargets(t *testing.T) {
	et := newEscalationTest(t, t0, seconds, map[string]calendar.Spec{testOrigin: alwaysOpen})
	et.send(0, created())
	// Raised to critical (4s response, 8s resolution) at 5s: the response
	// breach is already due, its warning moot.
	et.send(5*time.Second, event{version: 2, change: "severity_changed", state: events.ComplaintNew, severity: "critical"})
	et.send(9*time.Second, event{version: 3, change: "acknowledged", state: events.ComplaintAcknowledged, severity: "critical"})
	et.send(13*time.Second, event{version: 4, change: "resolved", state: events.ComplaintResolved, severity: "critical"})
	et.send(time.Hour, event{version: 5, change: "closed", state: events.ComplaintClosed, severity: "critical"})
	var after State
	et.query(6*time.Second, &after)
	et.runToEnd(Input{})
	expect(t, et.recorded(), []string{
		"response/breached L1 +5s",
		"escalated/L1 L1 +5s",
		"resolution/1/warned L1 +6.4s",
		"resolution/1/breached L2 +8s",
		"escalated/L2 L2 +8s",
		"resolution/2/warned L2 +12.8s",
	})
	et.onTime()
	if n := et.activityCalls("LoadClockInput"); n != 2 {
		t.Errorf("%d LoadClockInput calls, want 2 (start and severity change)", n)
	}
	if after.Severity != "critical" || after.Policy == nil || after.Next == nil || after.Next.Key != "resolution/1/warned" {
		t.Errorf("state after the change = %+v, next %+v", after, after.Next)
	}
}

// A complaint keeps the SLA policy it was filed under: an edit of the
// policy meanwhile changes nothing, and a policy_changed event (nothing
// sends one; runs from before changeIgnorePolicyChanged reloaded on it)
// loads nothing.
func TestPolicyChangedEventKeepsThePolicy(t *testing.T) {
	et := newEscalationTest(t, t0, seconds, map[string]calendar.Spec{testOrigin: alwaysOpen})
	et.send(0, created())
	et.env.RegisterDelayedCallback(func() {
		et.clock.setPolicy(policy(time.Minute, 2*time.Minute, time.Minute, 2*time.Minute))
	}, 2*time.Second)
	et.send(3*time.Second, event{version: 2, change: "policy_changed", state: events.ComplaintNew})
	et.send(9*time.Second, event{version: 3, change: "acknowledged", state: events.ComplaintAcknowledged})
	et.send(15*time.Second, resolvedAt(4))
	et.send(time.Hour, closedAt(5))
	et.runToEnd(Input{})
	expect(t, et.recorded(), []string{
		"response/warned L0 +8s",
	})
	if n := et.activityCalls("LoadClockInput"); n != 1 {
		t.Errorf("%d LoadClockInput calls, want 1 (at the start only)", n)
	}
}

func TestTransferContinuesOnTheNewOwnersCalendar(t *testing.T) {
	// Filed Monday 17:00 at D001 (09:00-18:00); transferred at 17:30 to
	// D002, open 24x7. 30 minutes of the 2-hour response target are gone;
	// the other 90 run on D002's calendar: breach at 19:00, not Tuesday.
	start := wall("2026-03-09 17:00")
	p := policy(2*time.Hour, 24*time.Hour, time.Hour, 8*time.Hour)
	et := newEscalationTest(t, start, p, map[string]calendar.Spec{testOrigin: officeHours, "D002": calendar.AlwaysOpen(shanghai).Spec()})
	et.send(0, created())
	et.send(30*time.Minute, event{version: 2, change: "transferred", state: events.ComplaintNew, dealer: "D002"})
	et.send(3*time.Hour, event{version: 3, change: "acknowledged", state: events.ComplaintAcknowledged, dealer: "D002"})
	et.send(4*time.Hour, event{version: 4, change: "resolved", state: events.ComplaintResolved, dealer: "D002"})
	et.send(5*time.Hour, event{version: 5, change: "closed", state: events.ComplaintClosed, dealer: "D002"})
	et.runToEnd(Input{})

	expect(t, et.recorded(), []string{
		"response/warned L0 +1h36m0s",
		"response/breached L1 +2h0m0s",
		"escalated/L1 L1 +2h0m0s",
	})
	et.onTime()
	for _, r := range et.clock.recorded() {
		if r.GetDealer() != "D002" {
			t.Errorf("%s recorded for dealer %s, want the new owner D002", r.GetKey(), r.GetDealer())
		}
	}
	if c := et.network.calendarCalls(); !slices.Equal(c, []string{testOrigin, "D002"}) {
		t.Errorf("calendar loads %v", c)
	}
	if n := et.activityCalls("LoadClockInput"); n != 2 {
		t.Errorf("%d LoadClockInput calls, want 2 (the new owner's policy)", n)
	}
}

func TestManualEscalationAdoptsTheLevel(t *testing.T) {
	et := newEscalationTest(t, t0, seconds, map[string]calendar.Spec{testOrigin: alwaysOpen})
	et.send(0, created())
	// The customer escalates at 3s (L1) and again at 25s (to L3); the
	// service raised the level and wrote the timeline.
	et.send(3*time.Second, event{version: 2, change: "escalated", state: events.ComplaintNew, level: 1})
	et.send(25*time.Second, event{version: 3, change: "escalated", state: events.ComplaintNew, level: 3})
	var after State
	et.query(26*time.Second, &after)
	et.send(10*time.Minute, resolvedAt(4))
	et.send(11*time.Minute, closedAt(5))
	et.runToEnd(Input{})
	expect(t, et.recorded(), []string{
		"response/warned L1 +8s",
		"response/breached L1 +10s", // already at L1: no escalation
		"resolution/1/warned L1 +16s",
		"resolution/1/breached L2 +20s",
		"escalated/L2 L2 +20s",
		"resolution/2/warned L3 +32s",
		"resolution/2/breached L3 +40s", // already at L3
		"resolution/3/warned L3 +48s",
		"resolution/3/breached L4 +1m0s",
		"escalated/L4 L4 +1m0s",
	})
	et.onTime()
	if after.Level != 3 {
		t.Errorf("level after the second escalation = %d", after.Level)
	}
}

func TestResolveStopsTheClocks(t *testing.T) {
	et := newEscalationTest(t, t0, seconds, map[string]calendar.Spec{testOrigin: alwaysOpen})
	et.send(0, created())
	et.send(12*time.Second, resolvedAt(2))
	var resolved State
	et.query(time.Hour, &resolved)
	et.send(48*time.Hour, closedAt(3))
	et.runToEnd(Input{})
	expect(t, et.recorded(), []string{
		"response/warned L0 +8s",
		"response/breached L1 +10s",
		"escalated/L1 L1 +10s",
	})
	if resolved.Next != nil || resolved.Clock.ResolutionRunning || resolved.Clock.ResolutionElapsed != 12*time.Second {
		t.Errorf("state once resolved = %+v", resolved)
	}
}

func TestReopenedRunsTheResolutionClockAgain(t *testing.T) {
	et := newEscalationTest(t, t0, seconds, map[string]calendar.Spec{testOrigin: alwaysOpen})
	et.send(0, created())
	et.send(5*time.Second, event{version: 2, change: "acknowledged", state: events.ComplaintAcknowledged})
	et.send(15*time.Second, resolvedAt(3))
	et.send(time.Hour, event{version: 4, change: "reopened", state: events.ComplaintReopened})
	et.send(time.Hour+10*time.Second, resolvedAt(5))
	et.send(2*time.Hour, closedAt(6))
	et.runToEnd(Input{})
	expect(t, et.recorded(), []string{
		"resolution/1/warned L0 +1h0m1s",
		"resolution/1/breached L2 +1h0m5s",
		"escalated/L2 L2 +1h0m5s",
	})
}

func TestCloseCompletesAfterTheGracePeriod(t *testing.T) {
	et := newEscalationTest(t, t0, seconds, map[string]calendar.Spec{testOrigin: alwaysOpen})
	et.send(0, created())
	et.send(5*time.Second, event{version: 2, change: "acknowledged", state: events.ComplaintAcknowledged})
	et.send(6*time.Second, resolvedAt(3))
	closing := closedAt(4)
	et.send(time.Minute, closing)
	// Stray events in the grace period: a redelivery of the close, and a
	// late assignment.
	closing.at = t0.Add(time.Minute)
	closing.created = t0
	et.sendEnvelope(2*time.Minute, closing.envelope())
	et.send(time.Hour, event{version: 5, change: "assigned", state: events.ComplaintClosed})
	var during State
	et.query(23*time.Hour, &during)
	et.runToEnd(Input{})

	if end := et.env.Now(); !end.Equal(t0.Add(time.Minute + DefaultGrace)) {
		t.Errorf("completed at +%s, want 24h after the close", end.Sub(t0))
	}
	if during.Status != events.ComplaintClosed || during.Redeliveries != 1 || during.Applied != 5 ||
		!during.CompleteAt.Equal(t0.Add(time.Minute+DefaultGrace)) {
		t.Errorf("state in the grace period = %+v", during)
	}
	expect(t, et.recorded(), nil)
}

func TestDuplicateEventIgnored(t *testing.T) {
	et := newEscalationTest(t, t0, seconds, map[string]calendar.Spec{testOrigin: alwaysOpen})
	et.send(0, created())
	ack := event{version: 2, change: "acknowledged", state: events.ComplaintAcknowledged, at: t0.Add(5 * time.Second), created: t0}
	et.sendEnvelope(5*time.Second, ack.envelope())
	et.sendEnvelope(7*time.Second, ack.envelope()) // redelivered by a relay that died before committing
	et.sendEnvelope(7*time.Second, ack.envelope())
	var s State
	et.query(8*time.Second, &s)
	et.send(12*time.Second, resolvedAt(3))
	et.send(time.Hour, closedAt(4))
	et.runToEnd(Input{})
	if s.Applied != 2 || s.Redeliveries != 2 || s.Ignored != 0 || s.Version != 2 {
		t.Errorf("state = %+v", s)
	}
	expect(t, et.recorded(), nil)
}

func TestOlderVersionIgnored(t *testing.T) {
	et := newEscalationTest(t, t0, seconds, map[string]calendar.Spec{testOrigin: alwaysOpen})
	et.send(0, created())
	et.send(2*time.Second, event{version: 2, change: "acknowledged", state: events.ComplaintAcknowledged})
	// Version 4 (pending customer) overtakes version 3 (in progress).
	et.send(6*time.Second, event{version: 4, change: "paused", state: events.ComplaintPendingCustomer, at: t0.Add(5 * time.Second)})
	et.send(7*time.Second, event{version: 3, change: "started", state: events.ComplaintInProgress, at: t0.Add(4 * time.Second)})
	var s State
	et.query(time.Hour, &s)
	et.send(2*time.Hour, event{version: 5, change: "resumed", state: events.ComplaintInProgress})
	et.send(2*time.Hour+12*time.Second, resolvedAt(6))
	et.send(3*time.Hour, closedAt(7))
	et.runToEnd(Input{})
	if s.Status != events.ComplaintPendingCustomer || s.Version != 4 || s.Ignored != 1 || s.Clock.ResolutionRunning ||
		s.Clock.ResolutionElapsed != 5*time.Second {
		t.Errorf("state = %+v", s)
	}
	expect(t, et.recorded(), []string{"resolution/1/warned L0 +2h0m11s"})
}

func TestBatchAppliedInVersionOrder(t *testing.T) {
	// Events that arrive together are applied by version, whatever their
	// order in the channel.
	et := newEscalationTest(t, t0, seconds, map[string]calendar.Spec{testOrigin: alwaysOpen})
	et.send(0, created())
	paused := event{version: 4, change: "paused", state: events.ComplaintPendingCustomer, at: t0.Add(3 * time.Second), created: t0}
	started := event{version: 3, change: "started", state: events.ComplaintInProgress, at: t0.Add(2 * time.Second), created: t0}
	ack := event{version: 2, change: "acknowledged", state: events.ComplaintAcknowledged, at: t0.Add(time.Second), created: t0}
	et.env.RegisterDelayedCallback(func() {
		et.env.SignalWorkflowSkippingWorkflowTask(events.ComplaintSignal, paused.envelope())
		et.env.SignalWorkflowSkippingWorkflowTask(events.ComplaintSignal, started.envelope())
		et.env.SignalWorkflow(events.ComplaintSignal, ack.envelope())
	}, 4*time.Second)
	var s State
	et.query(time.Minute, &s)
	et.send(2*time.Minute, resolvedAt(5))
	et.send(3*time.Minute, closedAt(6))
	et.runToEnd(Input{})
	if s.Status != events.ComplaintPendingCustomer || s.Version != 4 || s.Applied != 4 || s.Ignored != 0 || s.Clock.ResolutionElapsed != 3*time.Second {
		t.Errorf("state = %+v", s)
	}
	expect(t, et.recorded(), nil)
}

func TestBreachOnMondayForAComplaintFiledFridayEvening(t *testing.T) {
	// Friday 17:55 on a Monday-Friday 09:00-18:00 calendar, 2 business
	// hours to respond: 5 minutes on Friday, 1h55 on Monday.
	start := wall("2026-03-06 17:55")
	p := policy(2*time.Hour, 3*24*time.Hour, time.Hour, 24*time.Hour)
	et := newEscalationTest(t, start, p, map[string]calendar.Spec{testOrigin: officeHours})
	et.send(0, created())
	var weekend State
	et.query(24*time.Hour, &weekend)
	et.send(wall("2026-03-09 11:30").Sub(start), event{version: 2, change: "acknowledged", state: events.ComplaintAcknowledged})
	et.send(wall("2026-03-09 12:00").Sub(start), resolvedAt(3))
	et.send(wall("2026-03-09 13:00").Sub(start), closedAt(4))
	et.runToEnd(Input{})

	var breach *call
	et.mu.Lock()
	for i, c := range et.calls {
		if c.record.Key == "response/breached" {
			breach = &et.calls[i]
		}
	}
	et.mu.Unlock()
	if breach == nil {
		t.Fatal("no breach recorded")
	}
	if want := wall("2026-03-09 10:55"); !breach.record.Time.Equal(want) || !breach.now.Equal(want) {
		t.Errorf("breach recorded with time %s at workflow time %s, want both %s",
			breach.record.Time.In(shanghai), breach.now.In(shanghai), want)
	}
	if breach.record.Level != 1 || breach.record.Kind != "breached" || breach.record.Dealer != testOrigin {
		t.Errorf("breach = %+v", breach.record)
	}
	got := et.recorded()
	expect(t, got, []string{
		"response/warned L0 +64h36m0s", // Monday 10:31
		"response/breached L1 +65h0m0s",
		"escalated/L1 L1 +65h0m0s",
	})
	et.onTime()
	if weekend.Next == nil || weekend.Next.Key != "response/warned" || !weekend.Next.Due.Equal(wall("2026-03-09 10:31")) {
		t.Errorf("next over the weekend = %+v", weekend.Next)
	}
}

// The deadlines go onto the complaint when they change, and only then: not
// at a warning or a breach, which the clocks had already counted on.
func TestDeadlinesWrittenWhenTheyChange(t *testing.T) {
	// Friday 17:55, Monday-Friday 09:00-18:00: 2 business hours to respond
	// (Monday 10:55), 8 to resolve (Monday 16:55).
	start := wall("2026-03-06 17:55")
	p := policy(2*time.Hour, 8*time.Hour, time.Hour, 4*time.Hour)
	et := newEscalationTest(t, start, p, map[string]calendar.Spec{testOrigin: officeHours})
	et.send(0, created())
	at := func(s string) time.Duration { return wall(s).Sub(start) }
	et.send(at("2026-03-09 09:30"), event{version: 2, change: "acknowledged", state: events.ComplaintAcknowledged})
	et.send(at("2026-03-09 10:00"), event{version: 3, change: "paused", state: events.ComplaintPendingCustomer})
	et.send(at("2026-03-09 11:00"), event{version: 4, change: "resumed", state: events.ComplaintInProgress})
	// Critical from noon: 4 business hours, of which 2h05 have elapsed.
	et.send(at("2026-03-09 12:00"), event{version: 5, change: "severity_changed", state: events.ComplaintInProgress, severity: "critical"})
	var breached State
	et.query(at("2026-03-09 18:30"), &breached)
	et.send(at("2026-03-10 10:00"), resolvedAt(6))
	et.send(at("2026-03-10 11:00"), closedAt(7))
	et.runToEnd(Input{})

	expect(t, et.clock.deadlinesSet(), []string{
		"Mon 10:55 Mon 16:55", // filed
		"Mon 10:55 -",         // paused: the resolution deadline moves
		"Mon 10:55 Mon 17:55", // resumed an hour later
		"Mon 10:55 Mon 13:55", // critical
		// Breached at Monday 13:55 (and the next multiple at 17:55): the
		// deadline stays, and resolving keeps it.
	})
	if !slices.Contains(et.recorded(), "resolution/1/breached L2 +"+wall("2026-03-09 13:55").Sub(start).String()) {
		t.Errorf("recorded %q", et.recorded())
	}
	if want := (Deadlines{Response: wall("2026-03-09 10:55").UTC(), Resolution: wall("2026-03-09 13:55").UTC()}); !breached.Deadlines.Equal(want) {
		t.Errorf("deadlines after the breach = %+v, want %+v", breached.Deadlines, want)
	}
	for _, r := range et.clock.deadlines {
		if r.GetComplaint() != testComplaint {
			t.Errorf("deadlines set for complaint %q", r.GetComplaint())
		}
	}
}

// The complaint is filed and acknowledged before the workflow's first
// task runs (a busy worker, or Temporal down): both events arrive in one
// batch. The response clock it never saw running still gets its deadline,
// counted from the filing.
func TestDeadlineOfAClockStoppedInTheFirstBatch(t *testing.T) {
	start := wall("2026-03-06 17:55")
	p := policy(2*time.Hour, 8*time.Hour, time.Hour, 4*time.Hour)
	et := newEscalationTest(t, start, p, map[string]calendar.Spec{testOrigin: officeHours})
	et.sendTogether(0,
		event{version: 1, change: "created", state: events.ComplaintNew, at: start},
		event{version: 2, change: "acknowledged", state: events.ComplaintAcknowledged, at: start})
	et.send(time.Hour, resolvedAt(3))
	et.send(2*time.Hour, closedAt(4))
	et.runToEnd(Input{})
	expect(t, et.clock.deadlinesSet(), []string{
		"Mon 10:55 Mon 16:55", // both, in one write; resolving keeps them
	})
}

func TestStartedLateCatchesUpWithExactInstants(t *testing.T) {
	// Temporal was down when the complaint was filed: the relay starts the
	// workflow 25s later. What fell due meanwhile is recorded with the
	// instants it fell due at, in order.
	et := newEscalationTest(t, t0, seconds, map[string]calendar.Spec{testOrigin: alwaysOpen})
	et.send(25*time.Second, event{version: 1, change: "created", state: events.ComplaintNew, at: t0})
	et.send(26*time.Second, resolvedAt(2))
	et.send(time.Hour, closedAt(3))
	et.runToEnd(Input{})
	expect(t, et.recorded(), fullLadder[:6])
	et.mu.Lock()
	defer et.mu.Unlock()
	for _, c := range et.calls {
		if c.activity == "RecordClockEvent" && !c.now.Equal(t0.Add(25*time.Second)) {
			t.Errorf("%s called at +%s, want all at +25s", c.record.Key, c.now.Sub(t0))
		}
	}
}

func TestTransientErrorsAreRetried(t *testing.T) {
	et := newEscalationTest(t, t0, seconds, map[string]calendar.Spec{testOrigin: alwaysOpen})
	et.clock.recordErrs = []error{
		status.Error(codes.Unavailable, "complaint service restarting"),
		status.Error(codes.DeadlineExceeded, "slow"),
		status.Error(codes.Unauthenticated, "token being rotated"),
	}
	et.send(0, created())
	et.send(9*time.Second, event{version: 2, change: "acknowledged", state: events.ComplaintAcknowledged})
	et.send(12*time.Second, resolvedAt(3))
	et.send(time.Hour, closedAt(4))
	var s State
	et.query(30*time.Minute, &s)
	et.runToEnd(Input{})
	if got := et.clock.recorded(); len(got) != 1 || got[0].GetKey() != "response/warned" || !got[0].GetTime().AsTime().Equal(t0.Add(8*time.Second)) {
		t.Errorf("recorded %v", got)
	}
	if n := et.clock.recordAttempts(); n != 4 {
		t.Errorf("%d attempts, want 4", n)
	}
	if s.RecordError != "" {
		t.Errorf("RecordError = %q", s.RecordError)
	}
}

func TestRefusalsAreNotRetried(t *testing.T) {
	for _, code := range []codes.Code{codes.PermissionDenied, codes.InvalidArgument, codes.NotFound} {
		t.Run(code.String(), func(t *testing.T) {
			et := newEscalationTest(t, t0, seconds, map[string]calendar.Spec{testOrigin: alwaysOpen})
			et.clock.recordErrs = []error{status.Error(code, "refused")}
			et.send(0, created())
			et.send(12*time.Second, resolvedAt(2))
			et.send(time.Hour, closedAt(3))
			var s State
			et.query(9*time.Second, &s)
			et.runToEnd(Input{})
			// The warning was refused, the ladder went on.
			expect(t, et.recorded(), []string{"response/breached L1 +10s", "escalated/L1 L1 +10s"})
			if n := et.clock.recordAttempts(); n != 3 {
				t.Errorf("%d attempts, want 3", n)
			}
			if !strings.Contains(s.RecordError, "refused") || !slices.Contains(s.Fired, "response/warned") {
				t.Errorf("state = %+v", s)
			}
		})
	}
}

func TestMissingCalendarRetriedAndCaughtUp(t *testing.T) {
	// The dealer's calendar is missing (NotFound, not retried) until an
	// operator fixes it after 90s; the next hourly retry loads it and the
	// clock catches up with the instants the thresholds fell due at.
	et := newEscalationTest(t, t0, seconds, map[string]calendar.Spec{})
	et.send(0, created())
	var broken State
	et.query(30*time.Second, &broken)
	et.env.RegisterDelayedCallback(func() { et.network.set(testOrigin, alwaysOpen) }, 90*time.Second)
	et.send(2*time.Hour, resolvedAt(2))
	et.send(3*time.Hour, closedAt(3))
	et.runToEnd(Input{})
	expect(t, et.recorded(), fullLadder)
	if !broken.ReloadCalendar || !strings.Contains(broken.LoadError, "not found") || !broken.RetryLoadAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("state before the fix = %+v", broken)
	}
	if c := et.network.calendarCalls(); len(c) != 2 {
		t.Errorf("calendar loads %v, want the failed one and the retry", c)
	}
	et.mu.Lock()
	defer et.mu.Unlock()
	for _, c := range et.calls {
		if c.activity == "RecordClockEvent" && !c.now.Equal(t0.Add(time.Hour)) {
			t.Errorf("%s called at +%s, want at the retry", c.record.Key, c.now.Sub(t0))
		}
	}
}

func TestEventOfAnotherComplaintIgnored(t *testing.T) {
	et := newEscalationTest(t, t0, seconds, map[string]calendar.Spec{testOrigin: alwaysOpen})
	et.send(0, created())
	et.send(time.Second, event{complaint: "C9999", version: 2, change: "resolved", state: events.ComplaintResolved})
	bad := outbox.Envelope{EventID: "bad", Kind: events.KindComplaintChanged, Payload: []byte(`{"version":"x"}`)}
	et.sendEnvelope(2*time.Second, bad)
	et.sendEnvelope(3*time.Second, outbox.Envelope{EventID: "other", Kind: "vehicle.delivered", Payload: []byte(`{}`)})
	var s State
	et.query(4*time.Second, &s)
	et.send(5*time.Second, resolvedAt(2))
	et.send(time.Hour, closedAt(3))
	et.runToEnd(Input{})
	if s.Ignored != 3 || s.Applied != 1 || s.Status != events.ComplaintNew {
		t.Errorf("state = %+v", s)
	}
}

// continued runs to a ContinueAsNew and returns the input it carried.
func (et *escalationTest) continued(in Input) Input {
	et.t.Helper()
	var can *workflow.ContinueAsNewError
	if err := et.run(in); !errors.As(err, &can) {
		et.t.Fatalf("workflow error = %v, want ContinueAsNew", err)
	}
	if can.WorkflowType.Name != events.ComplaintWorkflowType {
		et.t.Errorf("continued as %q", can.WorkflowType.Name)
	}
	var next Input
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		et.t.Fatal(err)
	}
	if next.State == nil {
		et.t.Fatal("no state carried")
	}
	return next
}

func TestContinueAsNewCarriesClockAndDedup(t *testing.T) {
	cals := map[string]calendar.Spec{testOrigin: alwaysOpen}
	et := newEscalationTest(t, t0, seconds, cals)
	et.send(0, created())
	ack := event{version: 2, change: "acknowledged", state: events.ComplaintAcknowledged, at: t0.Add(12 * time.Second), created: t0}
	et.sendEnvelope(12*time.Second, ack.envelope())
	next := et.continued(Input{MaxEvents: 2})
	s := next.State
	if next.ComplaintID != testComplaint || next.MaxEvents != 2 || next.Seen.Len() != 2 || s.Version != 2 || s.Level != 1 ||
		s.Clock.ResolutionElapsed != 12*time.Second || s.Calendar == nil || s.Policy == nil ||
		!slices.Equal(s.Fired, []string{"response/warned", "response/breached", "escalated/L1"}) {
		t.Fatalf("carried %+v, state %+v", next, s)
	}

	// The next run, 12s in, drops the redelivered acknowledgement and goes
	// on with the resolution clock without loading anything again.
	et2 := newEscalationTest(t, t0.Add(12*time.Second), seconds, cals)
	et2.sendEnvelope(time.Second, ack.envelope())
	et2.send(10*time.Second, resolvedAt(3))
	et2.send(time.Minute, closedAt(4))
	final := et2.continued(next) // MaxEvents again: after the redelivery and the resolution
	et2.start = t0
	expect(t, et2.recorded(), []string{
		"resolution/1/warned L1 +16s",
		"resolution/1/breached L2 +20s",
		"escalated/L2 L2 +20s",
	})
	et2.onTime()
	if fs := final.State; fs.Redeliveries != 1 || fs.Status != events.ComplaintResolved || final.Seen.Len() != 3 || fs.Level != 2 {
		t.Errorf("second run carried %+v", fs)
	}
	if n := et2.activityCalls("LoadClockInput") + et2.activityCalls("LoadCalendar"); n != 0 {
		t.Errorf("second run loaded %d times", n)
	}
}

func TestIDsFromWorkflowID(t *testing.T) {
	et := newEscalationTest(t, t0, seconds, map[string]calendar.Spec{testOrigin: alwaysOpen})
	et.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: events.ComplaintWorkflowID(testOrigin, testComplaint)})
	et.send(0, created())
	var s State
	et.query(time.Second, &s)
	et.send(2*time.Second, resolvedAt(2))
	et.send(time.Hour, closedAt(3))
	et.env.ExecuteWorkflow(events.ComplaintWorkflowType, Input{})
	if err := et.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if s.ComplaintID != testComplaint || s.OriginDealer != testOrigin || s.Applied != 1 {
		t.Errorf("state = %+v", s)
	}
}

func TestInputIsAComplaintStart(t *testing.T) {
	p, err := converter.GetDefaultDataConverter().ToPayloads(events.ComplaintStart{ComplaintID: testComplaint, OriginDealer: testOrigin})
	if err != nil {
		t.Fatal(err)
	}
	var in Input
	if err := converter.GetDefaultDataConverter().FromPayloads(p, &in); err != nil {
		t.Fatal(err)
	}
	if in.ComplaintID != testComplaint || in.OriginDealer != testOrigin || in.State != nil || in.MaxEvents != 0 || in.Grace != 0 {
		t.Errorf("input = %+v", in)
	}
}
