package vehicle

import (
	"context"
	"fmt"
	"time"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/events"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// ReminderActivities carry out the steps of a maintenance cycle through the
// services that own them: the campaign service sends reminders, the
// callback service opens the overdue call, the customer service keeps the
// churn mark on the archives.
type ReminderActivities struct {
	Campaigns campaignv1.CampaignWorkflowServiceClient
	Callbacks callbackv1.CallbackWorkflowServiceClient
	Segments  customerv1.SegmentServiceClient
}

// ErrTypeReminderRejected: a service refused a step for good (bad input,
// permission); the step is recorded as skipped.
const ErrTypeReminderRejected = "ReminderRejected"

func reminderError(err error) error {
	switch status.Code(err) {
	case codes.OK:
		return nil
	case codes.InvalidArgument, codes.PermissionDenied, codes.NotFound, codes.Unauthenticated, codes.AlreadyExists, codes.FailedPrecondition:
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeReminderRejected, nil)
	}
	return err
}

// ReminderInput is one step for one vehicle.
type ReminderInput struct {
	VIN    string    `json:"vin"`
	Dealer string    `json:"dealer"`
	Due    string    `json:"due"`
	Step   string    `json:"step"`
	At     time.Time `json:"at"`
}

// ReminderResult says which campaign reminded and whether to come back.
type ReminderResult struct {
	Campaign    string    `json:"campaign,omitempty"`
	Recipients  int       `json:"recipients"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
}

// SendReminder sends a before-due reminder (RemindVehicle, idempotent).
func (a *ReminderActivities) SendReminder(ctx context.Context, in ReminderInput) (*ReminderResult, error) {
	res, err := a.Campaigns.RemindVehicle(ctx, &campaignv1.RemindVehicleRequest{Vin: in.VIN, Dealer: in.Dealer, DueDate: in.Due, Step: in.Step})
	if err != nil {
		return nil, reminderError(err)
	}
	out := &ReminderResult{Campaign: res.GetCampaign(), Recipients: int(res.GetRecipients())}
	if res.GetNextAttemptTime() != nil {
		out.NextAttempt = res.GetNextAttemptTime().AsTime()
	}
	return out, nil
}

// OpenOverdueCallback opens the REVISIT_OVERDUE task at the last-visited
// dealer; the task is unique per source (the VIN's cycle), so a retry
// finds it.
func (a *ReminderActivities) OpenOverdueCallback(ctx context.Context, in ReminderInput) error {
	source := in.VIN + "/" + in.Due
	_, err := a.Callbacks.EnsureCallbackTask(ctx, &callbackv1.EnsureCallbackTaskRequest{
		Dealer: in.Dealer, Kind: callbackv1.CallbackKind_CALLBACK_KIND_REVISIT_OVERDUE, SourceType: "vehicle", SourceId: source,
		WorkflowId: events.VehicleWorkflowID(in.VIN), Vin: in.VIN,
		DueTime: timestamppb.New(in.At), Deadline: timestamppb.New(in.At.Add(7 * 24 * time.Hour)),
	})
	if err != nil {
		return reminderError(fmt.Errorf("open REVISIT_OVERDUE callback for %s: %w", in.VIN, err))
	}
	return nil
}

// MarkChurnRisk marks (at) or clears (zero at) the vehicle's churn risk
// on every dealer's archive of the VIN.
func (a *ReminderActivities) MarkChurnRisk(ctx context.Context, in ReminderInput) error {
	req := &customerv1.MarkChurnRiskRequest{Vin: in.VIN, AtRisk: !in.At.IsZero()}
	if !in.At.IsZero() {
		req.Since = timestamppb.New(in.At)
	}
	_, err := a.Segments.MarkChurnRisk(ctx, req)
	return reminderError(err)
}

// ReturnInput names a campaign that reminded the vehicle.
type ReturnInput struct {
	Dealer   string `json:"dealer"`
	Campaign string `json:"campaign"`
}

// CountReturn records the returns of a campaign that reminded the vehicle,
// now that it came back (ReconcileReturns, idempotent).
func (a *ReminderActivities) CountReturn(ctx context.Context, in ReturnInput) error {
	_, err := a.Campaigns.ReconcileReturns(ctx, &campaignv1.ReconcileReturnsRequest{Dealer: in.Dealer, Campaign: in.Campaign})
	return reminderError(err)
}

// RecallRepairInput is a recall repair order of the vehicle.
type RecallRepairInput struct {
	VIN         string    `json:"vin"`
	Dealer      string    `json:"dealer"`
	RepairOrder string    `json:"repair_order"`
	Code        string    `json:"code"`
	CloseTime   time.Time `json:"close_time"`
}

// CompleteRecall completes the VIN on the recalls of the code
// (RecordRecallRepair, idempotent); it returns how many it completed.
func (a *ReminderActivities) CompleteRecall(ctx context.Context, in RecallRepairInput) (int, error) {
	res, err := a.Campaigns.RecordRecallRepair(ctx, &campaignv1.RecordRecallRepairRequest{Vin: in.VIN, Dealer: in.Dealer,
		RepairOrder: in.RepairOrder, CampaignCode: in.Code, CloseTime: timestamppb.New(in.CloseTime)})
	if err != nil {
		return 0, reminderError(err)
	}
	return int(res.GetCompleted()), nil
}

// LoadPlan returns HQ's maintenance plan for the vehicle (GetVehiclePlan):
// its model's, or the default. The rate bounds stay DefaultPlan's.
func (a *ReminderActivities) LoadPlan(ctx context.Context, vin string) (*Plan, error) {
	res, err := a.Campaigns.GetVehiclePlan(ctx, &campaignv1.GetVehiclePlanRequest{Vin: vin})
	if err != nil {
		return nil, reminderError(err)
	}
	p := DefaultPlan()
	p.Months, p.IntervalKM, p.DefaultKMPerDay = int(res.GetMonths()), int(res.GetIntervalKm()), res.GetDefaultKmPerDay()
	return &p, nil
}
