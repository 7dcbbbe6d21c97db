package grpc_test

import (
	"context"
	"testing"
	"time"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/grpcserver"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/services/callback/callback"
	"github.com/dealercare/dealercare/services/callback/callback/callbacktest"
	callbackgrpc "github.com/dealercare/dealercare/services/callback/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func ctxOf(p auth.Principal) context.Context {
	return auth.NewContextWithPrincipal(context.Background(), &p)
}

// The handlers convert proto ↔ domain both ways, on the in-memory store:
// a policy's complaint severities, a task's attempt and its enums, and the
// domain's errors as gRPC codes.
func TestHandlersConvertOnTheFake(t *testing.T) {
	now := time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)
	svc := callback.NewService(callbacktest.NewFake(), tenancy.Access{Network: network{}}, func() time.Time { return now })
	api, wf := callbackgrpc.NewServer(svc), callbackgrpc.NewWorkflowServer(svc)
	code := func(err error) codes.Code { return grpcserver.ToStatus(err).Code() }

	in := &callbackv1.CallbackPolicy{MaxAttempts: 4, CallingStart: "08:00", CallingEnd: "20:00", ScoreThreshold: 70,
		ComplaintSeverity: complaintv1.Severity_SEVERITY_LOW, ComplaintSeverityRules: []*callbackv1.ComplaintSeverityRule{
			{ScoreBelow: 40, Severity: complaintv1.Severity_SEVERITY_CRITICAL}}}
	out, err := api.UpdateCallbackPolicy(ctxOf(managerSH), &callbackv1.UpdateCallbackPolicyRequest{Dealer: "SH001", Policy: in})
	if err != nil || out.GetComplaintSeverity() != complaintv1.Severity_SEVERITY_LOW || len(out.GetComplaintSeverityRules()) != 1 ||
		out.GetComplaintSeverityRules()[0].GetSeverity() != complaintv1.Severity_SEVERITY_CRITICAL || out.GetComplaintSeverityRules()[0].GetScoreBelow() != 40 ||
		out.GetMaxAttempts() != 4 || !out.GetOverridden() || len(out.GetTimings()) != len(callback.Kinds) {
		t.Fatalf("policy: %v %v", err, out)
	}
	sched, err := wf.GetCallbackSchedule(ctxOf(worker), &callbackv1.GetCallbackScheduleRequest{Dealer: "SH001", Kind: callbackv1.CallbackKind_CALLBACK_KIND_7DC})
	if err != nil || sched.GetComplaintSeverity() != complaintv1.Severity_SEVERITY_LOW || sched.GetDelay().AsDuration() != 7*24*time.Hour ||
		sched.GetTimeZone() != "Asia/Shanghai" || sched.GetScoreThreshold() != 70 {
		t.Fatalf("schedule: %v %v", err, sched)
	}
	_, err = api.UpdateCallbackPolicy(ctxOf(managerSH), &callbackv1.UpdateCallbackPolicyRequest{Dealer: "SH001", Policy: &callbackv1.CallbackPolicy{
		ComplaintSeverityRules: []*callbackv1.ComplaintSeverityRule{{ScoreBelow: 40}}}})
	if code(err) != codes.InvalidArgument {
		t.Errorf("a rule without severity: %v", err)
	}

	if _, err := api.CreateQuestionnaire(ctxOf(hqAdmin), &callbackv1.CreateQuestionnaireRequest{Questionnaire: &callbackv1.Questionnaire{
		Kind: callbackv1.CallbackKind_CALLBACK_KIND_3DC, Title: "SSI",
		Questions: []*callbackv1.Question{{Code: "Q1", Text: "满意度", Type: callbackv1.QuestionType_QUESTION_TYPE_RATING, Weight: 1, Scale: 5}}}}); err != nil {
		t.Fatal(err)
	}
	task, err := wf.EnsureCallbackTask(ctxOf(worker), &callbackv1.EnsureCallbackTaskRequest{Dealer: "SH001", Kind: callbackv1.CallbackKind_CALLBACK_KIND_3DC,
		SourceType: "repair_order", SourceId: "RO-1", WorkflowId: "callback/3DC/RO-1", DueTime: timestamppb.New(now), Deadline: timestamppb.New(now.Add(48 * time.Hour))})
	if err != nil || task.GetStatus() != callbackv1.CallbackStatus_CALLBACK_STATUS_PENDING || task.GetKind() != callbackv1.CallbackKind_CALLBACK_KIND_3DC ||
		len(task.GetQuestionnaire().GetQuestions()) != 1 || !task.GetCreateTime().AsTime().Equal(now) {
		t.Fatalf("ensure: %v %v", err, task)
	}
	later := timestamppb.New(now.Add(3 * time.Hour))
	got, err := api.RecordCallbackAttempt(ctxOf(agentSH), &callbackv1.RecordCallbackAttemptRequest{Dealer: "SH001", Task: task.GetId(), Number: 1,
		Outcome: callbackv1.AttemptOutcome_ATTEMPT_OUTCOME_CALL_BACK_LATER, CallBackTime: later, Note: "开会中"})
	if err != nil || len(got.GetAttempts()) != 1 {
		t.Fatalf("attempt: %v %v", err, got)
	}
	if a := got.GetAttempts()[0]; a.GetOutcome() != callbackv1.AttemptOutcome_ATTEMPT_OUTCOME_CALL_BACK_LATER || !a.GetCallBackTime().AsTime().Equal(later.AsTime()) ||
		a.GetNote() != "开会中" || a.GetAgent() != "agent-sh" || !a.GetTime().AsTime().Equal(now) {
		t.Errorf("attempt %v", a)
	}
	_, err = api.ClaimCallbackTask(ctxOf(eastRM), &callbackv1.ClaimCallbackTaskRequest{Dealer: "SH001", Task: task.GetId()})
	if code(err) != codes.PermissionDenied {
		t.Errorf("region manager claims: %v", err)
	}
	_, err = api.GetCallbackTask(ctxOf(agentBJ), &callbackv1.GetCallbackTaskRequest{Dealer: "SH001", Task: task.GetId()})
	if code(err) != codes.NotFound {
		t.Errorf("another dealer reads: %v", err)
	}
}
