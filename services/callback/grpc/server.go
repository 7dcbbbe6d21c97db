package grpc

import (
	"context"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	"github.com/dealercare/dealercare/pkg/pbconv"
	"github.com/dealercare/dealercare/services/callback/callback"
)

// Server implements callbackv1.CallbackServiceServer over callback.Service:
// it converts proto ↔ domain; the rules (another dealer's data is
// NOT_FOUND, then the role, then the task's state) are the Service's.
type Server struct {
	callbackv1.UnimplementedCallbackServiceServer
	svc *callback.Service
}

// NewServer returns the callback API.
func NewServer(svc *callback.Service) *Server { return &Server{svc: svc} }

func task(t *callback.Task, err error) (*callbackv1.CallbackTask, error) {
	if err != nil {
		return nil, err
	}
	return TaskToProto(t), nil
}

// ListCallbackTasks implements the RPC; `assignee=me` is the caller.
func (s *Server) ListCallbackTasks(ctx context.Context, req *callbackv1.ListCallbackTasksRequest) (*callbackv1.ListCallbackTasksResponse, error) {
	tasks, next, err := s.svc.List(ctx, callback.Filter{
		Dealer: req.GetDealer(), Kind: kindName(req.GetKind()), Status: statusName(req.GetStatus()), Assignee: req.GetAssignee(),
		DueOnly: req.GetDueOnly(), AwaitingInstruction: req.GetAwaitingInstruction(), PageToken: req.GetPageToken(), Size: int(req.GetPageSize()),
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
	return task(s.svc.Get(ctx, req.GetDealer(), req.GetTask()))
}

// ClaimCallbackTask implements the RPC.
func (s *Server) ClaimCallbackTask(ctx context.Context, req *callbackv1.ClaimCallbackTaskRequest) (*callbackv1.CallbackTask, error) {
	return task(s.svc.Claim(ctx, req.GetDealer(), req.GetTask()))
}

// AssignCallbackTask implements the RPC.
func (s *Server) AssignCallbackTask(ctx context.Context, req *callbackv1.AssignCallbackTaskRequest) (*callbackv1.CallbackTask, error) {
	return task(s.svc.Assign(ctx, req.GetDealer(), req.GetTask(), req.GetAssignee()))
}

// RecordCallbackAttempt implements the RPC.
func (s *Server) RecordCallbackAttempt(ctx context.Context, req *callbackv1.RecordCallbackAttemptRequest) (*callbackv1.CallbackTask, error) {
	return task(s.svc.RecordAttempt(ctx, req.GetDealer(), req.GetTask(), callback.Attempt{
		Number: int(req.GetNumber()), Outcome: pbconv.EnumName(req.GetOutcome().String(), "ATTEMPT_OUTCOME_"),
		CallBackTime: pbconv.Time(req.GetCallBackTime()), Note: req.GetNote(),
	}))
}

// CompleteCallbackTask implements the RPC.
func (s *Server) CompleteCallbackTask(ctx context.Context, req *callbackv1.CompleteCallbackTaskRequest) (*callbackv1.CallbackTask, error) {
	return task(s.svc.Complete(ctx, req.GetDealer(), req.GetTask(), answersFromProto(req.GetAnswers()), req.GetProblemReported(), req.GetFindings()))
}

// CancelCallbackTask implements the RPC.
func (s *Server) CancelCallbackTask(ctx context.Context, req *callbackv1.CancelCallbackTaskRequest) (*callbackv1.CallbackTask, error) {
	return task(s.svc.Cancel(ctx, req.GetDealer(), req.GetTask(), req.GetReason()))
}

// InstructCallbackTask implements the RPC.
func (s *Server) InstructCallbackTask(ctx context.Context, req *callbackv1.InstructCallbackTaskRequest) (*callbackv1.CallbackTask, error) {
	return task(s.svc.Instruct(ctx, req.GetDealer(), req.GetTask(), req.GetInstruction()))
}

// RectifyCallbackTask implements the RPC.
func (s *Server) RectifyCallbackTask(ctx context.Context, req *callbackv1.RectifyCallbackTaskRequest) (*callbackv1.CallbackTask, error) {
	return task(s.svc.Rectify(ctx, req.GetDealer(), req.GetTask(), req.GetRectification()))
}

// ListCallbackAgents implements the RPC.
func (s *Server) ListCallbackAgents(ctx context.Context, req *callbackv1.ListCallbackAgentsRequest) (*callbackv1.ListCallbackAgentsResponse, error) {
	agents, err := s.svc.Agents(ctx, req.GetDealer())
	if err != nil {
		return nil, err
	}
	out := &callbackv1.ListCallbackAgentsResponse{}
	for _, a := range agents {
		out.Agents = append(out.Agents, agentToProto(a))
	}
	return out, nil
}

// CreateCallbackAgent implements the RPC.
func (s *Server) CreateCallbackAgent(ctx context.Context, req *callbackv1.CreateCallbackAgentRequest) (*callbackv1.CallbackAgent, error) {
	a, err := s.svc.PutAgent(ctx, req.GetDealer(), req.GetAgent().GetSubject(), req.GetAgent().GetDisplayName())
	if err != nil {
		return nil, err
	}
	return agentToProto(*a), nil
}

// DeleteCallbackAgent implements the RPC.
func (s *Server) DeleteCallbackAgent(ctx context.Context, req *callbackv1.DeleteCallbackAgentRequest) (*callbackv1.DeleteCallbackAgentResponse, error) {
	if err := s.svc.DeleteAgent(ctx, req.GetDealer(), req.GetAgent()); err != nil {
		return nil, err
	}
	return &callbackv1.DeleteCallbackAgentResponse{}, nil
}

func policy(p callback.Policy, err error) (*callbackv1.CallbackPolicy, error) {
	if err != nil {
		return nil, err
	}
	return PolicyToProto(p), nil
}

// GetCallbackPolicy implements the RPC.
func (s *Server) GetCallbackPolicy(ctx context.Context, req *callbackv1.GetCallbackPolicyRequest) (*callbackv1.CallbackPolicy, error) {
	return policy(s.svc.Policy(ctx, req.GetDealer()))
}

// UpdateCallbackPolicy implements the RPC.
func (s *Server) UpdateCallbackPolicy(ctx context.Context, req *callbackv1.UpdateCallbackPolicyRequest) (*callbackv1.CallbackPolicy, error) {
	return policy(s.svc.PutPolicy(ctx, req.GetDealer(), policyFromProto(req.GetPolicy())))
}

// GetDefaultCallbackPolicy implements the RPC.
func (s *Server) GetDefaultCallbackPolicy(ctx context.Context, _ *callbackv1.GetDefaultCallbackPolicyRequest) (*callbackv1.CallbackPolicy, error) {
	return policy(s.svc.DefaultPolicy(ctx))
}

// UpdateDefaultCallbackPolicy implements the RPC.
func (s *Server) UpdateDefaultCallbackPolicy(ctx context.Context, req *callbackv1.UpdateDefaultCallbackPolicyRequest) (*callbackv1.CallbackPolicy, error) {
	return policy(s.svc.PutDefaultPolicy(ctx, policyFromProto(req.GetPolicy())))
}

// ListQuestionnaires implements the RPC.
func (s *Server) ListQuestionnaires(ctx context.Context, req *callbackv1.ListQuestionnairesRequest) (*callbackv1.ListQuestionnairesResponse, error) {
	qs, err := s.svc.Questionnaires(ctx, kindName(req.GetKind()))
	if err != nil {
		return nil, err
	}
	out := &callbackv1.ListQuestionnairesResponse{}
	for i := range qs {
		out.Questionnaires = append(out.Questionnaires, QuestionnaireToProto(&qs[i]))
	}
	return out, nil
}

func questionnaire(q *callback.Questionnaire, err error) (*callbackv1.Questionnaire, error) {
	if err != nil {
		return nil, err
	}
	return QuestionnaireToProto(q), nil
}

// CreateQuestionnaire implements the RPC.
func (s *Server) CreateQuestionnaire(ctx context.Context, req *callbackv1.CreateQuestionnaireRequest) (*callbackv1.Questionnaire, error) {
	in := req.GetQuestionnaire()
	return questionnaire(s.svc.CreateQuestionnaire(ctx, callback.Questionnaire{Kind: kindName(in.GetKind()), Title: in.GetTitle(), Script: in.GetScript(),
		Questions: questionsFromProto(in.GetQuestions())}))
}

// GetDealerQuestionnaire implements the RPC.
func (s *Server) GetDealerQuestionnaire(ctx context.Context, req *callbackv1.GetDealerQuestionnaireRequest) (*callbackv1.Questionnaire, error) {
	return questionnaire(s.svc.DealerQuestionnaire(ctx, req.GetDealer(), kindName(req.GetKind())))
}

// UpdateDealerQuestions implements the RPC.
func (s *Server) UpdateDealerQuestions(ctx context.Context, req *callbackv1.UpdateDealerQuestionsRequest) (*callbackv1.Questionnaire, error) {
	return questionnaire(s.svc.PutDealerQuestions(ctx, req.GetDealer(), kindName(req.GetKind()), questionsFromProto(req.GetQuestions())))
}

// GetCallbackReport implements the RPC.
func (s *Server) GetCallbackReport(ctx context.Context, req *callbackv1.GetCallbackReportRequest) (*callbackv1.CallbackReport, error) {
	r, err := s.svc.Report(ctx, req.GetDealer(), pbconv.EnumName(req.GetPeriod().String(), "REPORT_PERIOD_"), req.GetDate())
	if err != nil {
		return nil, err
	}
	out := &callbackv1.CallbackReport{Dealer: req.GetDealer(), StartDate: r.Period.StartDate, EndDate: r.Period.EndDate, TimeZone: r.TimeZone,
		Period: callbackv1.ReportPeriod(pbconv.EnumValue(r.Period.Kind, "REPORT_PERIOD_", callbackv1.ReportPeriod_value)), Total: figuresToProto(r.Total)}
	for _, f := range r.Kinds {
		out.Kinds = append(out.Kinds, figuresToProto(f))
	}
	return out, nil
}
