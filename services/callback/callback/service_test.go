package callback_test

import (
	"context"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/services/callback/callback"
	"github.com/dealercare/dealercare/services/callback/callback/callbacktest"
)

// network: EAST holds SH001 and HZ001, NORTH BJ001, every dealer in
// Shanghai's zone.
type network struct{}

func (network) VisibleDealers(ctx context.Context) ([]string, error) {
	if p, _ := auth.PrincipalFromContext(ctx); p.Region == "EAST" {
		return []string{"SH001", "HZ001"}, nil
	}
	return []string{"BJ001"}, nil
}
func (network) DealerExists(context.Context, string) (bool, error) { return true, nil }
func (network) TimeZone(context.Context, string) (string, error)   { return "Asia/Shanghai", nil }
func as(p auth.Principal) context.Context {
	return auth.NewContextWithPrincipal(context.Background(), &p)
}
func dealerUser(sub, dealer string, roles ...auth.Role) auth.Principal {
	return auth.Principal{Subject: sub, Roles: roles, Dealer: dealer}
}

var (
	worker    = auth.Principal{Subject: "worker", Roles: []auth.Role{auth.RoleService}}
	hqAdmin   = auth.Principal{Subject: "hq-1", Roles: []auth.Role{auth.RoleHQAdmin}}
	agentSH   = dealerUser("agent-sh", "SH001", auth.RoleAgent)
	managerSH = dealerUser("mgr-sh", "SH001", auth.RoleDealerManager)
	agentBJ   = dealerUser("agent-bj", "BJ001", auth.RoleAgent)
	eastRM    = auth.Principal{Subject: "rm-east", Roles: []auth.Role{auth.RoleRegionManager}, Region: "EAST"}
	t0        = time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC) // 10:00 in Shanghai
)

// clock is the service's injected clock; tests move it.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func newService(t *testing.T) (*callback.Service, *callbacktest.Fake, *clock) {
	t.Helper()
	store := callbacktest.NewFake()
	c := &clock{now: t0}
	svc := callback.NewService(store, tenancy.Access{Network: network{}}, c.Now)
	if _, err := svc.CreateQuestionnaire(as(hqAdmin), callback.Questionnaire{Kind: callback.Kind3DC, Title: "SSI",
		Questions: []callback.Question{{Code: "Q1", Text: "满意度", Type: callback.QuestionRating, Weight: 1, Scale: 5, Required: true}}}); err != nil {
		t.Fatal(err)
	}
	return svc, store, c
}

func ensure(t *testing.T, svc *callback.Service, dealer, source string) *callback.Task {
	t.Helper()
	task, err := svc.Ensure(as(worker), callback.Task{Dealer: dealer, Kind: callback.Kind3DC, SourceType: events.SourceRepairOrder, SourceID: source,
		WorkflowID: events.CallbackWorkflowID(callback.Kind3DC, source), DueTime: t0, Deadline: t0.Add(48 * time.Hour)}, false)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := apperr.Code(err); got != code {
		t.Errorf("%s: %q (%v), want %q", what, got, err, code)
	}
}

// A call is timed by the injected clock, the event goes to the workflow
// typed, and a retried attempt changes nothing.
func TestAttemptsAndCompletionRunOnTheInjectedClock(t *testing.T) {
	svc, store, c := newService(t)
	task := ensure(t, svc, "SH001", "RO-1")
	if !task.CreateTime.Equal(t0) {
		t.Errorf("created at %v, want the clock's %v", task.CreateTime, t0)
	}
	c.now = t0.Add(time.Hour)
	got, err := svc.RecordAttempt(as(agentSH), "SH001", task.ID, callback.Attempt{Number: 1, Outcome: callback.OutcomeAnswered})
	if err != nil {
		t.Fatal(err)
	}
	if a := got.Attempts[0]; !a.Time.Equal(c.now) || a.Agent != "agent-sh" || got.Status != callback.StatusInProgress || !got.UpdateTime.Equal(c.now) {
		t.Fatalf("attempt %+v on %+v", a, got)
	}
	c.now = c.now.Add(time.Minute)
	again, err := svc.RecordAttempt(as(agentSH), "SH001", task.ID, callback.Attempt{Number: 1, Outcome: callback.OutcomeAnswered})
	if err != nil || len(again.Attempts) != 1 || !again.UpdateTime.Equal(got.UpdateTime) {
		t.Fatalf("retried attempt: %v %+v", err, again)
	}
	// The dealer's threshold decides satisfaction: 60 is enough at SH001.
	pol := callback.Policy{MaxAttempts: 3, CallingStart: "09:00", CallingEnd: "21:00", ScoreThreshold: 60}
	if _, err := svc.PutPolicy(as(managerSH), "SH001", pol); err != nil {
		t.Fatal(err)
	}
	done, err := svc.Complete(as(agentSH), "SH001", task.ID, []callback.Answer{{Question: "Q1", Rating: 4}}, false, "")
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != callback.StatusCompleted || done.Score != 75 || !done.Satisfied || !done.CompleteTime.Equal(c.now) {
		t.Fatalf("completed %+v", done)
	}
	evs := store.Events()
	if len(evs) != 2 || evs[0].Kind != events.KindCallbackAttempted || evs[1].Kind != events.KindCallbackCompleted {
		t.Fatalf("workflow events %+v", evs)
	}
	if e, ok := evs[1].Payload.(events.CallbackCompleted); !ok || !e.At.Equal(c.now) || !e.Satisfied || e.Score != 75 {
		t.Errorf("completed event %+v", evs[1].Payload)
	}
}

// Who may act is checked on the locked task: a region manager reads
// SH001's task but changes nothing; another dealer's agent does not find
// it; the manager takes over an agent's task.
func TestPermissionsAreCheckedOnTheLockedTask(t *testing.T) {
	svc, store, _ := newService(t)
	if _, err := svc.PutAgent(as(managerSH), "SH001", "agent-sh", "小王"); err != nil {
		t.Fatal(err)
	}
	task := ensure(t, svc, "SH001", "RO-1")
	if task.Assignee != "agent-sh" {
		t.Fatalf("assignee %q", task.Assignee)
	}
	if _, err := svc.Get(as(eastRM), "SH001", task.ID); err != nil {
		t.Errorf("region manager reads: %v", err)
	}
	_, err := svc.Claim(as(eastRM), "SH001", task.ID)
	wantCode(t, "region manager claims", err, apperr.EFORBIDDEN)
	_, err = svc.Cancel(as(agentSH), "SH001", task.ID, "x")
	wantCode(t, "agent cancels", err, apperr.EFORBIDDEN)
	_, err = svc.Instruct(as(agentSH), "SH001", task.ID, "x")
	wantCode(t, "agent instructs", err, apperr.EFORBIDDEN)
	_, err = svc.Claim(as(agentBJ), "SH001", task.ID)
	wantCode(t, "BJ001's agent on SH001's path", err, apperr.ENOTFOUND)
	_, err = svc.Claim(as(agentBJ), "BJ001", task.ID)
	wantCode(t, "BJ001's agent with SH001's id", err, apperr.ENOTFOUND)
	other := dealerUser("agent-2", "SH001", auth.RoleAgent)
	_, err = svc.Claim(as(other), "SH001", task.ID)
	wantCode(t, "another agent claims", err, apperr.ECONFLICT)
	if got, err := svc.Claim(as(managerSH), "SH001", task.ID); err != nil || got.Assignee != "mgr-sh" {
		t.Fatalf("manager takes it: %v %+v", err, got)
	}
	if _, err := svc.Cancel(as(managerSH), "SH001", task.ID, "duplicate"); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Claim(as(managerSH), "SH001", task.ID)
	wantCode(t, "claim a cancelled task", err, apperr.ECONFLICT)
	if evs := store.Events(); len(evs) != 1 || evs[0].Kind != events.KindCallbackCancelled {
		t.Errorf("workflow events %+v", evs)
	}
}

// The workflow's calls are the service identity's, and idempotent.
func TestWorkflowCallsAreTheServiceIdentitys(t *testing.T) {
	svc, _, c := newService(t)
	task := ensure(t, svc, "SH001", "RO-1")
	for _, who := range []auth.Principal{agentSH, managerSH, hqAdmin, eastRM} {
		_, err := svc.Schedule(as(who), "SH001", callback.Kind3DC)
		wantCode(t, who.Subject+" schedule", err, apperr.EFORBIDDEN)
		_, err = svc.End(as(who), "SH001", task.ID, callback.StatusExpired, "late", c.now)
		wantCode(t, who.Subject+" end", err, apperr.EFORBIDDEN)
	}
	sc, err := svc.Schedule(as(worker), "SH001", callback.Kind3DC)
	if err != nil || sc.TimeZone != "Asia/Shanghai" || sc.Timing.Delay != 72*time.Hour || sc.Policy.ComplaintSeverity != callback.SeverityMedium {
		t.Fatalf("schedule %+v %v", sc, err)
	}
	ended, err := svc.End(as(worker), "SH001", task.ID, callback.StatusExpired, "late", t0.Add(49*time.Hour))
	if err != nil || ended.Status != callback.StatusExpired {
		t.Fatalf("end: %v %+v", err, ended)
	}
	c.now = t0.Add(50 * time.Hour)
	again, err := svc.End(as(worker), "SH001", task.ID, callback.StatusUnreachable, "x", c.now)
	if err != nil || again.Status != callback.StatusExpired || !again.UpdateTime.Equal(ended.UpdateTime) {
		t.Fatalf("end twice: %v %+v", err, again)
	}
	if l, err := svc.LinkComplaint(as(worker), "SH001", task.ID, "c-1"); err != nil || l.Complaint != "c-1" {
		t.Fatalf("link: %v %+v", err, l)
	}
}

// The report counts the dealer's local day by the injected clock.
func TestReportOfTheClocksDay(t *testing.T) {
	svc, _, c := newService(t)
	task := ensure(t, svc, "SH001", "RO-1")
	c.now = t0.Add(time.Hour)
	if _, err := svc.RecordAttempt(as(agentSH), "SH001", task.ID, callback.Attempt{Number: 1, Outcome: callback.OutcomeRefused}); err != nil {
		t.Fatal(err)
	}
	r, err := svc.Report(as(agentSH), "SH001", "", "")
	if err != nil || r.Period.StartDate != "2026-11-20" || r.Total.Due != 1 || r.Total.Refused != 1 || r.Total.Attempts != 1 || len(r.Kinds) != 1 {
		t.Fatalf("today's report %+v %v", r, err)
	}
	c.now = t0.Add(24 * time.Hour)
	if r, err := svc.Report(as(agentSH), "SH001", "", ""); err != nil || r.Period.StartDate != "2026-11-21" || r.Total != (callback.Figures{}) {
		t.Fatalf("the next day's report %+v %v", r, err)
	}
}
