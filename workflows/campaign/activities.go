package campaign

import (
	"context"
	"time"

	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Activities call the campaign service's CampaignWorkflowService, whose
// every call is idempotent, so a retried or replayed activity is harmless.
type Activities struct {
	Campaigns campaignv1.CampaignWorkflowServiceClient
}

// Non-retryable failure types.
const (
	// ErrTypeConflict: the campaign is not in a state the call works on
	// (cancelled or completed meanwhile, or a redelivered start).
	ErrTypeConflict = "CampaignConflict"
	// ErrTypeRejected: the service refused the call for good (permission,
	// bad input, unknown campaign).
	ErrTypeRejected = "CampaignRejected"
)

func classify(err error) error {
	switch status.Code(err) {
	case codes.OK:
		return nil
	case codes.AlreadyExists, codes.FailedPrecondition:
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeConflict, nil)
	case codes.PermissionDenied, codes.InvalidArgument, codes.NotFound, codes.Unauthenticated:
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeRejected, nil)
	}
	return err
}

// Ref names a campaign.
type Ref struct {
	Owner    string `json:"owner"`
	Campaign string `json:"campaign"`
}

// StartResult is StartCampaign's answer.
type StartResult struct {
	State            string        `json:"state"`
	StartTime        time.Time     `json:"start_time"`
	ReturnWindow     time.Duration `json:"return_window"`
	Targeted         int64         `json:"targeted"`
	AudienceComplete bool          `json:"audience_complete"`
}

// Start moves the campaign to running and resolves one page of its
// audience.
func (a *Activities) Start(ctx context.Context, r Ref) (*StartResult, error) {
	res, err := a.Campaigns.StartCampaign(ctx, &campaignv1.StartCampaignRequest{Dealer: r.Owner, Campaign: r.Campaign})
	if err != nil {
		return nil, classify(err)
	}
	c := res.GetCampaign()
	return &StartResult{State: c.GetState().String(), StartTime: c.GetStartTime().AsTime(), ReturnWindow: c.GetReturnWindow().AsDuration(),
		Targeted: res.GetTargeted(), AudienceComplete: res.GetAudienceComplete()}, nil
}

// BatchInput is one DispatchBatch.
type BatchInput struct {
	Ref
	Limit int `json:"limit"`
}

// BatchResult is what one batch did.
type BatchResult struct {
	Sent       int       `json:"sent"`
	Suppressed int       `json:"suppressed"`
	Failed     int       `json:"failed"`
	Remaining  int64     `json:"remaining"`
	NextDue    time.Time `json:"next_due,omitzero"`
	Cancelled  bool      `json:"cancelled"`
}

// Dispatch sends one batch.
func (a *Activities) Dispatch(ctx context.Context, in BatchInput) (*BatchResult, error) {
	res, err := a.Campaigns.DispatchBatch(ctx, &campaignv1.DispatchBatchRequest{Dealer: in.Owner, Campaign: in.Campaign, Limit: int32(in.Limit)})
	if err != nil {
		return nil, classify(err)
	}
	out := &BatchResult{Sent: int(res.GetSent()), Suppressed: int(res.GetSuppressed()), Failed: int(res.GetFailed()),
		Remaining: res.GetRemaining(), Cancelled: res.GetCancelled()}
	if res.GetNextDueTime() != nil {
		out.NextDue = res.GetNextDueTime().AsTime()
	}
	return out, nil
}

// Complete moves the campaign to completed.
func (a *Activities) Complete(ctx context.Context, r Ref) error {
	_, err := a.Campaigns.CompleteCampaign(ctx, &campaignv1.CompleteCampaignRequest{Dealer: r.Owner, Campaign: r.Campaign})
	return classify(err)
}

// ReconcileResult is ReconcileReturns' answer.
type ReconcileResult struct {
	Returned  int64     `json:"returned"`
	WindowEnd time.Time `json:"window_end"`
}

// Reconcile records the campaign's returns so far.
func (a *Activities) Reconcile(ctx context.Context, r Ref) (*ReconcileResult, error) {
	res, err := a.Campaigns.ReconcileReturns(ctx, &campaignv1.ReconcileReturnsRequest{Dealer: r.Owner, Campaign: r.Campaign})
	if err != nil {
		return nil, classify(err)
	}
	return &ReconcileResult{Returned: res.GetReturned(), WindowEnd: res.GetWindowEnd().AsTime()}, nil
}

// Chase opens a callback task at the owning dealer of each open VIN of a
// recall that has none yet (ChaseRecallVins; other kinds: nothing).
func (a *Activities) Chase(ctx context.Context, r Ref) (int64, error) {
	res, err := a.Campaigns.ChaseRecallVins(ctx, &campaignv1.ChaseRecallVinsRequest{Dealer: r.Owner, Campaign: r.Campaign})
	if err != nil {
		return 0, classify(err)
	}
	return res.GetOpen(), nil
}
