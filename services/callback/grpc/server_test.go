package grpc_test

import (
	"context"
	"log/slog"
	"math"
	"testing"
	"time"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/auth/authtest"
	"github.com/dealercare/dealercare/pkg/grpcserver"
	"github.com/dealercare/dealercare/pkg/pgtest"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/services/callback/callback"
	callbackgrpc "github.com/dealercare/dealercare/services/callback/grpc"
	"github.com/dealercare/dealercare/services/callback/postgres"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// network is the dealer network of the tests: EAST holds SH001 and HZ001,
// NORTH BJ001.
type network struct{}

func (network) VisibleDealers(ctx context.Context) ([]string, error) {
	p, _ := auth.PrincipalFromContext(ctx)
	if p.Region == "EAST" {
		return []string{"SH001", "HZ001"}, nil
	}
	return []string{"BJ001"}, nil
}

func (network) DealerExists(_ context.Context, dealer string) (bool, error) {
	return dealer != "XX999", nil
}

func (network) TimeZone(context.Context, string) (string, error) { return "Asia/Shanghai", nil }

type stack struct {
	api      callbackv1.CallbackServiceClient
	workflow callbackv1.CallbackWorkflowServiceClient
	id       *authtest.Issuer
}

func start(t *testing.T) *stack {
	t.Helper()
	db := pgtest.NewFrom(t, postgres.Schema, postgres.Migrations)
	pool := db.AppPool(t, pg.Config{})
	id := authtest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	verifier, err := auth.NewVerifier(ctx, id.Config)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	srv, err := grpcserver.New(grpcserver.Config{Addr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second}, verifier, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	store := postgres.NewStore(pool)
	svc := callback.NewService(store, tenancy.Access{Network: network{}}, time.Now)
	callbackv1.RegisterCallbackServiceServer(srv.Server, callbackgrpc.NewServer(svc))
	callbackv1.RegisterCallbackWorkflowServiceServer(srv.Server, callbackgrpc.NewWorkflowServer(svc))
	if err := srv.Listen(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &stack{api: callbackv1.NewCallbackServiceClient(conn), workflow: callbackv1.NewCallbackWorkflowServiceClient(conn), id: id}
}

func (s *stack) as(t *testing.T, p auth.Principal) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return auth.WithToken(ctx, s.id.Token(t, p))
}

func dealerUser(sub, dealer string, roles ...auth.Role) auth.Principal {
	return auth.Principal{Subject: sub, Roles: roles, Dealer: dealer}
}

var (
	worker    = auth.Principal{Subject: "worker", Roles: []auth.Role{auth.RoleService}}
	hqAdmin   = auth.Principal{Subject: "hq-1", Roles: []auth.Role{auth.RoleHQAdmin}}
	agentSH   = dealerUser("agent-sh", "SH001", auth.RoleAgent)
	managerSH = dealerUser("mgr-sh", "SH001", auth.RoleDealerManager)
	serviceSH = dealerUser("sm-sh", "SH001", auth.RoleServiceManager)
	agentBJ   = dealerUser("agent-bj", "BJ001", auth.RoleAgent)
	managerBJ = dealerUser("mgr-bj", "BJ001", auth.RoleDealerManager)
	eastRM    = auth.Principal{Subject: "rm-east", Roles: []auth.Role{auth.RoleRegionManager}, Region: "EAST"}
	northRM   = auth.Principal{Subject: "rm-north", Roles: []auth.Role{auth.RoleRegionManager}, Region: "NORTH"}
)

func wantCode(t *testing.T, what string, err error, code codes.Code) {
	t.Helper()
	if got := status.Code(err); got != code {
		t.Errorf("%s: got %v (%v), want %v", what, got, err, code)
	}
}

// wantField fails unless err is INVALID_ARGUMENT with a violation of field.
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("%s: got %v (%v), want InvalidArgument", field, st.Code(), err)
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return
				}
			}
		}
	}
	t.Errorf("no violation of %s in %v", field, st.Details())
}

func (s *stack) ensure(t *testing.T, dealer, source string) *callbackv1.CallbackTask {
	t.Helper()
	due := time.Now().Add(-time.Minute)
	task, err := s.workflow.EnsureCallbackTask(s.as(t, worker), &callbackv1.EnsureCallbackTaskRequest{
		Dealer: dealer, Kind: callbackv1.CallbackKind_CALLBACK_KIND_3DC, SourceType: "repair_order", SourceId: source,
		WorkflowId: "callback/3DC/" + source, DueTime: timestamppb.New(due), Deadline: timestamppb.New(due.Add(48 * time.Hour)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// every CallbackService RPC addressed at dealer (task id where it takes one).
func everyRPC(s *stack, dealer, task string) map[string]func(context.Context) error {
	kind := callbackv1.CallbackKind_CALLBACK_KIND_3DC
	return map[string]func(context.Context) error{
		"List": func(ctx context.Context) error {
			_, err := s.api.ListCallbackTasks(ctx, &callbackv1.ListCallbackTasksRequest{Dealer: dealer})
			return err
		},
		"Get": func(ctx context.Context) error {
			_, err := s.api.GetCallbackTask(ctx, &callbackv1.GetCallbackTaskRequest{Dealer: dealer, Task: task})
			return err
		},
		"Claim": func(ctx context.Context) error {
			_, err := s.api.ClaimCallbackTask(ctx, &callbackv1.ClaimCallbackTaskRequest{Dealer: dealer, Task: task})
			return err
		},
		"Assign": func(ctx context.Context) error {
			_, err := s.api.AssignCallbackTask(ctx, &callbackv1.AssignCallbackTaskRequest{Dealer: dealer, Task: task, Assignee: "x"})
			return err
		},
		"RecordAttempt": func(ctx context.Context) error {
			_, err := s.api.RecordCallbackAttempt(ctx, &callbackv1.RecordCallbackAttemptRequest{Dealer: dealer, Task: task, Number: 1, Outcome: callbackv1.AttemptOutcome_ATTEMPT_OUTCOME_REFUSED})
			return err
		},
		"Complete": func(ctx context.Context) error {
			_, err := s.api.CompleteCallbackTask(ctx, &callbackv1.CompleteCallbackTaskRequest{Dealer: dealer, Task: task})
			return err
		},
		"Cancel": func(ctx context.Context) error {
			_, err := s.api.CancelCallbackTask(ctx, &callbackv1.CancelCallbackTaskRequest{Dealer: dealer, Task: task, Reason: "x"})
			return err
		},
		"Instruct": func(ctx context.Context) error {
			_, err := s.api.InstructCallbackTask(ctx, &callbackv1.InstructCallbackTaskRequest{Dealer: dealer, Task: task, Instruction: "x"})
			return err
		},
		"Rectify": func(ctx context.Context) error {
			_, err := s.api.RectifyCallbackTask(ctx, &callbackv1.RectifyCallbackTaskRequest{Dealer: dealer, Task: task, Rectification: "x"})
			return err
		},
		"ListAgents": func(ctx context.Context) error {
			_, err := s.api.ListCallbackAgents(ctx, &callbackv1.ListCallbackAgentsRequest{Dealer: dealer})
			return err
		},
		"CreateAgent": func(ctx context.Context) error {
			_, err := s.api.CreateCallbackAgent(ctx, &callbackv1.CreateCallbackAgentRequest{Dealer: dealer, Agent: &callbackv1.CallbackAgent{Subject: "mole"}})
			return err
		},
		"DeleteAgent": func(ctx context.Context) error {
			_, err := s.api.DeleteCallbackAgent(ctx, &callbackv1.DeleteCallbackAgentRequest{Dealer: dealer, Agent: "agent-sh"})
			return err
		},
		"GetPolicy": func(ctx context.Context) error {
			_, err := s.api.GetCallbackPolicy(ctx, &callbackv1.GetCallbackPolicyRequest{Dealer: dealer})
			return err
		},
		"UpdatePolicy": func(ctx context.Context) error {
			_, err := s.api.UpdateCallbackPolicy(ctx, &callbackv1.UpdateCallbackPolicyRequest{Dealer: dealer, Policy: &callbackv1.CallbackPolicy{
				MaxAttempts: 3, CallingStart: "09:00", CallingEnd: "21:00", ScoreThreshold: 80}})
			return err
		},
		"GetDealerQuestionnaire": func(ctx context.Context) error {
			_, err := s.api.GetDealerQuestionnaire(ctx, &callbackv1.GetDealerQuestionnaireRequest{Dealer: dealer, Kind: kind})
			return err
		},
		"UpdateDealerQuestions": func(ctx context.Context) error {
			_, err := s.api.UpdateDealerQuestions(ctx, &callbackv1.UpdateDealerQuestionsRequest{Dealer: dealer, Kind: kind})
			return err
		},
		"Report": func(ctx context.Context) error {
			_, err := s.api.GetCallbackReport(ctx, &callbackv1.GetCallbackReportRequest{Dealer: dealer})
			return err
		},
	}
}

func TestAnotherDealerGetsNotFound(t *testing.T) {
	s := start(t)
	if _, err := s.api.CreateCallbackAgent(s.as(t, managerSH), &callbackv1.CreateCallbackAgentRequest{Dealer: "SH001", Agent: &callbackv1.CallbackAgent{Subject: "agent-sh"}}); err != nil {
		t.Fatal(err)
	}
	task := s.ensure(t, "SH001", "RO-1")
	for _, who := range []auth.Principal{agentBJ, managerBJ, northRM} {
		// SH001's path...
		for name, call := range everyRPC(s, "SH001", task.GetId()) {
			wantCode(t, who.Subject+" "+name+" on SH001", call(s.as(t, who)), codes.NotFound)
		}
	}
	// ...and SH001's task id under the caller's own dealer.
	serviceBJ := dealerUser("sm-bj", "BJ001", auth.RoleServiceManager)
	for name, who := range map[string]auth.Principal{"Get": agentBJ, "Claim": agentBJ, "RecordAttempt": agentBJ, "Complete": agentBJ,
		"Assign": managerBJ, "Cancel": managerBJ, "Instruct": serviceBJ, "Rectify": serviceBJ} {
		wantCode(t, who.Subject+" "+name+" on BJ001", everyRPC(s, "BJ001", task.GetId())[name](s.as(t, who)), codes.NotFound)
	}
	// Nothing changed.
	got, err := s.api.GetCallbackTask(s.as(t, agentSH), &callbackv1.GetCallbackTaskRequest{Dealer: "SH001", Task: task.GetId()})
	if err != nil || got.GetStatus() != callbackv1.CallbackStatus_CALLBACK_STATUS_PENDING || len(got.GetAttempts()) != 0 || got.GetAssignee() != "agent-sh" {
		t.Fatalf("after the attempts: %v %v", err, got)
	}
	agents, err := s.api.ListCallbackAgents(s.as(t, agentSH), &callbackv1.ListCallbackAgentsRequest{Dealer: "SH001"})
	if err != nil || len(agents.GetAgents()) != 1 || agents.GetAgents()[0].GetOpenTasks() != 1 {
		t.Fatalf("agents: %v %v", err, agents)
	}
	// The region manager of SH001 reads it but changes nothing.
	if _, err := s.api.GetCallbackTask(s.as(t, eastRM), &callbackv1.GetCallbackTaskRequest{Dealer: "SH001", Task: task.GetId()}); err != nil {
		t.Errorf("east region manager: %v", err)
	}
	wantCode(t, "east region manager claims", everyRPC(s, "SH001", task.GetId())["Claim"](s.as(t, eastRM)), codes.PermissionDenied)
}

func TestOnlyTheServiceRoleCallsTheWorkflowService(t *testing.T) {
	s := start(t)
	task := s.ensure(t, "SH001", "RO-1")
	now := timestamppb.Now()
	calls := map[string]func(context.Context) error{
		"GetCallbackSchedule": func(ctx context.Context) error {
			_, err := s.workflow.GetCallbackSchedule(ctx, &callbackv1.GetCallbackScheduleRequest{Dealer: "SH001", Kind: callbackv1.CallbackKind_CALLBACK_KIND_3DC})
			return err
		},
		"EnsureCallbackTask": func(ctx context.Context) error {
			_, err := s.workflow.EnsureCallbackTask(ctx, &callbackv1.EnsureCallbackTaskRequest{Dealer: "SH001", Kind: callbackv1.CallbackKind_CALLBACK_KIND_3DC,
				SourceType: "repair_order", SourceId: "RO-2", WorkflowId: "callback/3DC/RO-2", DueTime: now, Deadline: timestamppb.New(now.AsTime().Add(time.Hour))})
			return err
		},
		"ScheduleCallbackRetry": func(ctx context.Context) error {
			_, err := s.workflow.ScheduleCallbackRetry(ctx, &callbackv1.ScheduleCallbackRetryRequest{Dealer: "SH001", Task: task.GetId(), AfterAttempt: 1, NextAttemptTime: now})
			return err
		},
		"EndCallbackTask": func(ctx context.Context) error {
			_, err := s.workflow.EndCallbackTask(ctx, &callbackv1.EndCallbackTaskRequest{Dealer: "SH001", Task: task.GetId(), Status: callbackv1.CallbackStatus_CALLBACK_STATUS_EXPIRED, Time: now})
			return err
		},
		"LinkCallbackComplaint": func(ctx context.Context) error {
			_, err := s.workflow.LinkCallbackComplaint(ctx, &callbackv1.LinkCallbackComplaintRequest{Dealer: "SH001", Task: task.GetId(), Complaint: "c-1"})
			return err
		},
	}
	for _, who := range []auth.Principal{agentSH, managerSH, hqAdmin, eastRM} {
		for name, call := range calls {
			wantCode(t, who.Subject+" "+name, call(s.as(t, who)), codes.PermissionDenied)
		}
	}
	for name, call := range calls {
		wantCode(t, "worker "+name, call(s.as(t, worker)), codes.OK)
	}
	got, _ := s.api.GetCallbackTask(s.as(t, agentSH), &callbackv1.GetCallbackTaskRequest{Dealer: "SH001", Task: task.GetId()})
	if got.GetStatus() != callbackv1.CallbackStatus_CALLBACK_STATUS_EXPIRED || got.GetComplaint() != "c-1" {
		t.Fatalf("after the worker: %v", got)
	}
}

func TestCallbackLoop(t *testing.T) {
	s := start(t)
	task := s.ensure(t, "SH001", "RO-1")
	id := task.GetId()
	if task.GetQuestionnaire().GetVersion() != 1 || task.GetQuestionnaire().GetScript() == "" || task.GetFeedbackRole() != "service_manager" {
		t.Fatalf("questionnaire: %v", task.GetQuestionnaire())
	}
	agent := s.as(t, agentSH)
	queue, err := s.api.ListCallbackTasks(agent, &callbackv1.ListCallbackTasksRequest{Dealer: "SH001", DueOnly: true})
	if err != nil || len(queue.GetTasks()) != 1 {
		t.Fatalf("queue: %v %v", err, queue)
	}
	wantCode(t, "service manager claims", everyRPC(s, "SH001", id)["Claim"](s.as(t, serviceSH)), codes.PermissionDenied)
	wantCode(t, "agent cancels", everyRPC(s, "SH001", id)["Cancel"](agent), codes.PermissionDenied)
	wantCode(t, "agent sets the default policy", func() error {
		_, err := s.api.UpdateDefaultCallbackPolicy(agent, &callbackv1.UpdateDefaultCallbackPolicyRequest{Policy: &callbackv1.CallbackPolicy{MaxAttempts: 3, CallingStart: "09:00", CallingEnd: "21:00"}})
		return err
	}(), codes.PermissionDenied)

	attempt := func(n int32, outcome callbackv1.AttemptOutcome, later *timestamppb.Timestamp) (*callbackv1.CallbackTask, error) {
		return s.api.RecordCallbackAttempt(agent, &callbackv1.RecordCallbackAttemptRequest{Dealer: "SH001", Task: id, Number: n, Outcome: outcome, CallBackTime: later})
	}
	_, err = attempt(1, callbackv1.AttemptOutcome_ATTEMPT_OUTCOME_CALL_BACK_LATER, timestamppb.New(time.Now().Add(-time.Hour)))
	wantCode(t, "call back in the past", err, codes.InvalidArgument)
	if _, err := attempt(1, callbackv1.AttemptOutcome_ATTEMPT_OUTCOME_NO_ANSWER, nil); err != nil {
		t.Fatal(err)
	}
	if again, err := attempt(1, callbackv1.AttemptOutcome_ATTEMPT_OUTCOME_NO_ANSWER, nil); err != nil || len(again.GetAttempts()) != 1 {
		t.Fatalf("retried attempt: %v %v", err, again)
	}
	_, err = attempt(1, callbackv1.AttemptOutcome_ATTEMPT_OUTCOME_ANSWERED, nil)
	wantCode(t, "attempt 1 again with another outcome", err, codes.AlreadyExists)
	answered, err := attempt(2, callbackv1.AttemptOutcome_ATTEMPT_OUTCOME_ANSWERED, nil)
	if err != nil || answered.GetStatus() != callbackv1.CallbackStatus_CALLBACK_STATUS_IN_PROGRESS {
		t.Fatalf("answered: %v %v", err, answered)
	}
	complete := func(answers []*callbackv1.Answer, findings string) (*callbackv1.CallbackTask, error) {
		return s.api.CompleteCallbackTask(agent, &callbackv1.CompleteCallbackTaskRequest{Dealer: "SH001", Task: id, Answers: answers, Findings: findings})
	}
	_, err = complete([]*callbackv1.Answer{{Question: "Q9", Rating: 3}}, "")
	wantCode(t, "unknown question", err, codes.InvalidArgument)
	problem := []*callbackv1.Answer{{Question: "Q1", Rating: 4}, {Question: "Q2", YesNo: "no"}}
	_, err = complete(problem, "")
	wantCode(t, "problem without findings", err, codes.InvalidArgument)
	done, err := complete(problem, "刹车异响未修好")
	if err != nil || done.GetStatus() != callbackv1.CallbackStatus_CALLBACK_STATUS_COMPLETED || !done.GetProblemReported() || done.GetSatisfied() ||
		math.Abs(done.GetScore()-50*100.0/3/70) > 1e-9 {
		t.Fatalf("completed: %v %v (score %v)", err, done, done.GetScore())
	}
	if _, err := s.api.RectifyCallbackTask(s.as(t, serviceSH), &callbackv1.RectifyCallbackTaskRequest{Dealer: "SH001", Task: id, Rectification: "x"}); status.Code(err) != codes.AlreadyExists {
		t.Errorf("rectify before instruct: %v", err)
	}
	waiting, err := s.api.ListCallbackTasks(s.as(t, serviceSH), &callbackv1.ListCallbackTasksRequest{Dealer: "SH001", AwaitingInstruction: true})
	if err != nil || len(waiting.GetTasks()) != 1 {
		t.Fatalf("awaiting instruction: %v %v", err, waiting)
	}
	if _, err := s.api.InstructCallbackTask(s.as(t, serviceSH), &callbackv1.InstructCallbackTaskRequest{Dealer: "SH001", Task: id, Instruction: "技术经理复检"}); err != nil {
		t.Fatal(err)
	}
	rect, err := s.api.RectifyCallbackTask(s.as(t, serviceSH), &callbackv1.RectifyCallbackTaskRequest{Dealer: "SH001", Task: id, Rectification: "已更换刹车片"})
	if err != nil || rect.GetInstructedBy() != "sm-sh" || rect.GetRectifiedBy() != "sm-sh" {
		t.Fatalf("rectified: %v %v", err, rect)
	}

	report, err := s.api.GetCallbackReport(agent, &callbackv1.GetCallbackReportRequest{Dealer: "SH001", Period: callbackv1.ReportPeriod_REPORT_PERIOD_MONTH})
	if err != nil || report.GetTotal().GetCompleted() != 1 || report.GetTotal().GetAttempts() != 2 || report.GetTotal().GetProblemsFound() != 1 ||
		report.GetTimeZone() != "Asia/Shanghai" || len(report.GetKinds()) != 1 {
		t.Fatalf("report: %v %v", err, report)
	}
	_, err = s.api.GetCallbackReport(agent, &callbackv1.GetCallbackReportRequest{Dealer: "SH001", Date: "2026-02-30"})
	wantCode(t, "bad date", err, codes.InvalidArgument)

	// Policies: the dealer's manager overrides, the schedule follows.
	_, err = s.api.UpdateCallbackPolicy(s.as(t, managerSH), &callbackv1.UpdateCallbackPolicyRequest{Dealer: "SH001", Policy: &callbackv1.CallbackPolicy{
		MaxAttempts: 5, CallingStart: "21:00", CallingEnd: "09:00"}})
	wantCode(t, "calling hours backwards", err, codes.InvalidArgument)
	if _, err := s.api.UpdateCallbackPolicy(s.as(t, managerSH), &callbackv1.UpdateCallbackPolicyRequest{Dealer: "SH001", Policy: &callbackv1.CallbackPolicy{
		MaxAttempts: 5, CallingStart: "00:00", CallingEnd: "24:00", ScoreThreshold: 60}}); err != nil {
		t.Fatal(err)
	}
	sched, err := s.workflow.GetCallbackSchedule(s.as(t, worker), &callbackv1.GetCallbackScheduleRequest{Dealer: "SH001", Kind: callbackv1.CallbackKind_CALLBACK_KIND_3DC})
	if err != nil || sched.GetMaxAttempts() != 5 || sched.GetCallingEnd() != "24:00" || sched.GetDelay().AsDuration() != 72*time.Hour || sched.GetTimeZone() != "Asia/Shanghai" {
		t.Fatalf("schedule: %v %v", err, sched)
	}
	// Left unset, the complaint severities are the default: under 50 HIGH,
	// MEDIUM otherwise.
	if sched.GetComplaintSeverity() != complaintv1.Severity_SEVERITY_MEDIUM || len(sched.GetComplaintSeverityRules()) != 1 ||
		sched.GetComplaintSeverityRules()[0].GetScoreBelow() != 50 || sched.GetComplaintSeverityRules()[0].GetSeverity() != complaintv1.Severity_SEVERITY_HIGH {
		t.Fatalf("default complaint severities: %v", sched)
	}

	// The complaint severities: bad bands are refused naming the field; a
	// dealer's own reach its schedule, and HQ's default stays.
	_, err = s.api.UpdateCallbackPolicy(s.as(t, managerSH), &callbackv1.UpdateCallbackPolicyRequest{Dealer: "SH001", Policy: &callbackv1.CallbackPolicy{
		MaxAttempts: 5, CallingStart: "00:00", CallingEnd: "24:00", ScoreThreshold: 60, ComplaintSeverityRules: []*callbackv1.ComplaintSeverityRule{{ScoreBelow: 60, Severity: complaintv1.Severity_SEVERITY_HIGH}, {ScoreBelow: 30, Severity: complaintv1.Severity_SEVERITY_CRITICAL}}}})
	wantField(t, err, "policy.complaint_severity_rules[1].score_below")
	own := &callbackv1.CallbackPolicy{MaxAttempts: 5, CallingStart: "00:00", CallingEnd: "24:00", ScoreThreshold: 60, ComplaintSeverity: complaintv1.Severity_SEVERITY_LOW, ComplaintSeverityRules: []*callbackv1.ComplaintSeverityRule{
		{ScoreBelow: 30, Severity: complaintv1.Severity_SEVERITY_CRITICAL}, {ScoreBelow: 60, Severity: complaintv1.Severity_SEVERITY_HIGH}}}
	pol, err := s.api.UpdateCallbackPolicy(s.as(t, managerSH), &callbackv1.UpdateCallbackPolicyRequest{Dealer: "SH001", Policy: own})
	if err != nil || pol.GetComplaintSeverity() != own.GetComplaintSeverity() || len(pol.GetComplaintSeverityRules()) != 2 ||
		pol.GetComplaintSeverityRules()[1].GetScoreBelow() != 60 || !pol.GetOverridden() {
		t.Fatalf("own severities: %v %v", err, pol)
	}
	sched, err = s.workflow.GetCallbackSchedule(s.as(t, worker), &callbackv1.GetCallbackScheduleRequest{Dealer: "SH001", Kind: callbackv1.CallbackKind_CALLBACK_KIND_3DC})
	if err != nil || sched.GetComplaintSeverity() != complaintv1.Severity_SEVERITY_LOW || len(sched.GetComplaintSeverityRules()) != 2 ||
		sched.GetComplaintSeverityRules()[0].GetSeverity() != complaintv1.Severity_SEVERITY_CRITICAL {
		t.Fatalf("schedule with own severities: %v %v", err, sched)
	}
	if hq, err := s.api.GetDefaultCallbackPolicy(agent, &callbackv1.GetDefaultCallbackPolicyRequest{}); err != nil ||
		hq.GetComplaintSeverity() != complaintv1.Severity_SEVERITY_MEDIUM || len(hq.GetComplaintSeverityRules()) != 1 {
		t.Fatalf("HQ's default after a dealer's override: %v %v", err, hq)
	}

	// Dealer questions must start with D and not clash with HQ's.
	_, err = s.api.UpdateDealerQuestions(s.as(t, managerSH), &callbackv1.UpdateDealerQuestionsRequest{Dealer: "SH001", Kind: callbackv1.CallbackKind_CALLBACK_KIND_3DC,
		Questions: []*callbackv1.Question{{Code: "Q1", Text: "x", Type: callbackv1.QuestionType_QUESTION_TYPE_TEXT}}})
	wantCode(t, "dealer question without D", err, codes.InvalidArgument)
	q, err := s.api.UpdateDealerQuestions(s.as(t, managerSH), &callbackv1.UpdateDealerQuestionsRequest{Dealer: "SH001", Kind: callbackv1.CallbackKind_CALLBACK_KIND_3DC,
		Questions: []*callbackv1.Question{{Code: "D1", Text: "是否愿意推荐本店?", Type: callbackv1.QuestionType_QUESTION_TYPE_YES_NO}}})
	if err != nil || q.GetDealerVersion() != 1 || len(q.GetQuestions()) != 7 {
		t.Fatalf("dealer questions: %v %v", err, q)
	}
	_, err = s.api.CreateQuestionnaire(s.as(t, hqAdmin), &callbackv1.CreateQuestionnaireRequest{Questionnaire: &callbackv1.Questionnaire{
		Kind: callbackv1.CallbackKind_CALLBACK_KIND_3DC, Title: "SSI v2", Questions: []*callbackv1.Question{{Code: "Q1", Text: "x", Type: callbackv1.QuestionType_QUESTION_TYPE_CHOICE}}}})
	wantCode(t, "choice without options", err, codes.InvalidArgument)
}
