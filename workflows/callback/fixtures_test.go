package callback

import (
	"context"
	"encoding/json"

	"sync"
	"time"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

const (
	testDealer   = "SH001"
	testRO       = "RO-1"
	testCustomer = "CU-1"
	testVIN      = "LSVAA4182E2100001"
	testTask     = "T-1"
)

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

// wall reads "2026-03-09 10:00" in Asia/Shanghai.
func wall(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

// schedule is a dealer's callback schedule; defaultSchedule the one most
// tests use: 3 days' delay, a 5-day window, 3 attempts a day apart,
// 09:00-21:00 in Shanghai, complaints HIGH under 50 and MEDIUM otherwise.
func defaultSchedule() *callbackv1.CallbackSchedule {
	return &callbackv1.CallbackSchedule{
		Delay: durationpb.New(72 * time.Hour), Window: durationpb.New(5 * 24 * time.Hour),
		MaxAttempts: 3, RetryInterval: durationpb.New(24 * time.Hour),
		CallingStart: "09:00", CallingEnd: "21:00", TimeZone: "Asia/Shanghai", ScoreThreshold: 80,
		ComplaintSeverity:      complaintv1.Severity_SEVERITY_MEDIUM,
		ComplaintSeverityRules: []*callbackv1.ComplaintSeverityRule{{ScoreBelow: 50, Severity: complaintv1.Severity_SEVERITY_HIGH}},
	}
}

// fakeWorkflowService is the callback service's CallbackWorkflowService
// for one task, T-1: it keeps the task's status and every request.
type fakeWorkflowService struct {
	callbackv1.CallbackWorkflowServiceClient

	mu       sync.Mutex
	schedule *callbackv1.CallbackSchedule
	task     *callbackv1.CallbackTask // nil until ensured, unless preset
	ensures  []*callbackv1.EnsureCallbackTaskRequest
	retries  []*callbackv1.ScheduleCallbackRetryRequest
	ends     []*callbackv1.EndCallbackTaskRequest
	links    []*callbackv1.LinkCallbackComplaintRequest
	getErr   error
}

func (f *fakeWorkflowService) GetCallbackSchedule(_ context.Context, in *callbackv1.GetCallbackScheduleRequest, _ ...grpc.CallOption) (*callbackv1.CallbackSchedule, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.getErr != nil {
		return nil, f.getErr
	}
	if in.GetDealer() != testDealer {
		return nil, status.Error(codes.NotFound, "dealer not found")
	}
	return proto.CloneOf(f.schedule), nil
}

func (f *fakeWorkflowService) EnsureCallbackTask(_ context.Context, in *callbackv1.EnsureCallbackTaskRequest, _ ...grpc.CallOption) (*callbackv1.CallbackTask, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ensures = append(f.ensures, in)
	if f.task == nil {
		st := callbackv1.CallbackStatus_CALLBACK_STATUS_PENDING
		if in.GetDoNotCall() {
			st = callbackv1.CallbackStatus_CALLBACK_STATUS_CANCELLED
		}
		f.task = &callbackv1.CallbackTask{
			Id: testTask, Dealer: in.GetDealer(), Kind: in.GetKind(), Status: st, SourceType: in.GetSourceType(), SourceId: in.GetSourceId(),
			Customer: in.GetCustomer(), Vin: in.GetVin(), RepairOrderNumber: in.GetRepairOrderNumber(), Complaint: in.GetComplaint(),
			DueTime: in.GetDueTime(), Deadline: in.GetDeadline(),
		}
	}
	return proto.CloneOf(f.task), nil
}

func (f *fakeWorkflowService) ScheduleCallbackRetry(_ context.Context, in *callbackv1.ScheduleCallbackRetryRequest, _ ...grpc.CallOption) (*callbackv1.CallbackTask, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retries = append(f.retries, in)
	f.task.NextAttemptTime = in.GetNextAttemptTime()
	return proto.CloneOf(f.task), nil
}

func (f *fakeWorkflowService) EndCallbackTask(_ context.Context, in *callbackv1.EndCallbackTaskRequest, _ ...grpc.CallOption) (*callbackv1.CallbackTask, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ends = append(f.ends, in)
	if st := f.task.GetStatus(); st == callbackv1.CallbackStatus_CALLBACK_STATUS_PENDING || st == callbackv1.CallbackStatus_CALLBACK_STATUS_IN_PROGRESS {
		f.task.Status, f.task.EndReason = in.GetStatus(), in.GetReason()
	}
	return proto.CloneOf(f.task), nil
}

func (f *fakeWorkflowService) LinkCallbackComplaint(_ context.Context, in *callbackv1.LinkCallbackComplaintRequest, _ ...grpc.CallOption) (*callbackv1.CallbackTask, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.links = append(f.links, in)
	f.task.Complaint = in.GetComplaint()
	return proto.CloneOf(f.task), nil
}

// setStatus changes the task behind the workflow's back (an agent).
func (f *fakeWorkflowService) setStatus(st callbackv1.CallbackStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.task.Status = st
}

func (f *fakeWorkflowService) snapshot() (ensures []*callbackv1.EnsureCallbackTaskRequest, retries []*callbackv1.ScheduleCallbackRetryRequest, ends []*callbackv1.EndCallbackTaskRequest, links []*callbackv1.LinkCallbackComplaintRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append(ensures, f.ensures...), append(retries, f.retries...), append(ends, f.ends...), append(links, f.links...)
}

// fakeTasks is the CallbackService's GetCallbackTask: the task with the
// agent's findings.
type fakeTasks struct {
	callbackv1.CallbackServiceClient
	findings string
}

func (f *fakeTasks) GetCallbackTask(_ context.Context, in *callbackv1.GetCallbackTaskRequest, _ ...grpc.CallOption) (*callbackv1.CallbackTask, error) {
	if in.GetTask() != testTask {
		return nil, status.Error(codes.NotFound, "task not found")
	}
	return &callbackv1.CallbackTask{Id: testTask, Dealer: in.GetDealer(), Customer: testCustomer, Vin: testVIN, Findings: f.findings}, nil
}

// fakeComplaints is the complaint service: CreateComplaint keyed by
// source, Close and Reopen with the state machine's refusals.
type fakeComplaints struct {
	complaintv1.ComplaintServiceClient

	mu      sync.Mutex
	creates []*complaintv1.CreateComplaintRequest
	closes  []*complaintv1.CloseComplaintRequest
	reopens []*complaintv1.ReopenComplaintRequest
	// state of the complaint followed up.
	state complaintv1.State
}

func (f *fakeComplaints) CreateComplaint(_ context.Context, in *complaintv1.CreateComplaintRequest, _ ...grpc.CallOption) (*complaintv1.Complaint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.creates = append(f.creates, in)
	return &complaintv1.Complaint{Id: "CP-1", Source: in.GetComplaint().GetSource()}, nil
}

func (f *fakeComplaints) GetComplaint(_ context.Context, in *complaintv1.GetComplaintRequest, _ ...grpc.CallOption) (*complaintv1.Complaint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &complaintv1.Complaint{Id: in.GetComplaint(), State: f.state}, nil
}

func (f *fakeComplaints) CloseComplaint(_ context.Context, in *complaintv1.CloseComplaintRequest, _ ...grpc.CallOption) (*complaintv1.Complaint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closes = append(f.closes, in)
	if f.state != complaintv1.State_STATE_RESOLVED {
		return nil, status.Errorf(codes.FailedPrecondition, "complaint is %s", f.state)
	}
	f.state = complaintv1.State_STATE_CLOSED
	return &complaintv1.Complaint{Id: in.GetComplaint(), State: f.state}, nil
}

func (f *fakeComplaints) ReopenComplaint(_ context.Context, in *complaintv1.ReopenComplaintRequest, _ ...grpc.CallOption) (*complaintv1.Complaint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reopens = append(f.reopens, in)
	if f.state != complaintv1.State_STATE_RESOLVED {
		return nil, status.Errorf(codes.FailedPrecondition, "complaint is %s", f.state)
	}
	f.state = complaintv1.State_STATE_REOPENED
	return &complaintv1.Complaint{Id: in.GetComplaint(), State: f.state}, nil
}

func (f *fakeComplaints) snapshot() ([]*complaintv1.CreateComplaintRequest, []*complaintv1.CloseComplaintRequest, []*complaintv1.ReopenComplaintRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*complaintv1.CreateComplaintRequest(nil), f.creates...), append([]*complaintv1.CloseComplaintRequest(nil), f.closes...), append([]*complaintv1.ReopenComplaintRequest(nil), f.reopens...)
}

// fakeArchive is the customer archive's GetCustomer: customers with their
// call consent (nil: no entry); unknown customers are NotFound.
type fakeArchive struct {
	customerv1.ArchiveServiceClient

	mu      sync.Mutex
	consent map[string]*bool
	calls   int
}

func (f *fakeArchive) GetCustomer(_ context.Context, in *customerv1.GetCustomerRequest, _ ...grpc.CallOption) (*customerv1.Customer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	granted, ok := f.consent[in.GetCustomer()]
	if !ok || in.GetDealer() != testDealer {
		return nil, status.Error(codes.NotFound, "customer not found")
	}
	c := &customerv1.Customer{Id: in.GetCustomer(), Consents: []*customerv1.Consent{{Channel: customerv1.Channel_CHANNEL_SMS, Granted: false}}}
	if granted != nil {
		c.Consents = append(c.Consents, &customerv1.Consent{Channel: customerv1.Channel_CHANNEL_CALL, Granted: *granted})
	}
	return c, nil
}

func (f *fakeArchive) setCallConsent(customer string, granted bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.consent[customer] = &granted
}

// envelope wraps a payload as the relay sends it.
func envelope(id, kind string, at time.Time, payload any) outbox.Envelope {
	b, err := json.Marshal(payload)
	if err != nil {
		panic(err)
	}
	return outbox.Envelope{EventID: id, Kind: kind, DealerID: testDealer, OccurredAt: at.UTC(), Payload: b}
}

func roClosed(id string, closed time.Time) outbox.Envelope {
	return envelope(id, events.KindRepairOrderClosed, closed, events.RepairOrderClosed{
		Dealer: testDealer, RepairOrderID: testRO, Number: "RO20260309001", VIN: testVIN, CustomerID: testCustomer,
		Type: "maintenance", OpenTime: closed.Add(-2 * time.Hour), CloseTime: closed, MileageKM: 5000,
	})
}

func delivered(id string, at time.Time) outbox.Envelope {
	return envelope(id, events.KindVehicleDelivered, at, events.VehicleDelivered{
		Dealer: testDealer, SaleID: "S-1", VIN: testVIN, CustomerID: testCustomer, DeliveredTime: at,
	})
}

func resolved(id string, at time.Time, round int) outbox.Envelope {
	return envelope(id, events.KindComplaintResolved, at, events.ComplaintResolution{
		ComplaintID: "C-9", Dealer: testDealer, OriginDealer: testDealer, Customer: testCustomer, VIN: testVIN, Round: round, ResolveTime: at,
	})
}

func attempted(id string, number int, outcome string, at, callBack time.Time) outbox.Envelope {
	return envelope(id, events.KindCallbackAttempted, at, events.CallbackAttempted{
		TaskID: testTask, Dealer: testDealer, Number: number, Outcome: outcome, At: at, CallBackTime: callBack,
	})
}

func completed(id string, at time.Time, score float64, satisfied bool) outbox.Envelope {
	return envelope(id, events.KindCallbackCompleted, at, events.CallbackCompleted{
		TaskID: testTask, Dealer: testDealer, Score: score, Satisfied: satisfied, ProblemReported: !satisfied, At: at,
	})
}

func cancelled(id string, at time.Time) outbox.Envelope {
	return envelope(id, events.KindCallbackCancelled, at, events.CallbackCancelled{TaskID: testTask, Dealer: testDealer, At: at})
}

func start3DC() Input {
	return Input{CallbackStart: events.CallbackStart{Kind: events.Callback3DC, Dealer: testDealer, SourceType: events.SourceRepairOrder, SourceID: testRO}}
}

func ptr[T any](v T) *T { return &v }

// inShanghai prints an instant as Shanghai wall time, for messages.
func inShanghai(t time.Time) string { return t.In(shanghai).Format("2006-01-02 15:04 Mon") }

func durationpbHours(h int) *durationpb.Duration { return durationpb.New(time.Duration(h) * time.Hour) }

func clientStartOptions(id string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{ID: id}
}
