package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/webhook/postgres"
	"github.com/dealercare/dealercare/services/webhook/webhook"
)

// Notifier tells a subscription's owner it was disabled at. It may be
// called more than once for one disabling (a retried activity, several
// deliveries finding it disabled) and must notify once per (subscription,
// at).
type Notifier interface {
	SubscriptionDisabled(ctx context.Context, owner, subscription, reason string, at time.Time) error
}

// Activities are the workflow's effects, over the webhook service's store.
type Activities struct {
	Store  *postgres.Store
	Sealer webhook.Sealer
	Client *http.Client
	Policy Policy
	Notify Notifier
	Log    *slog.Logger
	Now    func() time.Time
}

func (a *Activities) now() time.Time {
	if a.Now == nil {
		return time.Now().UTC()
	}
	return a.Now().UTC()
}

// Settings returns the retry policy of this worker.
func (a *Activities) Settings(context.Context) (Policy, error) { return a.Policy, nil }

// Body is what a receiver gets: the event, its type, when it happened,
// the dealer ("HQ" for network-wide events), the resource it is about and
// the event's data.
type Body struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Dealer    string          `json:"dealer"`
	Resource  string          `json:"resource"`
	Data      json.RawMessage `json:"data"`
}

// Fanout logs the event's deliveries and returns those still pending.
func (a *Activities) Fanout(ctx context.Context, env outbox.Envelope) ([]postgres.Target, error) {
	var p events.WebhookPayload
	if err := env.Decode(&p); err != nil {
		return nil, err
	}
	body, err := json.Marshal(Body{ID: env.EventID, Type: p.Type, Timestamp: env.OccurredAt.UTC(), Dealer: env.DealerID,
		Resource: p.Resource, Data: p.Data})
	if err != nil {
		return nil, err
	}
	return a.Store.Fanout(ctx, env.EventID, env.DealerID, p.Type, p.Resource, body, a.now())
}

// maxErrorText bounds what the log keeps of a failure; response bodies
// are never kept (they are the receiver's, and may hold anything).
const maxErrorText = 300

// Attempt sends one delivery and returns its final state (delivered,
// skipped, failed), or an error so Temporal retries it with backoff.
func (a *Activities) Attempt(ctx context.Context, t postgres.Target) (string, error) {
	now := a.now()
	job, err := a.Store.LoadJob(ctx, t.Owner, t.DeliveryID, now)
	if apperr.Code(err) == apperr.ENOTFOUND {
		return webhook.DeliverySkipped, nil // the subscription was deleted
	}
	if err != nil {
		return "", err
	}
	if !job.Active {
		// Disabled: make sure its owner knows (this may be the retry of
		// the attempt that disabled it, whose notice failed).
		if err := a.notifyDisabled(ctx, t, job.DisabledReason, job.DisableTime); err != nil {
			return "", err
		}
		if job.Delivery.State != webhook.DeliveryPending {
			return job.Delivery.State, nil
		}
		return webhook.DeliverySkipped, a.Store.Finish(ctx, t.Owner, t.DeliveryID, webhook.DeliverySkipped)
	}
	if job.Delivery.State != webhook.DeliveryPending {
		return job.Delivery.State, nil // a retried attempt whose first run recorded the outcome
	}
	secrets := make([]string, 0, len(job.Secrets))
	for _, s := range job.Secrets {
		secret, err := a.Sealer.Decrypt(s)
		if err != nil {
			return "", fmt.Errorf("open the secret of subscription %s: %w", t.SubscriptionID, err)
		}
		secrets = append(secrets, secret)
	}
	sig, err := webhook.Sign(secrets, job.Delivery.EventID, now, job.Body)
	if err != nil {
		return "", err
	}
	attempt := postgres.Attempt{At: now}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, job.URL, bytes.NewReader(job.Body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "dealercare-webhooks/1")
	req.Header.Set(webhook.HeaderID, job.Delivery.EventID)
	req.Header.Set(webhook.HeaderTimestamp, fmt.Sprint(now.Unix()))
	req.Header.Set(webhook.HeaderSignature, sig)
	resp, err := a.Client.Do(req)
	if err != nil {
		attempt.Error = err.Error()
	} else {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		attempt.StatusCode = resp.StatusCode
		attempt.OK = resp.StatusCode >= 200 && resp.StatusCode < 300
		if !attempt.OK {
			attempt.Error = "the endpoint answered " + resp.Status
		}
	}
	if len(attempt.Error) > maxErrorText {
		attempt.Error = attempt.Error[:maxErrorText]
	}
	// Record with a context of its own: a cancelled attempt still logs.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	disabled, err := a.Store.RecordAttempt(rctx, t.Owner, t.DeliveryID, t.SubscriptionID, attempt, a.Policy.RetryFor)
	if err != nil {
		return "", err
	}
	if disabled {
		if err := a.Store.Finish(rctx, t.Owner, t.DeliveryID, webhook.DeliveryFailed); err != nil {
			return "", err
		}
		if err := a.notify(rctx, t); err != nil {
			// Retried: the retry finds the subscription disabled and
			// notifies again (the delivery's state is recorded).
			return "", err
		}
		return webhook.DeliveryFailed, nil
	}
	if !attempt.OK {
		return "", errors.New(attempt.Error)
	}
	return webhook.DeliveryDelivered, nil
}

// GiveUp fails a delivery retried for a day without success; its
// subscription, failing all that time, is disabled and its owner notified.
func (a *Activities) GiveUp(ctx context.Context, t postgres.Target) error {
	if _, err := a.Store.GiveUp(ctx, t.Owner, t.DeliveryID, t.SubscriptionID, a.now()); err != nil {
		return err
	}
	// Whether this call disabled it or a retried one did: the notice is
	// once per disabling, so a retry after a failed notice still posts it.
	return a.notify(ctx, t)
}

// notify tells the owner of t's subscription that it is disabled, if it
// is (not re-enabled or deleted since).
func (a *Activities) notify(ctx context.Context, t postgres.Target) error {
	s, err := a.Store.GetSubscription(ctx, pg.AllDealers(), t.Owner, t.SubscriptionID)
	if apperr.Code(err) == apperr.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	if s.State != webhook.StateDisabled {
		return nil
	}
	return a.notifyDisabled(ctx, t, s.DisabledReason, s.DisableTime)
}

// notifyDisabled tells the owner of t's subscription, disabled at at for
// reason, that it is; at makes the notice once per disabling, however
// often this runs.
func (a *Activities) notifyDisabled(ctx context.Context, t postgres.Target, reason string, at time.Time) error {
	if at.IsZero() {
		return nil
	}
	if err := a.Notify.SubscriptionDisabled(ctx, t.Owner, t.SubscriptionID, reason, at); err != nil {
		return fmt.Errorf("notify the owner of disabled subscription %s: %w", t.SubscriptionID, err)
	}
	return nil
}

// LogNotifier notifies by a warning in the service's log (structured, with
// the owner and subscription), for alerting to pick up.
type LogNotifier struct{ Log *slog.Logger }

// SubscriptionDisabled logs the disabling (once per call: without an
// inbox, a repeated call logs again).
func (n LogNotifier) SubscriptionDisabled(_ context.Context, owner, subscription, reason string, at time.Time) error {
	n.Log.Warn("webhook subscription disabled", "owner", owner, "subscription", subscription, "reason", reason, "disable_time", at)
	return nil
}
