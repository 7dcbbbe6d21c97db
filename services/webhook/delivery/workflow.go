// Package delivery is the webhook delivery workflow and its activities.
// The services' outboxes hand each webhook event to the workflow of the
// resource it is about (events.WebhookWorkflowID): the workflow logs one
// delivery per matching subscription (Fanout) and sends each
// subscription's deliveries one after the other, in the order the events
// arrived, with retries and backoff for a day. A subscription failing for
// a day is disabled and its owner notified. The webhook service's process
// runs this worker, because the activities read and write its tables.
package delivery

import (
	"sort"
	"time"

	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	"github.com/dealercare/dealercare/services/webhook/postgres"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Policy is how deliveries are retried; the worker's configuration sets it
// and the workflow reads it once per run (Settings).
type Policy struct {
	// AttemptTimeout bounds one HTTP attempt (WEBHOOK_ATTEMPT_TIMEOUT).
	AttemptTimeout time.Duration `json:"attempt_timeout"`
	// FirstRetry and MaxRetry are the backoff's first and largest wait
	// (WEBHOOK_RETRY_INITIAL, WEBHOOK_RETRY_MAX); it doubles in between.
	FirstRetry time.Duration `json:"first_retry"`
	MaxRetry   time.Duration `json:"max_retry"`
	// RetryFor is how long a delivery is retried before it fails, and how
	// long a subscription may fail before it is disabled (WEBHOOK_RETRY_FOR).
	RetryFor time.Duration `json:"retry_for"`
	// Idle is how long a resource's workflow waits for its next event
	// before it completes (WEBHOOK_WORKFLOW_IDLE).
	Idle time.Duration `json:"idle"`
	// Settle is how long an arriving event waits for others of the
	// resource that happened before it (WEBHOOK_ORDER_WINDOW).
	Settle time.Duration `json:"settle"`
}

// DefaultPolicy: attempts of 30 s, retried after 10 s, 20 s, ... up to an
// hour between attempts, for a day.
var DefaultPolicy = Policy{AttemptTimeout: 30 * time.Second, FirstRetry: 10 * time.Second, MaxRetry: time.Hour,
	RetryFor: 24 * time.Hour, Idle: time.Hour, Settle: 2 * time.Second}

// Input is the workflow's input: events.WebhookStart when the relay starts
// it, plus what a run carries to the next through ContinueAsNew.
type Input struct {
	Resource string       `json:"resource"`
	Seen     outbox.Dedup `json:"seen,omitzero"`
}

// queue is one subscription's deliveries of this resource, in order.
type queue struct {
	items []postgres.Target
	busy  bool
}

func (q *queue) pending() bool { return q.busy || len(q.items) > 0 }

// Workflow is the WebhookDelivery workflow of one resource.
func Workflow(ctx workflow.Context, in Input) error {
	var a *Activities // activity methods by reference; the worker registers the real struct
	log := workflow.GetLogger(ctx)
	var policy Policy
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
	if err := workflow.ExecuteLocalActivity(lctx, a.Settings).Get(ctx, &policy); err != nil {
		return err
	}
	db := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute},
	})
	send := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    policy.AttemptTimeout,
		ScheduleToCloseTimeout: policy.RetryFor,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: policy.FirstRetry, BackoffCoefficient: 2,
			MaximumInterval: policy.MaxRetry},
	})

	queues := map[string]*queue{}
	run := func(q *queue) {
		workflow.Go(ctx, func(ctx workflow.Context) {
			for {
				_ = workflow.Await(ctx, func() bool { return len(q.items) > 0 })
				t := q.items[0]
				q.items, q.busy = q.items[1:], true
				var state string
				if err := workflow.ExecuteActivity(send, a.Attempt, t).Get(ctx, &state); err != nil {
					// Retried for a day without success: the delivery fails
					// (and stays in the log for a manual redelivery).
					log.Warn("webhook delivery failed", "delivery", t.DeliveryID, "error", err)
					if err := workflow.ExecuteActivity(db, a.GiveUp, t).Get(ctx, nil); err != nil {
						log.Error("webhook delivery: record failure", "delivery", t.DeliveryID, "error", err)
					}
				}
				q.busy = false
			}
		})
	}
	enqueue := func(t postgres.Target) {
		key := t.Owner + "/" + t.SubscriptionID
		q := queues[key]
		if q == nil {
			q = &queue{}
			queues[key] = q
			run(q)
		}
		q.items = append(q.items, t)
	}
	busy := func() bool {
		for _, q := range queues {
			if q.pending() {
				return true
			}
		}
		return false
	}
	ch := workflow.GetSignalChannel(ctx, events.WebhookSignal)
	handle := func(env outbox.Envelope) error {
		if env.Kind == events.KindWebhookRedeliver {
			var r events.WebhookRedeliver
			if err := env.Decode(&r); err != nil {
				log.Error("webhook: bad redelivery", "event", env.EventID, "error", err)
				return nil
			}
			enqueue(postgres.Target{Owner: r.Owner, SubscriptionID: r.SubscriptionID, DeliveryID: r.DeliveryID})
			return nil
		}
		var targets []postgres.Target
		if err := workflow.ExecuteActivity(db, a.Fanout, env).Get(ctx, &targets); err != nil {
			return err
		}
		for _, t := range targets {
			enqueue(t)
		}
		return nil
	}
	// Events wait Settle in a buffer and leave it sorted by when they
	// happened: the relay hands events off concurrently, so two events of
	// one resource can arrive swapped.
	type arrival struct {
		env outbox.Envelope
		at  time.Time
	}
	var buffer []arrival
	for {
		var env outbox.Envelope
		if ch.ReceiveAsync(&env) {
			if !in.Seen.Seen(env.EventID) {
				buffer = append(buffer, arrival{env, workflow.Now(ctx)})
			}
			continue
		}
		if len(buffer) > 0 {
			if wait := buffer[0].at.Add(policy.Settle).Sub(workflow.Now(ctx)); wait > 0 {
				_, _ = workflow.AwaitWithTimeout(ctx, wait, func() bool { return ch.Len() > 0 })
				continue
			}
			sort.SliceStable(buffer, func(i, j int) bool { return buffer[i].env.OccurredAt.Before(buffer[j].env.OccurredAt) })
			for _, b := range buffer {
				if err := handle(b.env); err != nil {
					return err
				}
			}
			buffer = nil
			continue
		}
		if busy() {
			_ = workflow.Await(ctx, func() bool { return ch.Len() > 0 || !busy() })
			continue
		}
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return workflow.NewContinueAsNewError(ctx, Workflow, in)
		}
		if ok, _ := workflow.AwaitWithTimeout(ctx, policy.Idle, func() bool { return ch.Len() > 0 }); !ok && ch.Len() == 0 {
			// Idle: done. A later event (or a late redelivery of one
			// already sent) starts a new run, whose Fanout returns only
			// deliveries still pending, so nothing is sent twice.
			return nil
		}
	}
}
