package channel

import (
	"context"
	"fmt"
	"time"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/services/campaign/campaign"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Callback makes the message a CAMPAIGN callback task at the customer's
// dealer through the callback service's EnsureCallbackTask, whose task is
// unique per source: the message id is the source, so a resend finds the
// task it made.
type Callback struct {
	Client callbackv1.CallbackWorkflowServiceClient
	// Token returns the service's bearer token.
	Token func() (string, error)
	// Window is how long the dealer has to call (default 7 days).
	Window time.Duration
}

// Send implements campaign.Sender.
func (c *Callback) Send(ctx context.Context, m campaign.Message) (string, error) {
	tok, err := c.Token()
	if err != nil {
		return "", err
	}
	window := c.Window
	if window <= 0 {
		window = 7 * 24 * time.Hour
	}
	now := time.Now()
	t, err := c.Client.EnsureCallbackTask(auth.WithToken(ctx, tok), &callbackv1.EnsureCallbackTaskRequest{
		Dealer: m.Dealer, Kind: callbackv1.CallbackKind_CALLBACK_KIND_CAMPAIGN, SourceType: sourceType(m), SourceId: m.ID,
		WorkflowId: campaign.WorkflowID(m.Owner, m.Campaign), Customer: m.Customer, Vin: m.VIN,
		DueTime: timestamp(now), Deadline: timestamp(now.Add(window)),
	})
	if err != nil {
		if permanent(err) {
			return "", fmt.Errorf("%w: callback task: %w", campaign.ErrPermanent, err)
		}
		return "", fmt.Errorf("callback task: %w", err)
	}
	return t.GetId(), nil
}

// EndTask implements campaign.TaskEnder: the task is CANCELLED through
// EndCallbackTask, which leaves a task that already ended as it is.
func (c *Callback) EndTask(ctx context.Context, dealer, task, reason string, at time.Time) error {
	tok, err := c.Token()
	if err != nil {
		return err
	}
	_, err = c.Client.EndCallbackTask(auth.WithToken(ctx, tok), &callbackv1.EndCallbackTaskRequest{
		Dealer: dealer, Task: task, Status: callbackv1.CallbackStatus_CALLBACK_STATUS_CANCELLED, Reason: reason, Time: timestamp(at),
	})
	if err != nil {
		if permanent(err) {
			return fmt.Errorf("%w: end callback task %s: %w", campaign.ErrPermanent, task, err)
		}
		return fmt.Errorf("end callback task %s: %w", task, err)
	}
	return nil
}

// permanent reports a callback service refusal no retry changes.
func permanent(err error) bool {
	code := status.Code(err)
	return code == codes.InvalidArgument || code == codes.NotFound || code == codes.PermissionDenied
}

func timestamp(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

// sourceType tells a recall's chase task from a campaign's message.
func sourceType(m campaign.Message) string {
	if m.ID == campaign.ChaseID(m.Campaign, m.VIN) {
		return "recall"
	}
	return "campaign"
}
