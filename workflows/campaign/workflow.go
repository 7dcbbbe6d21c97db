// Package campaign is a campaign's sending workflow (id
// campaign/<owner>/<id>, started by the campaign service's outbox when the
// campaign is scheduled): it waits for the start time, resolves the
// audience, sends in batches through the campaign service (which keeps the
// at-most-once ledger), sleeps through quiet hours, completes the
// campaign, then records returns until the return window closes. A
// cancellation signal stops it at the next batch, or, once sent, at once;
// a cancelled run ends by having a recall's open chase tasks ended.
package campaign

import (
	"errors"
	"time"

	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Phases of the workflow, carried through ContinueAsNew.
const (
	PhaseWaiting   = "waiting"
	PhaseResolving = "resolving"
	PhaseSending   = "sending"
	PhaseReturns   = "returns"
)

// Defaults of Input's tuning fields.
const (
	DefaultBatchSize         = 500
	DefaultParallel          = 4
	DefaultReconcileInterval = 6 * time.Hour
	// batchesPerRun bounds a run's history; then it continues as new.
	batchesPerRun = 400

	changeRecallChase = "recall-chase"
	// VersionRecallChase: once sent, at every reconciliation, a recall's
	// open VINs get a callback task at their owning dealer (one per VIN).
	VersionRecallChase workflow.Version = 1

	changeCancelChase = "cancel-ends-chase"
	// VersionCancelEndsChases: a cancellation, in any phase, ends the run
	// through the Chase activity, which for a cancelled recall ends every
	// chase task still open (before, a run in the returns phase went on).
	VersionCancelEndsChases workflow.Version = 1
)

// Input of CampaignSend. The relay starts it with an events.CampaignStart,
// whose JSON this is.
type Input struct {
	events.CampaignStart
	Phase     string       `json:"phase,omitempty"`
	StartTime time.Time    `json:"start_time,omitzero"`
	Cancelled bool         `json:"cancelled,omitempty"`
	Seen      outbox.Dedup `json:"seen"`
	Stats     Stats        `json:"stats"`
	// Tuning (zero: the defaults).
	BatchSize         int           `json:"batch_size,omitempty"`
	Parallel          int           `json:"parallel,omitempty"`
	ReconcileInterval time.Duration `json:"reconcile_interval,omitempty"`
}

// Stats are the workflow's own running totals (the service's figures are
// authoritative).
type Stats struct {
	Batches    int   `json:"batches"`
	Sent       int   `json:"sent"`
	Suppressed int   `json:"suppressed"`
	Failed     int   `json:"failed"`
	Returned   int64 `json:"returned"`
}

// QueryState returns the Input as it stands.
const QueryState = "state"

// Register registers the workflow, under events.CampaignWorkflowType, and
// its activities on w, a worker of events.CampaignTaskQueue.
func Register(w worker.Worker, client campaignv1.CampaignWorkflowServiceClient) {
	register(w, &Activities{Campaigns: client})
}

type registry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
	RegisterActivity(a any)
}

func register(r registry, a *Activities) {
	r.RegisterWorkflowWithOptions(CampaignSend, workflow.RegisterOptions{Name: events.CampaignWorkflowType})
	r.RegisterActivity(a)
}

// activityOptions: the service is idempotent, so transient failures (the
// campaign service or a provider down) are retried without limit, backing
// off to a minute; a conflict ends the workflow's interest. A batch takes
// seconds; 30s bounds how long a killed worker holds one before another
// attempt (whose recipients the lease has released meanwhile).
var activityOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Minute,
		NonRetryableErrorTypes: []string{ErrTypeConflict, ErrTypeRejected},
	},
}

type run struct {
	in      Input
	signals workflow.ReceiveChannel
}

// receive applies one campaign event unless it is a redelivery.
func (r *run) receive(env outbox.Envelope) {
	if r.in.Seen.Seen(env.EventID) {
		return
	}
	var ev events.CampaignChanged
	if env.Decode(&ev) != nil {
		return
	}
	switch env.Kind {
	case events.KindCampaignScheduled:
		if !ev.StartTime.IsZero() {
			r.in.StartTime = ev.StartTime
		}
	case events.KindCampaignCancelled:
		r.in.Cancelled = true
	}
}

func (r *run) drain() {
	for {
		var env outbox.Envelope
		if !r.signals.ReceiveAsync(&env) {
			return
		}
		r.receive(env)
	}
}

// sleepUntil waits until t or until a signal arrives (which it applies);
// it reports whether t was reached.
func (r *run) sleepUntil(ctx workflow.Context, t time.Time) bool {
	d := t.Sub(workflow.Now(ctx))
	if d <= 0 {
		return true
	}
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	reached := false
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(workflow.NewTimer(tctx, d), func(workflow.Future) { reached = true })
	sel.AddReceive(r.signals, func(c workflow.ReceiveChannel, _ bool) {
		var env outbox.Envelope
		c.Receive(ctx, &env)
		r.receive(env)
	})
	sel.Select(ctx)
	return reached
}

// CampaignSend is the campaign's workflow.
func CampaignSend(ctx workflow.Context, in Input) error {
	r := &run{in: in, signals: workflow.GetSignalChannel(ctx, events.CampaignSignal)}
	if r.in.Phase == "" {
		r.in.Phase = PhaseWaiting
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (Input, error) { return r.in, nil }); err != nil {
		return err
	}
	ref := Ref{Owner: r.in.Owner, Campaign: r.in.Campaign}
	actx := workflow.WithActivityOptions(ctx, activityOptions)
	var a *Activities
	log := workflow.GetLogger(ctx)

	r.drain()
	if r.in.Phase == PhaseWaiting {
		// The scheduling event carries the start time; it is the signal the
		// relay starts this workflow with.
		for r.in.StartTime.IsZero() && !r.in.Cancelled {
			var env outbox.Envelope
			r.signals.Receive(ctx, &env)
			r.receive(env)
		}
		for !r.in.Cancelled && !r.sleepUntil(ctx, r.in.StartTime) {
		}
		if r.in.Cancelled {
			log.Info("campaign cancelled before its start")
			// A recall cancelled after its run ended (the relay starts a
			// new run with the signal) still has its chase tasks ended.
			return r.cancelled(ctx, actx, ref, false)
		}
		r.in.Phase = PhaseResolving
	}

	if r.in.Phase == PhaseResolving {
		for {
			var res StartResult
			if err := workflow.ExecuteActivity(actx, a.Start, ref).Get(ctx, &res); err != nil {
				return ended(ctx, err)
			}
			if res.AudienceComplete {
				log.Info("audience resolved", "targeted", res.Targeted)
				break
			}
		}
		r.in.Phase = PhaseSending
	}

	if r.in.Phase == PhaseSending {
		batch, parallel := r.in.BatchSize, r.in.Parallel
		if batch <= 0 {
			batch = DefaultBatchSize
		}
		if parallel <= 0 {
			parallel = DefaultParallel
		}
		for n := 0; ; n++ {
			if n >= batchesPerRun {
				return workflow.NewContinueAsNewError(ctx, events.CampaignWorkflowType, r.in)
			}
			r.drain()
			// Several senders share the campaign; the service's claims
			// (SKIP LOCKED) keep them apart.
			futures := make([]workflow.Future, parallel)
			for i := range futures {
				futures[i] = workflow.ExecuteActivity(actx, a.Dispatch, BatchInput{Ref: ref, Limit: batch})
			}
			var remaining int64 = -1
			var nextDue time.Time
			cancelled := false
			for _, f := range futures {
				var res BatchResult
				if err := f.Get(ctx, &res); err != nil {
					return ended(ctx, err)
				}
				r.in.Stats.Batches++
				r.in.Stats.Sent += res.Sent
				r.in.Stats.Suppressed += res.Suppressed
				r.in.Stats.Failed += res.Failed
				cancelled = cancelled || res.Cancelled
				if remaining < 0 || res.Remaining < remaining {
					remaining, nextDue = res.Remaining, res.NextDue
				}
			}
			if cancelled {
				log.Info("campaign cancelled while sending", "sent", r.in.Stats.Sent)
				return r.cancelled(ctx, actx, ref, false)
			}
			if remaining == 0 {
				break
			}
			if !nextDue.IsZero() {
				// Everyone left waits for their quiet hours to end.
				r.sleepUntil(ctx, nextDue)
			}
		}
		if err := workflow.ExecuteActivity(actx, a.Complete, ref).Get(ctx, nil); err != nil {
			return ended(ctx, err)
		}
		r.in.Phase = PhaseReturns
	}

	interval := r.in.ReconcileInterval
	if interval <= 0 {
		interval = DefaultReconcileInterval
	}
	chase := workflow.GetVersion(ctx, changeRecallChase, workflow.DefaultVersion, VersionRecallChase) >= VersionRecallChase
	for i := 0; ; i++ {
		if i >= batchesPerRun {
			return workflow.NewContinueAsNewError(ctx, events.CampaignWorkflowType, r.in)
		}
		if r.in.Cancelled && r.cancelEnds(ctx) {
			log.Info("campaign cancelled after it was sent")
			return r.cancelled(ctx, actx, ref, true)
		}
		if chase {
			if err := workflow.ExecuteActivity(actx, a.Chase, ref).Get(ctx, nil); err != nil {
				return ended(ctx, err)
			}
		}
		var res ReconcileResult
		if err := workflow.ExecuteActivity(actx, a.Reconcile, ref).Get(ctx, &res); err != nil {
			return ended(ctx, err)
		}
		r.in.Stats.Returned = res.Returned
		now := workflow.Now(ctx)
		if !now.Before(res.WindowEnd) {
			log.Info("return window closed", "returned", res.Returned)
			return nil
		}
		next := now.Add(interval)
		if res.WindowEnd.Before(next) {
			next = res.WindowEnd
		}
		for !r.sleepUntil(ctx, next) {
			if r.in.Cancelled && r.cancelEnds(ctx) {
				break // to the loop's head, which ends the run
			}
		}
	}
}

// cancelEnds reports whether a cancellation ends the run and the chase
// (VersionCancelEndsChases); it is asked only once the run is cancelled.
func (r *run) cancelEnds(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, changeCancelChase, workflow.DefaultVersion, VersionCancelEndsChases) >= VersionCancelEndsChases
}

// cancelled ends a cancelled run: the Chase activity (retried until it
// succeeds) ends the chase tasks a cancelled recall still has open, and
// opens none. asked: cancelEnds was asked already.
func (r *run) cancelled(ctx, actx workflow.Context, ref Ref, asked bool) error {
	if !asked && !r.cancelEnds(ctx) {
		return nil
	}
	var a *Activities
	if err := workflow.ExecuteActivity(actx, a.Chase, ref).Get(ctx, nil); err != nil {
		return ended(ctx, err)
	}
	return nil
}

// ended turns a conflict (the campaign was cancelled or completed by
// another run, or a redelivered start found it done) into a normal end.
func ended(ctx workflow.Context, err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == ErrTypeConflict {
		workflow.GetLogger(ctx).Info("campaign no longer sendable", "reason", appErr.Error())
		return nil
	}
	return err
}
