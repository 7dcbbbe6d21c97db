package grpc

import (
	"context"
	"time"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/pbconv"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/services/callback/callback"
	"github.com/dealercare/dealercare/services/callback/postgres"
)

// Server implements callbackv1.CallbackServiceServer. Every dealer method
// first asks tenancy.Access for the caller's scope, so another dealer's
// data is NOT_FOUND; then the role (PERMISSION_DENIED); then the task.
type Server struct {
	callbackv1.UnimplementedCallbackServiceServer
	store  *postgres.Store
	access tenancy.Access
}

// NewServer returns the callback API.
func NewServer(store *postgres.Store, access tenancy.Access) *Server {
	return &Server{store: store, access: access}
}

// ListCallbackTasks implements the RPC; `assignee=me` is the caller.
func (s *Server) ListCallbackTasks(ctx context.Context, req *callbackv1.ListCallbackTasksRequest) (*callbackv1.ListCallbackTasksResponse, error) {
	p, scope, err := s.access.Scope(ctx, req.GetDealer())
	if err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	if size <= 0 {
		size = 100
	}
	assignee := req.GetAssignee()
	if assignee == "me" {
		assignee = p.Subject
	}
	tasks, next, err := s.store.List(ctx, scope, postgres.Filter{
		Dealer: req.GetDealer(), Kind: kindName(req.GetKind()), Status: statusName(req.GetStatus()), Assignee: assignee,
		DueOnly: req.GetDueOnly(), AwaitingInstruction: req.GetAwaitingInstruction(), Now: callback.Now(),
		PageToken: req.GetPageToken(), Size: size,
	})
	if err != nil {
		return nil, err
	}
	out := &callbackv1.ListCallbackTasksResponse{NextPageToken: next}
	for i := range tasks {
		out.Tasks = append(out.Tasks, TaskToProto(&tasks[i]))
	}
	return out, nil
}

// GetCallbackTask implements the RPC.
func (s *Server) GetCallbackTask(ctx context.Context, req *callbackv1.GetCallbackTaskRequest) (*callbackv1.CallbackTask, error) {
	_, scope, err := s.access.Scope(ctx, req.GetDealer())
	if err != nil {
		return nil, err
	}
	t, err := s.store.Get(ctx, scope, req.GetDealer(), req.GetTask())
	if err != nil {
		return nil, err
	}
	return TaskToProto(t), nil
}

// act runs fn on dealer's task id once allowed says the caller may.
func (s *Server) act(ctx context.Context, dealer, id string, allowed func(*auth.Principal) error,
	fn func(*auth.Principal, *callback.Task, time.Time) (postgres.Change, error)) (*callbackv1.CallbackTask, error) {
	p, scope, err := s.access.Scope(ctx, dealer)
	if err != nil {
		return nil, err
	}
	if err := allowed(p); err != nil {
		return nil, err
	}
	now := callback.Now()
	t, err := s.store.Update(ctx, scope, dealer, id, now, func(t *callback.Task) (postgres.Change, error) { return fn(p, t, now) })
	if err != nil {
		return nil, err
	}
	return TaskToProto(t), nil
}

func mayWork(dealer string) func(*auth.Principal) error {
	return func(p *auth.Principal) error {
		if !callback.CanWork(p, dealer) {
			return callback.Forbidden("work callback tasks", "处理回访任务")
		}
		return nil
	}
}

func mayManage(dealer string) func(*auth.Principal) error {
	return func(p *auth.Principal) error {
		if !callback.CanManage(p, dealer) {
			return callback.Forbidden("manage this dealer's callbacks", "管理本店回访")
		}
		return nil
	}
}

func mayInstruct(dealer string) func(*auth.Principal) error {
	return func(p *auth.Principal) error {
		if !callback.CanInstruct(p, dealer) {
			return callback.Forbidden("instruct on callback findings", "批示回访问题")
		}
		return nil
	}
}

// ClaimCallbackTask implements the RPC; the dealer's CS manager may take a
// task assigned to someone else.
func (s *Server) ClaimCallbackTask(ctx context.Context, req *callbackv1.ClaimCallbackTaskRequest) (*callbackv1.CallbackTask, error) {
	return s.act(ctx, req.GetDealer(), req.GetTask(), mayWork(req.GetDealer()), func(p *auth.Principal, t *callback.Task, now time.Time) (postgres.Change, error) {
		return postgres.Change{}, t.Claim(p.Subject, p.HasRole(auth.RoleDealerManager), now)
	})
}

// AssignCallbackTask implements the RPC.
func (s *Server) AssignCallbackTask(ctx context.Context, req *callbackv1.AssignCallbackTaskRequest) (*callbackv1.CallbackTask, error) {
	return s.act(ctx, req.GetDealer(), req.GetTask(), mayManage(req.GetDealer()), func(_ *auth.Principal, t *callback.Task, _ time.Time) (postgres.Change, error) {
		return postgres.Change{}, t.Assign(req.GetAssignee())
	})
}

// RecordCallbackAttempt implements the RPC: a retried request with the
// same number and outcome returns the task unchanged.
func (s *Server) RecordCallbackAttempt(ctx context.Context, req *callbackv1.RecordCallbackAttemptRequest) (*callbackv1.CallbackTask, error) {
	return s.act(ctx, req.GetDealer(), req.GetTask(), mayWork(req.GetDealer()), func(p *auth.Principal, t *callback.Task, now time.Time) (postgres.Change, error) {
		recorded, err := t.RecordAttempt(callback.Attempt{
			Number: int(req.GetNumber()), Outcome: pbconv.EnumName(req.GetOutcome().String(), "ATTEMPT_OUTCOME_"), Time: now,
			CallBackTime: pbconv.Time(req.GetCallBackTime()), Note: req.GetNote(), Agent: p.Subject,
		})
		if err != nil || !recorded {
			return postgres.Change{Unchanged: true}, err
		}
		return postgres.Change{Attempted: true, Event: events.KindCallbackAttempted, Payload: t.Attempted()}, nil
	})
}

// CompleteCallbackTask implements the RPC.
func (s *Server) CompleteCallbackTask(ctx context.Context, req *callbackv1.CompleteCallbackTaskRequest) (*callbackv1.CallbackTask, error) {
	var threshold float64
	allowed := func(p *auth.Principal) error {
		if err := mayWork(req.GetDealer())(p); err != nil {
			return err
		}
		pol, err := s.store.Policy(ctx, req.GetDealer())
		threshold = pol.ScoreThreshold
		return err
	}
	return s.act(ctx, req.GetDealer(), req.GetTask(), allowed, func(_ *auth.Principal, t *callback.Task, now time.Time) (postgres.Change, error) {
		if err := t.Complete(answersFromProto(req.GetAnswers()), req.GetProblemReported(), req.GetFindings(), threshold, now); err != nil {
			return postgres.Change{}, err
		}
		return postgres.Change{Event: events.KindCallbackCompleted, Payload: t.Completed()}, nil
	})
}

// CancelCallbackTask implements the RPC.
func (s *Server) CancelCallbackTask(ctx context.Context, req *callbackv1.CancelCallbackTaskRequest) (*callbackv1.CallbackTask, error) {
	return s.act(ctx, req.GetDealer(), req.GetTask(), mayManage(req.GetDealer()), func(_ *auth.Principal, t *callback.Task, now time.Time) (postgres.Change, error) {
		if err := t.Cancel(req.GetReason(), now); err != nil {
			return postgres.Change{}, err
		}
		return postgres.Change{Event: events.KindCallbackCancelled, Payload: events.CallbackCancelled{TaskID: t.ID, Dealer: t.Dealer, At: now}}, nil
	})
}

// InstructCallbackTask implements the RPC.
func (s *Server) InstructCallbackTask(ctx context.Context, req *callbackv1.InstructCallbackTaskRequest) (*callbackv1.CallbackTask, error) {
	return s.act(ctx, req.GetDealer(), req.GetTask(), mayInstruct(req.GetDealer()), func(p *auth.Principal, t *callback.Task, now time.Time) (postgres.Change, error) {
		return postgres.Change{}, t.Instruct(req.GetInstruction(), p.Subject, now)
	})
}

// RectifyCallbackTask implements the RPC.
func (s *Server) RectifyCallbackTask(ctx context.Context, req *callbackv1.RectifyCallbackTaskRequest) (*callbackv1.CallbackTask, error) {
	return s.act(ctx, req.GetDealer(), req.GetTask(), mayInstruct(req.GetDealer()), func(p *auth.Principal, t *callback.Task, now time.Time) (postgres.Change, error) {
		return postgres.Change{}, t.Rectify(req.GetRectification(), p.Subject, now)
	})
}

// ListCallbackAgents implements the RPC.
func (s *Server) ListCallbackAgents(ctx context.Context, req *callbackv1.ListCallbackAgentsRequest) (*callbackv1.ListCallbackAgentsResponse, error) {
	_, scope, err := s.access.Scope(ctx, req.GetDealer())
	if err != nil {
		return nil, err
	}
	agents, err := s.store.Agents(ctx, scope, req.GetDealer())
	if err != nil {
		return nil, err
	}
	out := &callbackv1.ListCallbackAgentsResponse{}
	for _, a := range agents {
		out.Agents = append(out.Agents, agentToProto(a))
	}
	return out, nil
}

// manage returns the scope of a manager's change to dealer's settings.
func (s *Server) manage(ctx context.Context, dealer string) (pg.Scope, error) {
	p, scope, err := s.access.Scope(ctx, dealer)
	if err != nil {
		return scope, err
	}
	return scope, mayManage(dealer)(p)
}

// CreateCallbackAgent implements the RPC.
func (s *Server) CreateCallbackAgent(ctx context.Context, req *callbackv1.CreateCallbackAgentRequest) (*callbackv1.CallbackAgent, error) {
	scope, err := s.manage(ctx, req.GetDealer())
	if err != nil {
		return nil, err
	}
	in := req.GetAgent()
	if err := s.store.PutAgent(ctx, scope, req.GetDealer(), in.GetSubject(), in.GetDisplayName()); err != nil {
		return nil, err
	}
	agents, err := s.store.Agents(ctx, scope, req.GetDealer())
	if err != nil {
		return nil, err
	}
	for _, a := range agents {
		if a.Subject == in.GetSubject() {
			return agentToProto(a), nil
		}
	}
	return nil, apperr.NotFound("callback agent", "回访专员", in.GetSubject())
}

// DeleteCallbackAgent implements the RPC.
func (s *Server) DeleteCallbackAgent(ctx context.Context, req *callbackv1.DeleteCallbackAgentRequest) (*callbackv1.DeleteCallbackAgentResponse, error) {
	scope, err := s.manage(ctx, req.GetDealer())
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteAgent(ctx, scope, req.GetDealer(), req.GetAgent()); err != nil {
		return nil, err
	}
	return &callbackv1.DeleteCallbackAgentResponse{}, nil
}

// GetCallbackPolicy implements the RPC.
func (s *Server) GetCallbackPolicy(ctx context.Context, req *callbackv1.GetCallbackPolicyRequest) (*callbackv1.CallbackPolicy, error) {
	if _, _, err := s.access.Scope(ctx, req.GetDealer()); err != nil {
		return nil, err
	}
	p, err := s.store.Policy(ctx, req.GetDealer())
	if err != nil {
		return nil, err
	}
	return PolicyToProto(p), nil
}

// UpdateCallbackPolicy implements the RPC: HQ admins or the dealer's CS
// manager set the dealer's override.
func (s *Server) UpdateCallbackPolicy(ctx context.Context, req *callbackv1.UpdateCallbackPolicyRequest) (*callbackv1.CallbackPolicy, error) {
	if _, err := s.manage(ctx, req.GetDealer()); err != nil {
		return nil, err
	}
	return s.putPolicy(ctx, req.GetDealer(), req.GetPolicy())
}

func (s *Server) putPolicy(ctx context.Context, scope string, in *callbackv1.CallbackPolicy) (*callbackv1.CallbackPolicy, error) {
	pol := policyFromProto(in)
	if err := pol.Validate(); err != nil {
		return nil, err
	}
	if err := s.store.PutPolicy(ctx, scope, pol); err != nil {
		return nil, err
	}
	out, err := s.store.Policy(ctx, scope)
	if err != nil {
		return nil, err
	}
	return PolicyToProto(out), nil
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
	if !callback.CanSetStandards(p) {
		return callback.Forbidden("set HQ's callback standards", "设置总部回访标准")
	}
	return nil
}

// GetDefaultCallbackPolicy implements the RPC; any signed-in user.
func (s *Server) GetDefaultCallbackPolicy(ctx context.Context, _ *callbackv1.GetDefaultCallbackPolicyRequest) (*callbackv1.CallbackPolicy, error) {
	p, err := s.store.Policy(ctx, postgres.DefaultScope)
	if err != nil {
		return nil, err
	}
	return PolicyToProto(p), nil
}

// UpdateDefaultCallbackPolicy implements the RPC (HQ admin).
func (s *Server) UpdateDefaultCallbackPolicy(ctx context.Context, req *callbackv1.UpdateDefaultCallbackPolicyRequest) (*callbackv1.CallbackPolicy, error) {
	if err := requireStandards(ctx); err != nil {
		return nil, err
	}
	return s.putPolicy(ctx, postgres.DefaultScope, req.GetPolicy())
}

// ListQuestionnaires implements the RPC; any signed-in user.
func (s *Server) ListQuestionnaires(ctx context.Context, req *callbackv1.ListQuestionnairesRequest) (*callbackv1.ListQuestionnairesResponse, error) {
	qs, err := s.store.Questionnaires(ctx, kindName(req.GetKind()))
	if err != nil {
		return nil, err
	}
	out := &callbackv1.ListQuestionnairesResponse{}
	for i := range qs {
		out.Questionnaires = append(out.Questionnaires, QuestionnaireToProto(&qs[i]))
	}
	return out, nil
}

// CreateQuestionnaire implements the RPC (HQ admin).
func (s *Server) CreateQuestionnaire(ctx context.Context, req *callbackv1.CreateQuestionnaireRequest) (*callbackv1.Questionnaire, error) {
	if err := requireStandards(ctx); err != nil {
		return nil, err
	}
	in := req.GetQuestionnaire()
	q := callback.Questionnaire{Kind: kindName(in.GetKind()), Title: in.GetTitle(), Script: in.GetScript(), Questions: questionsFromProto(in.GetQuestions())}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	out, err := s.store.CreateQuestionnaire(ctx, q)
	if err != nil {
		return nil, err
	}
	return QuestionnaireToProto(out), nil
}

// GetDealerQuestionnaire implements the RPC.
func (s *Server) GetDealerQuestionnaire(ctx context.Context, req *callbackv1.GetDealerQuestionnaireRequest) (*callbackv1.Questionnaire, error) {
	_, scope, err := s.access.Scope(ctx, req.GetDealer())
	if err != nil {
		return nil, err
	}
	q, err := s.store.DealerQuestionnaire(ctx, scope, req.GetDealer(), kindName(req.GetKind()))
	if err != nil {
		return nil, err
	}
	return QuestionnaireToProto(q), nil
}

// UpdateDealerQuestions implements the RPC.
func (s *Server) UpdateDealerQuestions(ctx context.Context, req *callbackv1.UpdateDealerQuestionsRequest) (*callbackv1.Questionnaire, error) {
	scope, err := s.manage(ctx, req.GetDealer())
	if err != nil {
		return nil, err
	}
	qs := questionsFromProto(req.GetQuestions())
	q, err := s.store.PutDealerQuestions(ctx, scope, req.GetDealer(), kindName(req.GetKind()), qs, func(hq []string) error {
		return callback.ValidateQuestions("questions", qs, true, hq)
	})
	if err != nil {
		return nil, err
	}
	return QuestionnaireToProto(q), nil
}

// GetCallbackReport implements the RPC: the period is counted in the
// dealer's time zone.
func (s *Server) GetCallbackReport(ctx context.Context, req *callbackv1.GetCallbackReportRequest) (*callbackv1.CallbackReport, error) {
	_, scope, err := s.access.Scope(ctx, req.GetDealer())
	if err != nil {
		return nil, err
	}
	zone, err := s.access.Network.TimeZone(ctx, req.GetDealer())
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, apperr.Errorf(apperr.EFAILEDPRECOND, "dealer %s has an unknown time zone %q", req.GetDealer(), zone).Zh("经销商时区无效：" + zone)
	}
	period, err := callback.PeriodOf(pbconv.EnumName(req.GetPeriod().String(), "REPORT_PERIOD_"), req.GetDate(), loc, callback.Now())
	if err != nil {
		return nil, err
	}
	figures, err := s.store.Report(ctx, scope, req.GetDealer(), period.Start, period.End)
	if err != nil {
		return nil, err
	}
	out := &callbackv1.CallbackReport{Dealer: req.GetDealer(), StartDate: period.StartDate, EndDate: period.EndDate, TimeZone: zone,
		Period: callbackv1.ReportPeriod(pbconv.EnumValue(period.Kind, "REPORT_PERIOD_", callbackv1.ReportPeriod_value))}
	var total callback.Figures
	for _, f := range figures {
		total.Add(f)
		out.Kinds = append(out.Kinds, figuresToProto(f))
	}
	out.Total = figuresToProto(total)
	return out, nil
}
