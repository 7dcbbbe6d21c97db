// Package outbox carries business events from a service's PostgreSQL
// transaction to Temporal workflows, exactly once in effect (SPEC "Events
// between services"): the event is written in the same transaction as the
// change that causes it (a transactional outbox), a [Relay] hands it to the
// receiving workflow with SignalWithStart, and the workflow drops
// redeliveries by event id with a [Dedup].
//
// # Recording an event
//
// Inside the transaction that makes the change, and with the dealer's scope:
//
//	err := postgres.InTx(ctx, pool, postgres.Dealers(dealer), func(tx pgx.Tx) error {
//	    if err := closeRepairOrder(ctx, tx, ro); err != nil {
//	        return err
//	    }
//	    return outbox.Add(ctx, tx, outbox.Event{
//	        DealerID:     dealer,
//	        Kind:         "repair_order.closed",
//	        WorkflowID:   "vehicle/" + ro.VIN,
//	        WorkflowType: "VehicleWorkflow",
//	        TaskQueue:    vehicleTaskQueue,
//	        SignalName:   "event",
//	        Payload:      repairOrderClosed{RepairOrder: ro.ID, ClosedAt: ro.ClosedAt},
//	        StartInput:   VehicleInput{VIN: ro.VIN},
//	    })
//	})
//
// If the transaction rolls back, so does the event; if it commits, the
// event will be delivered, whether or not Temporal is up at that moment.
//
// # Migration
//
// Each service that records events pastes this, the output of
// TableSQL(""), into one of its own migrations (they run with search_path
// set to the service's schema):
//
//	CREATE TABLE outbox_events (
//	    dealer_id       text        NOT NULL,
//	    id              uuid        NOT NULL,
//	    kind            text        NOT NULL,
//	    workflow_id     text        NOT NULL,
//	    workflow_type   text        NOT NULL,
//	    task_queue      text        NOT NULL,
//	    signal_name     text        NOT NULL,
//	    payload         jsonb       NOT NULL,
//	    start_input     jsonb,
//	    created_at      timestamptz NOT NULL DEFAULT now(),
//	    next_attempt_at timestamptz NOT NULL DEFAULT now(),
//	    delivered_at    timestamptz,
//	    attempts        integer     NOT NULL DEFAULT 0,
//	    last_error      text,
//	    backfill        boolean     NOT NULL DEFAULT false,
//	    trace_context   text,
//	    PRIMARY KEY (dealer_id, id)
//	);
//	-- Undelivered events, oldest first (the age of the oldest pending one).
//	CREATE INDEX outbox_events_pending_idx ON outbox_events (next_attempt_at, created_at)
//	    WHERE delivered_at IS NULL;
//	-- The relay's queue: each dealer's undelivered events, live before
//	-- backfill, due ones first, so the relay takes turns between dealers.
//	CREATE INDEX outbox_events_dealer_pending_idx ON outbox_events (dealer_id, backfill, next_attempt_at, created_at)
//	    WHERE delivered_at IS NULL;
//	-- Purging delivered events after the retention period.
//	CREATE INDEX outbox_events_delivered_idx ON outbox_events (delivered_at)
//	    WHERE delivered_at IS NOT NULL;
//	ALTER TABLE outbox_events ENABLE ROW LEVEL SECURITY;
//	ALTER TABLE outbox_events FORCE ROW LEVEL SECURITY;
//	CREATE POLICY tenant_isolation ON outbox_events
//	    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
//	    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));
//
// A service whose outbox migration was written before the backfill column
// and the per-dealer queue (LegacyTableSQL) pastes UpgradeSQL("") into a
// later migration; until then its relay serves events first come, first
// served and warns. One written before the trace_context column pastes
// TraceContextSQL(""); until then its events carry no trace context, so a
// hand-off's trace does not continue the request's.
//
// The table is dealer data like any other: keyed by dealer_id first and
// under the tenant policy, so a dealer's transaction can add events only for
// its own dealer. The relay reads with the postgres.AllDealers scope.
//
// # Running the relay
//
// Every process of a service that records events runs a [Relay] next to
// its gRPC server, on the service's pool (search_path set to its schema)
// and a lazy Temporal client, so the service starts and keeps saving while
// Temporal is down:
//
//	relay := &outbox.Relay{Pool: pool, Temporal: tc, Log: log}
//	go func() { errc <- relay.Run(ctx) }()
//
// Replicas share the pending events (SELECT ... FOR UPDATE SKIP LOCKED).
// Dealers take turns: each batch is shared between the dealers with due
// events (round robin from where the previous batch stopped), so a backlog
// at one dealer (a DMS backfill) delays another dealer's events by one
// batch at most, and within a dealer live events go before those added
// with Event.Backfill.
// An event that cannot be handed off stays pending with its attempts and
// last_error and is retried with backoff (an outage of Temporal records
// last_error but does not postpone it); operators watch for stuck ones:
//
//	SELECT dealer_id, id, kind, workflow_id, attempts, last_error
//	FROM outbox_events WHERE delivered_at IS NULL AND attempts > 5;
//
// The relay holds its batch transaction open while it calls Temporal (at
// most about 30s plus one SignalTimeout), so idle_in_transaction_session_timeout,
// if set for the service role, must be longer than that.
//
// # Receiving events
//
// Delivery is at least once: a relay that dies after SignalWithStart but
// before recording the delivery hands the event off again. A receiving
// workflow keeps a [Dedup] in its state and skips ids it has seen; it
// carries the Dedup through ContinueAsNew:
//
//	func VehicleWorkflow(ctx workflow.Context, in VehicleInput) error {
//	    events := workflow.GetSignalChannel(ctx, "event")
//	    for !workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
//	        var env outbox.Envelope
//	        events.Receive(ctx, &env)
//	        if in.Seen.Seen(env.EventID) {
//	            continue // a redelivery
//	        }
//	        if err := handle(ctx, &in, env); err != nil {
//	            return err
//	        }
//	    }
//	    // Drain buffered signals first, so none is lost with this run.
//	    for {
//	        var env outbox.Envelope
//	        if !events.ReceiveAsync(&env) {
//	            break
//	        }
//	        ...
//	    }
//	    return workflow.NewContinueAsNewError(ctx, VehicleWorkflow, in) // in.Seen is an outbox.Dedup
//	}
//
// The relay starts a workflow that is not running, including one whose
// earlier run has closed: its id is a business key whose life goes on. The
// Dedup of a closed run is gone, though, so a workflow that receives events
// should not complete while a redelivery may still come (seconds to minutes
// after the original); entity workflows that live long and continue as new
// do this naturally. Events carry no ordering guarantee; use
// Envelope.OccurredAt where order matters.
package outbox
