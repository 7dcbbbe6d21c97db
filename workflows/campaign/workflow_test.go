package campaign

import (
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/events"
	"go.temporal.io/sdk/testsuite"
)

var t0 = time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)

func newEnv(fake *service) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	register(env, &Activities{Campaigns: fake})
	return env
}

var ref = Ref{Owner: "HQ", Campaign: "c1"}

// TestCancelAfterSendEndsChases: a recall sent and chased, cancelled while
// the run waits for its next reconciliation, has its chase tasks ended at
// once (one more Chase, which for a cancelled recall ends them) and the run
// ends, long before its return window closes.
func TestCancelAfterSendEndsChases(t *testing.T) {
	fake := &service{windowEnd: t0.Add(30 * 24 * time.Hour)}
	env := newEnv(fake)
	var at time.Time
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(events.CampaignSignal, cancelled(ref)) }, 90*time.Minute)
	env.ExecuteWorkflow(events.CampaignWorkflowType, Input{CampaignStart: events.CampaignStart{Owner: ref.Owner, Campaign: ref.Campaign},
		StartTime: t0.Add(-time.Minute), ReconcileInterval: time.Hour})
	at = env.Now()
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("workflow: completed %v, %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	// Reconciled at 0 and 1h, chased then and after the cancel at 1h30.
	if c, r := fake.count("chase"), fake.count("reconcile"); c != 3 || r != 2 {
		t.Errorf("chase %d, reconcile %d; want 3, 2", c, r)
	}
	if want := t0.Add(90 * time.Minute); at.Before(want) || at.After(want.Add(time.Minute)) {
		t.Errorf("ended at %v, want at the cancel (%v)", at, want)
	}
}

// TestCancelBeforeStartChases: a cancellation before the start (also how
// the relay's signal starts a new run of a recall whose run had ended)
// sends nothing and ends through the Chase call.
func TestCancelBeforeStartChases(t *testing.T) {
	fake := &service{windowEnd: t0.Add(24 * time.Hour)}
	env := newEnv(fake)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(events.CampaignSignal, cancelled(ref)) }, time.Minute)
	env.ExecuteWorkflow(events.CampaignWorkflowType, Input{CampaignStart: events.CampaignStart{Owner: ref.Owner, Campaign: ref.Campaign},
		StartTime: t0.Add(time.Hour)})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("workflow: completed %v, %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	if fake.count("start") != 0 || fake.count("dispatch") != 0 || fake.count("chase") != 1 {
		t.Errorf("calls = %v, want one chase and nothing sent", fake.calls)
	}
}
