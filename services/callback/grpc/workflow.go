package grpc

import (
	"context"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	"github.com/dealercare/dealercare/pkg/pbconv"
	"github.com/dealercare/dealercare/services/callback/callback"
	"google.golang.org/protobuf/types/known/durationpb"
)

// WorkflowServer implements the internal
// callbackv1.CallbackWorkflowServiceServer over callback.Service: only the
// platform's service identity (the worker) may call it, and every call is
// idempotent.
type WorkflowServer struct {
	callbackv1.UnimplementedCallbackWorkflowServiceServer
	svc *callback.Service
}

// NewWorkflowServer returns the callback workflows' API.
func NewWorkflowServer(svc *callback.Service) *WorkflowServer {
	return &WorkflowServer{svc: svc}
}

// GetCallbackSchedule implements the RPC.
func (s *WorkflowServer) GetCallbackSchedule(ctx context.Context, req *callbackv1.GetCallbackScheduleRequest) (*callbackv1.CallbackSchedule, error) {
	sc, err := s.svc.Schedule(ctx, req.GetDealer(), kindName(req.GetKind()))
	if err != nil {
		return nil, err
	}
	p, t := sc.Policy, sc.Timing
	severity, rules := severityRulesToProto(p)
	return &callbackv1.CallbackSchedule{
		Delay: durationpb.New(t.Delay), Window: durationpb.New(t.Window), MaxAttempts: int32(p.MaxAttempts),
		RetryInterval: durationpb.New(p.RetryInterval), CallingStart: p.CallingStart, CallingEnd: p.CallingEnd,
		TimeZone: sc.TimeZone, ScoreThreshold: p.ScoreThreshold, ComplaintSeverity: severity, ComplaintSeverityRules: rules,
	}, nil
}

// EnsureCallbackTask implements the RPC.
func (s *WorkflowServer) EnsureCallbackTask(ctx context.Context, req *callbackv1.EnsureCallbackTaskRequest) (*callbackv1.CallbackTask, error) {
	return task(s.svc.Ensure(ctx, callback.Task{
		Dealer: req.GetDealer(), Kind: kindName(req.GetKind()), SourceType: req.GetSourceType(), SourceID: req.GetSourceId(),
		WorkflowID: req.GetWorkflowId(), Customer: req.GetCustomer(), VIN: req.GetVin(), RepairOrderNumber: req.GetRepairOrderNumber(),
		Complaint: req.GetComplaint(), DueTime: pbconv.Time(req.GetDueTime()), Deadline: pbconv.Time(req.GetDeadline()),
	}, req.GetDoNotCall()))
}

// ScheduleCallbackRetry implements the RPC.
func (s *WorkflowServer) ScheduleCallbackRetry(ctx context.Context, req *callbackv1.ScheduleCallbackRetryRequest) (*callbackv1.CallbackTask, error) {
	return task(s.svc.ScheduleRetry(ctx, req.GetDealer(), req.GetTask(), int(req.GetAfterAttempt()), req.GetNextAttemptTime().AsTime()))
}

// EndCallbackTask implements the RPC.
func (s *WorkflowServer) EndCallbackTask(ctx context.Context, req *callbackv1.EndCallbackTaskRequest) (*callbackv1.CallbackTask, error) {
	return task(s.svc.End(ctx, req.GetDealer(), req.GetTask(), statusName(req.GetStatus()), req.GetReason(), req.GetTime().AsTime()))
}

// LinkCallbackComplaint implements the RPC.
func (s *WorkflowServer) LinkCallbackComplaint(ctx context.Context, req *callbackv1.LinkCallbackComplaintRequest) (*callbackv1.CallbackTask, error) {
	return task(s.svc.LinkComplaint(ctx, req.GetDealer(), req.GetTask(), req.GetComplaint()))
}
