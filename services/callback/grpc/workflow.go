package grpc

import (
	"context"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/pbconv"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/services/callback/callback"
	"github.com/dealercare/dealercare/services/callback/postgres"
	"google.golang.org/protobuf/types/known/durationpb"
)

// WorkflowServer implements the internal
// callbackv1.CallbackWorkflowServiceServer: only the platform's service
// identity (the worker) may call it, and every call is idempotent.
type WorkflowServer struct {
	callbackv1.UnimplementedCallbackWorkflowServiceServer
	store   *postgres.Store
	network tenancy.Network
}

// NewWorkflowServer returns the callback workflows' API.
func NewWorkflowServer(store *postgres.Store, network tenancy.Network) *WorkflowServer {
	return &WorkflowServer{store: store, network: network}
}

func requireService(ctx context.Context) error {
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	if !p.IsService() {
		return apperr.Errorf(apperr.EFORBIDDEN, "only the platform's service identity may call this").Zh("仅平台服务身份可调用")
	}
	return nil
}

// GetCallbackSchedule implements the RPC.
func (s *WorkflowServer) GetCallbackSchedule(ctx context.Context, req *callbackv1.GetCallbackScheduleRequest) (*callbackv1.CallbackSchedule, error) {
	if err := requireService(ctx); err != nil {
		return nil, err
	}
	p, err := s.store.Policy(ctx, req.GetDealer())
	if err != nil {
		return nil, err
	}
	zone, err := s.network.TimeZone(ctx, req.GetDealer())
	if err != nil {
		return nil, err
	}
	t, _ := p.Timing(kindName(req.GetKind()))
	severity, rules := severityRulesToProto(p)
	return &callbackv1.CallbackSchedule{
		Delay: durationpb.New(t.Delay), Window: durationpb.New(t.Window), MaxAttempts: int32(p.MaxAttempts),
		RetryInterval: durationpb.New(p.RetryInterval), CallingStart: p.CallingStart, CallingEnd: p.CallingEnd,
		TimeZone: zone, ScoreThreshold: p.ScoreThreshold, ComplaintSeverity: severity, ComplaintSeverityRules: rules,
	}, nil
}

// EnsureCallbackTask implements the RPC.
func (s *WorkflowServer) EnsureCallbackTask(ctx context.Context, req *callbackv1.EnsureCallbackTaskRequest) (*callbackv1.CallbackTask, error) {
	if err := requireService(ctx); err != nil {
		return nil, err
	}
	now := callback.Now()
	t, err := callback.NewTask(callback.Task{
		Dealer: req.GetDealer(), Kind: kindName(req.GetKind()), SourceType: req.GetSourceType(), SourceID: req.GetSourceId(),
		WorkflowID: req.GetWorkflowId(), Customer: req.GetCustomer(), VIN: req.GetVin(), RepairOrderNumber: req.GetRepairOrderNumber(),
		Complaint: req.GetComplaint(), DueTime: pbconv.Time(req.GetDueTime()), Deadline: pbconv.Time(req.GetDeadline()), CreateTime: now,
	}, req.GetDoNotCall(), now)
	if err != nil {
		return nil, err
	}
	out, err := s.store.Ensure(ctx, t)
	if err != nil {
		return nil, err
	}
	return TaskToProto(out), nil
}

// update changes dealer's task id; fn reports whether it changed anything.
func (s *WorkflowServer) update(ctx context.Context, dealer, id string, fn func(*callback.Task) (bool, error)) (*callbackv1.CallbackTask, error) {
	if err := requireService(ctx); err != nil {
		return nil, err
	}
	out, err := s.store.Update(ctx, pg.Dealers(dealer), dealer, id, callback.Now(), func(t *callback.Task) (postgres.Change, error) {
		changed, err := fn(t)
		return postgres.Change{Unchanged: !changed}, err
	})
	if err != nil {
		return nil, err
	}
	return TaskToProto(out), nil
}

// ScheduleCallbackRetry implements the RPC: ignored unless the task is
// pending after exactly after_attempt attempts.
func (s *WorkflowServer) ScheduleCallbackRetry(ctx context.Context, req *callbackv1.ScheduleCallbackRetryRequest) (*callbackv1.CallbackTask, error) {
	return s.update(ctx, req.GetDealer(), req.GetTask(), func(t *callback.Task) (bool, error) {
		return t.ScheduleRetry(int(req.GetAfterAttempt()), req.GetNextAttemptTime().AsTime()), nil
	})
}

// EndCallbackTask implements the RPC: a task that already ended stays as
// it is.
func (s *WorkflowServer) EndCallbackTask(ctx context.Context, req *callbackv1.EndCallbackTaskRequest) (*callbackv1.CallbackTask, error) {
	return s.update(ctx, req.GetDealer(), req.GetTask(), func(t *callback.Task) (bool, error) {
		return t.End(statusName(req.GetStatus()), req.GetReason(), req.GetTime().AsTime())
	})
}

// LinkCallbackComplaint implements the RPC.
func (s *WorkflowServer) LinkCallbackComplaint(ctx context.Context, req *callbackv1.LinkCallbackComplaintRequest) (*callbackv1.CallbackTask, error) {
	return s.update(ctx, req.GetDealer(), req.GetTask(), func(t *callback.Task) (bool, error) {
		return t.LinkComplaint(req.GetComplaint())
	})
}
