package callback

import (
	"context"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/events"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/tenancy"
)

// ChangeKind names what an update did to a task; the store writes by it
// and decides nothing else.
type ChangeKind string

// Change kinds.
const (
	// ChangeNone: nothing to write (a retried or stale request).
	ChangeNone          ChangeKind = ""
	ChangeClaimed       ChangeKind = "claimed"
	ChangeAssigned      ChangeKind = "assigned"
	ChangeAttempted     ChangeKind = "attempted" // the task's last attempt is new
	ChangeCompleted     ChangeKind = "completed"
	ChangeCancelled     ChangeKind = "cancelled"
	ChangeInstructed    ChangeKind = "instructed"
	ChangeRectified     ChangeKind = "rectified"
	ChangeRetryPlanned  ChangeKind = "retry_planned"
	ChangeEnded         ChangeKind = "ended"
	ChangeComplaintLink ChangeKind = "complaint_linked"
)

// Change is what an update did, as the store writes it in the transaction
// that saves the task: the task's columns unless Kind is ChangeNone, the
// new attempt for ChangeAttempted, and Event for the task's workflow.
type Change struct {
	Kind ChangeKind
	// Event, if set, goes to the task's workflow (through the outbox).
	Event *WorkflowEvent
}

// WorkflowEvent is an event for the task's workflow: its kind (the
// events.KindCallback* names) and payload.
type WorkflowEvent struct {
	Kind    string
	Payload any
}

// Agent is an agent of a dealer's rotation.
type Agent struct {
	Subject, DisplayName, Dealer string
	OpenTasks                    int
	CreateTime                   time.Time
}

// Filter selects tasks of one dealer.
type Filter struct {
	Dealer   string
	Kind     string
	Status   string
	Assignee string
	// DueOnly: pending or in progress with the next attempt due by Now.
	DueOnly bool
	// AwaitingInstruction: completed with findings or a dissatisfied
	// customer, and no instruction yet.
	AwaitingInstruction bool
	Now                 time.Time
	PageToken           string
	Size                int
}

// DefaultScope names HQ's default policy.
const DefaultScope = "default"

// Store persists callbacks; methods on dealer data work inside the scope
// they are given, which row-level security backs up. It stores what it is
// told: the rules are the Service's and Task's.
type Store interface {
	// Ensure creates t (from NewTask) unless its source already has a task
	// of its kind, which it returns unchanged instead. A new pending task
	// gets the next agent of the dealer's rotation and the questionnaire in
	// force (EFAILEDPRECOND when HQ has none for the kind).
	Ensure(ctx context.Context, t *Task) (*Task, error)
	// Get returns dealer's task id, visible in scope; ENOTFOUND otherwise.
	Get(ctx context.Context, scope pg.Scope, dealer, id string) (*Task, error)
	// Update locks dealer's task id, applies fn and, unless fn fails or
	// answers ChangeNone, writes the task (update time at), the new attempt
	// and the workflow's event in one transaction.
	Update(ctx context.Context, scope pg.Scope, dealer, id string, at time.Time, fn func(*Task) (Change, error)) (*Task, error)
	// List lists tasks by next attempt time (unplanned last), then due
	// time and id, in pages after the opaque token.
	List(ctx context.Context, scope pg.Scope, f Filter) ([]Task, string, error)
	// Agents lists dealer's active agents in rotation order with their
	// open tasks.
	Agents(ctx context.Context, scope pg.Scope, dealer string) ([]Agent, error)
	// PutAgent adds an agent at the end of the rotation, or reactivates
	// one at its old place.
	PutAgent(ctx context.Context, scope pg.Scope, dealer, subject, displayName string) error
	// DeleteAgent takes an agent out of the rotation; ENOTFOUND when not
	// in it.
	DeleteAgent(ctx context.Context, scope pg.Scope, dealer, subject string) error
	// Policy is the policy in force for dealer (DefaultScope: HQ's).
	Policy(ctx context.Context, dealer string) (Policy, error)
	// PutPolicy stores the policy of scope (a dealer code or DefaultScope).
	PutPolicy(ctx context.Context, scope string, p Policy) error
	// Questionnaires lists HQ's questionnaires (kind "" for all).
	Questionnaires(ctx context.Context, kind string) ([]Questionnaire, error)
	// CreateQuestionnaire stores q as its kind's next version.
	CreateQuestionnaire(ctx context.Context, q Questionnaire) (*Questionnaire, error)
	// DealerQuestionnaire is the questionnaire in force for dealer's kind.
	DealerQuestionnaire(ctx context.Context, scope pg.Scope, dealer, kind string) (*Questionnaire, error)
	// PutDealerQuestions stores dealer's own questions of kind as a new
	// version once check accepts them against HQ's current codes.
	PutDealerQuestions(ctx context.Context, scope pg.Scope, dealer, kind string, qs []Question, check func(hqCodes []string) error) (*Questionnaire, error)
	// Report counts dealer's figures per kind over [start, end).
	Report(ctx context.Context, scope pg.Scope, dealer string, start, end time.Time) ([]Figures, error)
}

// Service is the callback service's application layer: who may do what
// to which task, checked on the task as it is locked for the change, over
// a Store.
type Service struct {
	store  Store
	access tenancy.Access
	now    func() time.Time
}

// NewService returns a Service; now is the clock (time.Now in production).
func NewService(store Store, access tenancy.Access, now func() time.Time) *Service {
	return &Service{store: store, access: access, now: now}
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// List lists dealer's tasks; an assignee "me" is the caller.
func (s *Service) List(ctx context.Context, f Filter) ([]Task, string, error) {
	p, scope, err := s.access.Scope(ctx, f.Dealer)
	if err != nil {
		return nil, "", err
	}
	if f.Size <= 0 {
		f.Size = 100
	}
	if f.Assignee == "me" {
		f.Assignee = p.Subject
	}
	f.Now = s.now()
	return s.store.List(ctx, scope, f)
}

// Get returns dealer's task id; ENOTFOUND outside the caller's view.
func (s *Service) Get(ctx context.Context, dealer, id string) (*Task, error) {
	_, scope, err := s.access.Scope(ctx, dealer)
	if err != nil {
		return nil, err
	}
	return s.store.Get(ctx, scope, dealer, id)
}

// Permissions of the task actions, checked on the locked task.
var (
	mayWork     = permission{CanWork, "work callback tasks", "处理回访任务"}
	mayManage   = permission{CanManage, "manage this dealer's callbacks", "管理本店回访"}
	mayInstruct = permission{CanInstruct, "instruct on callback findings", "批示回访问题"}
)

type permission struct {
	allowed  func(*auth.Principal, string) bool
	what, zh string
}

func (m permission) check(p *auth.Principal, dealer string) error {
	if !m.allowed(p, dealer) {
		return Forbidden(m.what, m.zh)
	}
	return nil
}

// act locks dealer's task id and, once the caller may do this to it (the
// check runs on the locked task), applies fn.
func (s *Service) act(ctx context.Context, dealer, id string, may permission, fn func(*auth.Principal, *Task, time.Time) (Change, error)) (*Task, error) {
	p, scope, err := s.access.Scope(ctx, dealer)
	if err != nil {
		return nil, err
	}
	now := s.now()
	return s.store.Update(ctx, scope, dealer, id, now, func(t *Task) (Change, error) {
		if err := may.check(p, t.Dealer); err != nil {
			return Change{}, err
		}
		return fn(p, t, now)
	})
}

// Claim makes the task the caller's; the dealer's CS manager may take a
// task assigned to someone else. EFORBIDDEN, ECONFLICT.
func (s *Service) Claim(ctx context.Context, dealer, id string) (*Task, error) {
	return s.act(ctx, dealer, id, mayWork, func(p *auth.Principal, t *Task, now time.Time) (Change, error) {
		return Change{Kind: ChangeClaimed}, t.Claim(p.Subject, p.HasRole(auth.RoleDealerManager), now)
	})
}

// Assign gives an open task to agent (a manager's). EFORBIDDEN, ECONFLICT.
func (s *Service) Assign(ctx context.Context, dealer, id, agent string) (*Task, error) {
	return s.act(ctx, dealer, id, mayManage, func(_ *auth.Principal, t *Task, _ time.Time) (Change, error) {
		return Change{Kind: ChangeAssigned}, t.Assign(agent)
	})
}

// RecordAttempt records the caller's call a (its Number, Outcome,
// CallBackTime and Note); a retried request with the same number and
// outcome returns the task unchanged. EFORBIDDEN, ECONFLICT, EINVALID.
func (s *Service) RecordAttempt(ctx context.Context, dealer, id string, a Attempt) (*Task, error) {
	return s.act(ctx, dealer, id, mayWork, func(p *auth.Principal, t *Task, now time.Time) (Change, error) {
		a.Time, a.Agent = now, p.Subject
		recorded, err := t.RecordAttempt(a)
		if err != nil || !recorded {
			return Change{}, err
		}
		return Change{Kind: ChangeAttempted, Event: &WorkflowEvent{events.KindCallbackAttempted, t.Attempted()}}, nil
	})
}

// Complete records the answers of an answered call, scored against the
// dealer's policy in force. EFORBIDDEN, ECONFLICT, EINVALID.
func (s *Service) Complete(ctx context.Context, dealer, id string, answers []Answer, problem bool, findings string) (*Task, error) {
	if _, _, err := s.access.Scope(ctx, dealer); err != nil {
		return nil, err
	}
	pol, err := s.store.Policy(ctx, dealer)
	if err != nil {
		return nil, err
	}
	return s.act(ctx, dealer, id, mayWork, func(_ *auth.Principal, t *Task, now time.Time) (Change, error) {
		if err := t.Complete(answers, problem, findings, pol.ScoreThreshold, now); err != nil {
			return Change{}, err
		}
		return Change{Kind: ChangeCompleted, Event: &WorkflowEvent{events.KindCallbackCompleted, t.Completed()}}, nil
	})
}

// Cancel ends an open task cancelled (a manager's). EFORBIDDEN, ECONFLICT.
func (s *Service) Cancel(ctx context.Context, dealer, id, reason string) (*Task, error) {
	return s.act(ctx, dealer, id, mayManage, func(_ *auth.Principal, t *Task, now time.Time) (Change, error) {
		if err := t.Cancel(reason, now); err != nil {
			return Change{}, err
		}
		return Change{Kind: ChangeCancelled, Event: &WorkflowEvent{events.KindCallbackCancelled, events.CallbackCancelled{TaskID: t.ID, Dealer: t.Dealer, At: now}}}, nil
	})
}

// Instruct records the caller's instruction. EFORBIDDEN, ECONFLICT.
func (s *Service) Instruct(ctx context.Context, dealer, id, instruction string) (*Task, error) {
	return s.act(ctx, dealer, id, mayInstruct, func(p *auth.Principal, t *Task, now time.Time) (Change, error) {
		return Change{Kind: ChangeInstructed}, t.Instruct(instruction, p.Subject, now)
	})
}

// Rectify records the rectification done. EFORBIDDEN, ECONFLICT.
func (s *Service) Rectify(ctx context.Context, dealer, id, rectification string) (*Task, error) {
	return s.act(ctx, dealer, id, mayInstruct, func(p *auth.Principal, t *Task, now time.Time) (Change, error) {
		return Change{Kind: ChangeRectified}, t.Rectify(rectification, p.Subject, now)
	})
}

// Agents lists dealer's rotation.
func (s *Service) Agents(ctx context.Context, dealer string) ([]Agent, error) {
	_, scope, err := s.access.Scope(ctx, dealer)
	if err != nil {
		return nil, err
	}
	return s.store.Agents(ctx, scope, dealer)
}

// manage returns the scope of a manager's change to dealer's settings.
func (s *Service) manage(ctx context.Context, dealer string) (pg.Scope, error) {
	p, scope, err := s.access.Scope(ctx, dealer)
	if err != nil {
		return scope, err
	}
	return scope, mayManage.check(p, dealer)
}

// PutAgent adds subject to dealer's rotation and returns it. EFORBIDDEN.
func (s *Service) PutAgent(ctx context.Context, dealer, subject, displayName string) (*Agent, error) {
	scope, err := s.manage(ctx, dealer)
	if err != nil {
		return nil, err
	}
	if err := s.store.PutAgent(ctx, scope, dealer, subject, displayName); err != nil {
		return nil, err
	}
	agents, err := s.store.Agents(ctx, scope, dealer)
	if err != nil {
		return nil, err
	}
	for _, a := range agents {
		if a.Subject == subject {
			return &a, nil
		}
	}
	return nil, apperr.NotFound("callback agent", "回访专员", subject)
}

// DeleteAgent takes subject out of dealer's rotation. EFORBIDDEN,
// ENOTFOUND.
func (s *Service) DeleteAgent(ctx context.Context, dealer, subject string) error {
	scope, err := s.manage(ctx, dealer)
	if err != nil {
		return err
	}
	return s.store.DeleteAgent(ctx, scope, dealer, subject)
}

// Policy is the policy in force for dealer.
func (s *Service) Policy(ctx context.Context, dealer string) (Policy, error) {
	if _, _, err := s.access.Scope(ctx, dealer); err != nil {
		return Policy{}, err
	}
	return s.store.Policy(ctx, dealer)
}

// PutPolicy sets dealer's override (HQ admins or the dealer's CS
// manager) and returns the policy in force. EFORBIDDEN, EINVALID.
func (s *Service) PutPolicy(ctx context.Context, dealer string, p Policy) (Policy, error) {
	if _, err := s.manage(ctx, dealer); err != nil {
		return Policy{}, err
	}
	return s.putPolicy(ctx, dealer, p)
}

func (s *Service) putPolicy(ctx context.Context, scope string, p Policy) (Policy, error) {
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	if err := s.store.PutPolicy(ctx, scope, p); err != nil {
		return Policy{}, err
	}
	return s.store.Policy(ctx, scope)
}

func principal(ctx context.Context) (*auth.Principal, error) {
	p, ok := auth.PrincipalFromContext(ctx)
	if !ok {
		return nil, apperr.Errorf(apperr.EUNAUTHORIZED, "authentication required").Zh("需要登录认证")
	}
	return p, nil
}

func requireStandards(ctx context.Context) error {
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	if !CanSetStandards(p) {
		return Forbidden("set HQ's callback standards", "设置总部回访标准")
	}
	return nil
}

// DefaultPolicy is HQ's default policy; any signed-in user reads it.
func (s *Service) DefaultPolicy(ctx context.Context) (Policy, error) {
	return s.store.Policy(ctx, DefaultScope)
}

// PutDefaultPolicy sets HQ's default (HQ admin). EFORBIDDEN, EINVALID.
func (s *Service) PutDefaultPolicy(ctx context.Context, p Policy) (Policy, error) {
	if err := requireStandards(ctx); err != nil {
		return Policy{}, err
	}
	return s.putPolicy(ctx, DefaultScope, p)
}

// Questionnaires lists HQ's questionnaires; any signed-in user.
func (s *Service) Questionnaires(ctx context.Context, kind string) ([]Questionnaire, error) {
	return s.store.Questionnaires(ctx, kind)
}

// CreateQuestionnaire publishes a questionnaire (HQ admin). EFORBIDDEN,
// EINVALID.
func (s *Service) CreateQuestionnaire(ctx context.Context, q Questionnaire) (*Questionnaire, error) {
	if err := requireStandards(ctx); err != nil {
		return nil, err
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	return s.store.CreateQuestionnaire(ctx, q)
}

// DealerQuestionnaire is the questionnaire in force for dealer's kind.
func (s *Service) DealerQuestionnaire(ctx context.Context, dealer, kind string) (*Questionnaire, error) {
	_, scope, err := s.access.Scope(ctx, dealer)
	if err != nil {
		return nil, err
	}
	return s.store.DealerQuestionnaire(ctx, scope, dealer, kind)
}

// PutDealerQuestions sets dealer's own questions of kind (a manager's).
// EFORBIDDEN, EINVALID.
func (s *Service) PutDealerQuestions(ctx context.Context, dealer, kind string, qs []Question) (*Questionnaire, error) {
	scope, err := s.manage(ctx, dealer)
	if err != nil {
		return nil, err
	}
	return s.store.PutDealerQuestions(ctx, scope, dealer, kind, qs, func(hq []string) error {
		return ValidateQuestions("questions", qs, true, hq)
	})
}

// Report is a dealer's figures over a period of its own time zone.
type Report struct {
	Period   Period
	TimeZone string
	Kinds    []Figures
	Total    Figures
}

// Report counts dealer's figures over the period (PeriodDay, PeriodWeek
// or PeriodMonth) holding date ("" today) in the dealer's time zone.
// EINVALID, EFAILEDPRECOND (the dealer's zone is unknown).
func (s *Service) Report(ctx context.Context, dealer, period, date string) (*Report, error) {
	_, scope, err := s.access.Scope(ctx, dealer)
	if err != nil {
		return nil, err
	}
	zone, err := s.access.Network.TimeZone(ctx, dealer)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, apperr.Errorf(apperr.EFAILEDPRECOND, "dealer %s has an unknown time zone %q", dealer, zone).Zh("经销商时区无效：" + zone)
	}
	per, err := PeriodOf(period, date, loc, s.now())
	if err != nil {
		return nil, err
	}
	figures, err := s.store.Report(ctx, scope, dealer, per.Start, per.End)
	if err != nil {
		return nil, err
	}
	out := &Report{Period: per, TimeZone: zone, Kinds: figures}
	for _, f := range figures {
		out.Total.Add(f)
	}
	return out, nil
}

// The workflow's calls: the platform's service identity only, each
// idempotent.

// Schedule is what a kind's workflow times on for a dealer: the policy in
// force, the kind's timing and the dealer's time zone.
type Schedule struct {
	Policy   Policy
	Timing   Timing
	TimeZone string
}

// Schedule returns dealer's schedule of kind. EFORBIDDEN.
func (s *Service) Schedule(ctx context.Context, dealer, kind string) (*Schedule, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return nil, err
	}
	p, err := s.store.Policy(ctx, dealer)
	if err != nil {
		return nil, err
	}
	zone, err := s.access.Network.TimeZone(ctx, dealer)
	if err != nil {
		return nil, err
	}
	t, _ := p.Timing(kind)
	return &Schedule{Policy: p, Timing: t, TimeZone: zone}, nil
}

// Ensure creates the task of t's source (see NewTask), or returns the one
// it has. EFORBIDDEN, EINVALID, EFAILEDPRECOND.
func (s *Service) Ensure(ctx context.Context, t Task, doNotCall bool) (*Task, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return nil, err
	}
	now := s.now()
	t.CreateTime = now
	task, err := NewTask(t, doNotCall, now)
	if err != nil {
		return nil, err
	}
	return s.store.Ensure(ctx, task)
}

// workflowUpdate changes dealer's task id for the workflow; fn reports
// whether it changed anything.
func (s *Service) workflowUpdate(ctx context.Context, dealer, id string, kind ChangeKind, fn func(*Task) (bool, error)) (*Task, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return nil, err
	}
	return s.store.Update(ctx, pg.Dealers(dealer), dealer, id, s.now(), func(t *Task) (Change, error) {
		changed, err := fn(t)
		if err != nil || !changed {
			return Change{}, err
		}
		return Change{Kind: kind}, nil
	})
}

// ScheduleRetry plans the call after attempt afterAttempt; ignored unless
// the task is pending after exactly that many attempts. EFORBIDDEN.
func (s *Service) ScheduleRetry(ctx context.Context, dealer, id string, afterAttempt int, next time.Time) (*Task, error) {
	return s.workflowUpdate(ctx, dealer, id, ChangeRetryPlanned, func(t *Task) (bool, error) {
		return t.ScheduleRetry(afterAttempt, next), nil
	})
}

// End ends the task unreachable, expired or cancelled; a task that
// already ended stays as it is. EFORBIDDEN, EINVALID.
func (s *Service) End(ctx context.Context, dealer, id, status, reason string, at time.Time) (*Task, error) {
	return s.workflowUpdate(ctx, dealer, id, ChangeEnded, func(t *Task) (bool, error) {
		return t.End(status, reason, at)
	})
}

// LinkComplaint records the complaint a callback opened. EFORBIDDEN,
// ECONFLICT.
func (s *Service) LinkComplaint(ctx context.Context, dealer, id, complaint string) (*Task, error) {
	return s.workflowUpdate(ctx, dealer, id, ChangeComplaintLink, func(t *Task) (bool, error) {
		return t.LinkComplaint(complaint)
	})
}
