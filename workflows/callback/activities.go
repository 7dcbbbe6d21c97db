package callback

import (
	"context"
	"fmt"
	"strings"
	"time"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/callhours"
	"github.com/dealercare/dealercare/pkg/events"
	dctemporal "github.com/dealercare/dealercare/pkg/temporal"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Activities call the services over gRPC: the callback service's internal
// CallbackWorkflowService (and GetCallbackTask for a task's findings), the
// complaint service and the customer archive. The worker's connections
// carry the service token, which may see every dealer.
type Activities struct {
	Workflow   callbackv1.CallbackWorkflowServiceClient
	Tasks      callbackv1.CallbackServiceClient
	Complaints complaintv1.ComplaintServiceClient
	Archive    customerv1.ArchiveServiceClient
}

// Non-retryable failure types: the service refused the call and retrying
// cannot change its mind. Every other failure (Unavailable,
// DeadlineExceeded, a token being rotated) is retried.
const (
	ErrTypeInvalidArgument    = "InvalidArgument"
	ErrTypeNotFound           = "NotFound"
	ErrTypePermissionDenied   = "PermissionDenied"
	ErrTypeFailedPrecondition = "FailedPrecondition"
	ErrTypeInvalidSchedule    = "InvalidSchedule"
)

var nonRetryable = []string{ErrTypeInvalidArgument, ErrTypeNotFound, ErrTypePermissionDenied, ErrTypeFailedPrecondition, ErrTypeInvalidSchedule}

// permanent are the gRPC codes of a refusal retrying cannot change.
var permanent = []codes.Code{codes.InvalidArgument, codes.NotFound, codes.PermissionDenied, codes.FailedPrecondition}

// classify turns a gRPC error into the activity's error (the type of a
// permanent one is the code's name, as ErrType* above).
func classify(err error, format string, args ...any) error {
	return dctemporal.ServiceError(err, permanent, format, args...)
}

// Schedule is what the dealer's callback policy sets for a kind.
type Schedule struct {
	Delay          time.Duration `json:"delay"`
	Window         time.Duration `json:"window"`
	MaxAttempts    int           `json:"max_attempts"`
	RetryInterval  time.Duration `json:"retry_interval"`
	CallingStart   string        `json:"calling_start"`
	CallingEnd     string        `json:"calling_end"`
	TimeZone       string        `json:"time_zone"`
	ScoreThreshold float64       `json:"score_threshold"`
}

// hours are the schedule's calling hours and zone; GetCallbackSchedule
// has checked that they parse.
func (s Schedule) hours() (callhours.Window, *time.Location, error) {
	w, err := callhours.Parse(s.CallingStart, s.CallingEnd)
	if err != nil {
		return w, nil, err
	}
	if s.TimeZone == "" || s.TimeZone == "Local" {
		return w, nil, fmt.Errorf("time zone %q: want an IANA zone", s.TimeZone)
	}
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		return w, nil, fmt.Errorf("time zone %q: %w", s.TimeZone, err)
	}
	return w, loc, nil
}

// ScheduleInput selects a schedule.
type ScheduleInput struct {
	Dealer string `json:"dealer"`
	Kind   string `json:"kind"`
}

// GetCallbackSchedule loads the timing of a kind for a dealer and checks
// that the workflow can use it: calling hours that parse, a known zone, a
// positive window and attempts (ErrTypeInvalidSchedule otherwise).
func (a *Activities) GetCallbackSchedule(ctx context.Context, in ScheduleInput) (*Schedule, error) {
	res, err := a.Workflow.GetCallbackSchedule(ctx, &callbackv1.GetCallbackScheduleRequest{Dealer: in.Dealer, Kind: kindProto(in.Kind)})
	if err != nil {
		return nil, classify(err, "get callback schedule of dealer %s kind %s", in.Dealer, in.Kind)
	}
	s := &Schedule{
		Delay:          res.GetDelay().AsDuration(),
		Window:         res.GetWindow().AsDuration(),
		MaxAttempts:    int(res.GetMaxAttempts()),
		RetryInterval:  res.GetRetryInterval().AsDuration(),
		CallingStart:   res.GetCallingStart(),
		CallingEnd:     res.GetCallingEnd(),
		TimeZone:       res.GetTimeZone(),
		ScoreThreshold: res.GetScoreThreshold(),
	}
	_, _, err = s.hours()
	switch {
	case err != nil:
	case s.Delay < 0 || s.Window <= 0 || s.RetryInterval <= 0 || s.MaxAttempts < 1:
		err = fmt.Errorf("delay %s, window %s, retry interval %s, max attempts %d", s.Delay, s.Window, s.RetryInterval, s.MaxAttempts)
	}
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("callback schedule of dealer %s kind %s is unusable: %v", in.Dealer, in.Kind, err), ErrTypeInvalidSchedule, err)
	}
	return s, nil
}

// ConsentInput names a customer in a dealer's archive.
type ConsentInput struct {
	Dealer   string `json:"dealer"`
	Customer string `json:"customer"`
}

// Consent is the customer's answer to "may we call you?".
type Consent struct {
	DoNotCall bool `json:"do_not_call"`
}

// CheckCallConsent reads the customer's consents from the archive: an
// entry for CHANNEL_CALL that is not granted means do not call. No
// customer, no entry or a customer the archive does not know (merged or
// deleted since) leave calls allowed, as before consents were recorded.
func (a *Activities) CheckCallConsent(ctx context.Context, in ConsentInput) (*Consent, error) {
	if in.Customer == "" {
		return &Consent{}, nil
	}
	c, err := a.Archive.GetCustomer(ctx, &customerv1.GetCustomerRequest{Dealer: in.Dealer, Customer: in.Customer})
	if status.Code(err) == codes.NotFound {
		activity.GetLogger(ctx).Warn("customer not in the archive; calling allowed", "dealer", in.Dealer, "customer", in.Customer)
		return &Consent{}, nil
	}
	if err != nil {
		return nil, classify(err, "get customer %s of dealer %s", in.Customer, in.Dealer)
	}
	for _, k := range c.GetConsents() {
		if k.GetChannel() == customerv1.Channel_CHANNEL_CALL && !k.GetGranted() {
			return &Consent{DoNotCall: true}, nil
		}
	}
	return &Consent{}, nil
}

// Task is the part of a callback task the workflow acts on.
type Task struct {
	ID     string `json:"id"`
	Dealer string `json:"dealer"`
	// Status is the CallbackStatus without its prefix: PENDING, COMPLETED, ...
	Status    string `json:"status"`
	Complaint string `json:"complaint,omitempty"`
}

// Statuses of a task (CallbackStatus without the prefix).
const (
	StatusPending     = "PENDING"
	StatusInProgress  = "IN_PROGRESS"
	StatusCompleted   = "COMPLETED"
	StatusUnreachable = "UNREACHABLE"
	StatusRefused     = "REFUSED"
	StatusCancelled   = "CANCELLED"
	StatusExpired     = "EXPIRED"
)

// Ended reports whether the task is in a terminal status.
func (t Task) Ended() bool {
	switch t.Status {
	case StatusCompleted, StatusUnreachable, StatusRefused, StatusCancelled, StatusExpired:
		return true
	}
	return false
}

func taskOf(t *callbackv1.CallbackTask) *Task {
	return &Task{
		ID:        t.GetId(),
		Dealer:    t.GetDealer(),
		Status:    strings.TrimPrefix(t.GetStatus().String(), "CALLBACK_STATUS_"),
		Complaint: t.GetComplaint(),
	}
}

// EnsureInput creates a task for a source.
type EnsureInput struct {
	Dealer            string    `json:"dealer"`
	Kind              string    `json:"kind"`
	SourceType        string    `json:"source_type"`
	SourceID          string    `json:"source_id"`
	WorkflowID        string    `json:"workflow_id"`
	Customer          string    `json:"customer,omitempty"`
	VIN               string    `json:"vin,omitempty"`
	RepairOrderNumber string    `json:"repair_order_number,omitempty"`
	Complaint         string    `json:"complaint,omitempty"`
	Due               time.Time `json:"due"`
	Deadline          time.Time `json:"deadline"`
	DoNotCall         bool      `json:"do_not_call,omitempty"`
}

// EnsureCallbackTask creates the task for the source, or returns the one
// that exists (the service keys it by source).
func (a *Activities) EnsureCallbackTask(ctx context.Context, in EnsureInput) (*Task, error) {
	t, err := a.Workflow.EnsureCallbackTask(ctx, &callbackv1.EnsureCallbackTaskRequest{
		Dealer:            in.Dealer,
		Kind:              kindProto(in.Kind),
		SourceType:        in.SourceType,
		SourceId:          in.SourceID,
		WorkflowId:        in.WorkflowID,
		Customer:          in.Customer,
		Vin:               in.VIN,
		RepairOrderNumber: in.RepairOrderNumber,
		Complaint:         in.Complaint,
		DueTime:           timestamppb.New(in.Due),
		Deadline:          timestamppb.New(in.Deadline),
		DoNotCall:         in.DoNotCall,
	})
	if err != nil {
		return nil, classify(err, "ensure %s callback task of %s %s", in.Kind, in.SourceType, in.SourceID)
	}
	return taskOf(t), nil
}

// RetryInput plans the next attempt.
type RetryInput struct {
	Dealer       string    `json:"dealer"`
	Task         string    `json:"task"`
	AfterAttempt int       `json:"after_attempt"`
	Next         time.Time `json:"next"`
}

// ScheduleCallbackRetry plans the next attempt; the service ignores a
// retry for an older attempt, so a repeated call changes nothing.
func (a *Activities) ScheduleCallbackRetry(ctx context.Context, in RetryInput) (*Task, error) {
	t, err := a.Workflow.ScheduleCallbackRetry(ctx, &callbackv1.ScheduleCallbackRetryRequest{
		Dealer: in.Dealer, Task: in.Task, AfterAttempt: int32(in.AfterAttempt), NextAttemptTime: timestamppb.New(in.Next),
	})
	if err != nil {
		return nil, classify(err, "schedule retry of callback task %s", in.Task)
	}
	return taskOf(t), nil
}

// EndInput ends a task.
type EndInput struct {
	Dealer string    `json:"dealer"`
	Task   string    `json:"task"`
	Status string    `json:"status"` // UNREACHABLE, EXPIRED or CANCELLED
	Reason string    `json:"reason"`
	Time   time.Time `json:"time"`
}

// EndCallbackTask ends the task, unless it already ended: the returned
// task then has the status it ended with.
func (a *Activities) EndCallbackTask(ctx context.Context, in EndInput) (*Task, error) {
	st := callbackv1.CallbackStatus(callbackv1.CallbackStatus_value["CALLBACK_STATUS_"+in.Status])
	t, err := a.Workflow.EndCallbackTask(ctx, &callbackv1.EndCallbackTaskRequest{
		Dealer: in.Dealer, Task: in.Task, Status: st, Reason: in.Reason, Time: timestamppb.New(in.Time),
	})
	if err != nil {
		return nil, classify(err, "end callback task %s %s", in.Task, in.Status)
	}
	return taskOf(t), nil
}

// LinkInput records the complaint a callback opened.
type LinkInput struct {
	Dealer    string `json:"dealer"`
	Task      string `json:"task"`
	Complaint string `json:"complaint"`
}

// LinkCallbackComplaint records the complaint on the task.
func (a *Activities) LinkCallbackComplaint(ctx context.Context, in LinkInput) (*Task, error) {
	t, err := a.Workflow.LinkCallbackComplaint(ctx, &callbackv1.LinkCallbackComplaintRequest{Dealer: in.Dealer, Task: in.Task, Complaint: in.Complaint})
	if err != nil {
		return nil, classify(err, "link complaint %s to callback task %s", in.Complaint, in.Task)
	}
	return taskOf(t), nil
}

// OpenInput opens the complaint of a dissatisfied callback.
type OpenInput struct {
	Dealer string  `json:"dealer"`
	Task   string  `json:"task"`
	Kind   string  `json:"kind"`
	Score  float64 `json:"score"`
}

// ComplaintSource is the complaint's `source` for a callback task: the
// complaint service returns the complaint it opened before for the same
// source, so opening is idempotent.
func ComplaintSource(task string) string { return "callback/" + task }

// legacySeverity is the severity callbacks opened complaints with before
// it was part of the callback policy: HIGH under a score of 50, MEDIUM
// otherwise. It applies only when the callback service does not send the
// policy's (a service older than this worker, during a rolling upgrade).
func legacySeverity(score float64) complaintv1.Severity {
	if score < 50 {
		return complaintv1.Severity_SEVERITY_HIGH
	}
	return complaintv1.Severity_SEVERITY_MEDIUM
}

// ComplaintSeverity is the severity of the complaint a callback scoring
// score opens under the dealer's callback policy (s): the first rule, by
// ascending score_below, whose score_below is above score, else the
// policy's complaint severity.
func ComplaintSeverity(s *callbackv1.CallbackSchedule, score float64) complaintv1.Severity {
	if s.GetComplaintSeverity() == complaintv1.Severity_SEVERITY_UNSPECIFIED {
		return legacySeverity(score)
	}
	for _, r := range s.GetComplaintSeverityRules() {
		if score < r.GetScoreBelow() {
			return r.GetSeverity()
		}
	}
	return s.GetComplaintSeverity()
}

// OpenComplaint creates the complaint a dissatisfied callback opens, on
// the task's dealer, with the task's findings as its description and the
// severity the dealer's callback policy in force now gives its score, and
// returns its id.
func (a *Activities) OpenComplaint(ctx context.Context, in OpenInput) (string, error) {
	t, err := a.Tasks.GetCallbackTask(ctx, &callbackv1.GetCallbackTaskRequest{Dealer: in.Dealer, Task: in.Task})
	if err != nil {
		return "", classify(err, "get callback task %s", in.Task)
	}
	sched, err := a.Workflow.GetCallbackSchedule(ctx, &callbackv1.GetCallbackScheduleRequest{Dealer: in.Dealer, Kind: kindProto(in.Kind)})
	if err != nil {
		return "", classify(err, "get callback policy of dealer %s kind %s", in.Dealer, in.Kind)
	}
	category := complaintv1.Category_CATEGORY_OTHER
	if in.Kind == events.Callback7DC || in.Kind == events.CallbackNewCustomer {
		category = complaintv1.Category_CATEGORY_SALES_PROMISE
	}
	severity := ComplaintSeverity(sched, in.Score)
	desc := strings.TrimSpace(t.GetFindings())
	if desc == "" {
		desc = fmt.Sprintf("%s callback %s: the customer was not satisfied (score %.0f).", in.Kind, in.Task, in.Score)
	}
	c, err := a.Complaints.CreateComplaint(ctx, &complaintv1.CreateComplaintRequest{Dealer: in.Dealer, Complaint: &complaintv1.Complaint{
		Channel:     complaintv1.Channel_CHANNEL_CALLBACK,
		Category:    category,
		Severity:    severity,
		Customer:    t.GetCustomer(),
		Vin:         t.GetVin(),
		Description: desc,
		Source:      ComplaintSource(in.Task),
	}})
	if err != nil {
		return "", classify(err, "open complaint for callback task %s", in.Task)
	}
	return c.GetId(), nil
}

// FollowUpInput closes or reopens the complaint a follow-up callback
// confirmed.
type FollowUpInput struct {
	Dealer    string `json:"dealer"`
	Complaint string `json:"complaint"`
	Task      string `json:"task"`
}

// CloseComplaint closes the complaint the customer confirmed resolved. A
// complaint already closed (a retried call) counts as done.
func (a *Activities) CloseComplaint(ctx context.Context, in FollowUpInput) error {
	_, err := a.Complaints.CloseComplaint(ctx, &complaintv1.CloseComplaintRequest{
		Dealer: in.Dealer, Complaint: in.Complaint, Note: fmt.Sprintf("Closed by follow-up callback %s: the customer is satisfied.", in.Task),
	})
	if status.Code(err) == codes.FailedPrecondition && a.complaintIs(ctx, in, func(s complaintv1.State) bool { return s == complaintv1.State_STATE_CLOSED }) {
		return nil
	}
	if err != nil {
		return classify(err, "close complaint %s", in.Complaint)
	}
	return nil
}

// ReopenComplaint reopens the complaint the customer is not satisfied
// with. A complaint no longer resolved nor closed (reopened already, by a
// retried call) counts as done.
func (a *Activities) ReopenComplaint(ctx context.Context, in FollowUpInput) error {
	_, err := a.Complaints.ReopenComplaint(ctx, &complaintv1.ReopenComplaintRequest{
		Dealer: in.Dealer, Complaint: in.Complaint, Note: fmt.Sprintf("Reopened by follow-up callback %s: the customer is not satisfied.", in.Task),
	})
	if status.Code(err) == codes.FailedPrecondition && a.complaintIs(ctx, in, func(s complaintv1.State) bool {
		return s != complaintv1.State_STATE_RESOLVED && s != complaintv1.State_STATE_CLOSED
	}) {
		return nil
	}
	if err != nil {
		return classify(err, "reopen complaint %s", in.Complaint)
	}
	return nil
}

// complaintIs reports whether the complaint's state satisfies ok; false
// when it cannot be read.
func (a *Activities) complaintIs(ctx context.Context, in FollowUpInput, ok func(complaintv1.State) bool) bool {
	c, err := a.Complaints.GetComplaint(ctx, &complaintv1.GetComplaintRequest{Dealer: in.Dealer, Complaint: in.Complaint})
	return err == nil && ok(c.GetState())
}

// kindProto is the CallbackKind of an events kind name (3DC, ...).
func kindProto(kind string) callbackv1.CallbackKind {
	return callbackv1.CallbackKind(callbackv1.CallbackKind_value["CALLBACK_KIND_"+kind])
}
