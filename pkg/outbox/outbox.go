package outbox

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/dealercare/dealercare/pkg/validate"
)

// Event is one business event bound for a Temporal workflow.
type Event struct {
	// ID identifies the event to receivers, which deduplicate by it. Empty
	// means Add generates one (a UUID v4) and fills it in.
	ID string
	// DealerID is the dealer whose transaction records the event; the
	// tenant policy rejects an event for a dealer outside the transaction's
	// scope.
	DealerID string
	// Kind names what happened, e.g. "repair_order.closed".
	Kind string
	// WorkflowID is the receiving workflow's business key, e.g.
	// "vehicle/LSVAU2180N2183294".
	WorkflowID string
	// WorkflowType and TaskQueue start the workflow if it is not running.
	WorkflowType string
	TaskQueue    string
	// SignalName is the signal that carries the event's [Envelope].
	SignalName string
	// Payload is encoded with encoding/json and reaches the workflow as
	// Envelope.Payload. It should carry references and business facts, not
	// personal data the receiver can load itself. For a protobuf message,
	// pass its protojson encoding as a json.RawMessage.
	Payload any
	// StartInput, if not nil, is encoded with encoding/json and passed as the
	// workflow's input when this event starts it; nil starts the workflow
	// with no arguments (a one-argument workflow then gets the zero value).
	// It is ignored when the workflow is already running.
	StartInput any
	// OccurredAt defaults to the transaction's start time (now() in
	// PostgreSQL); set it when the service runs on an injected clock.
	OccurredAt time.Time
	// Backfill marks an event that records history (a DMS backfill, a
	// year of visits loaded at once) rather than something that just
	// happened: the relay hands a dealer's live events off before its
	// backfills, so a bulk load never holds up today's callbacks. It needs
	// the table of TableSQL (or UpgradeSQL applied).
	Backfill bool
}

// validate checks the fields a delivery needs, so a bad event fails the
// caller's transaction instead of retrying forever in the relay.
func (e *Event) validate() error {
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"DealerID", e.DealerID}, {"Kind", e.Kind}, {"WorkflowID", e.WorkflowID},
		{"WorkflowType", e.WorkflowType}, {"TaskQueue", e.TaskQueue}, {"SignalName", e.SignalName},
	} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %v", missing)
	}
	if e.ID != "" && !validate.IsUUID(e.ID) {
		return fmt.Errorf("ID %q is not a UUID", e.ID)
	}
	return nil
}

// addSQL inserts the event and notifies relays listening on this table's
// channel (see channelName). pg_notify is transactional: the notification
// goes out at commit and never for a rolled-back event, and notifications
// with equal payloads in one transaction are folded into one.
//
// A live event leaves the backfill column to its default, so services
// whose table predates it (LegacyTableSQL) keep adding events; an event
// recorded without a span, or into a table without trace_context, leaves
// that column out too.
func addSQL(backfill, traced bool) string {
	cols, vals := "", ""
	if backfill {
		cols, vals = cols+", backfill", vals+", true"
	}
	if traced {
		cols, vals = cols+", trace_context", vals+", $11"
	}
	return `WITH e AS (
    INSERT INTO ` + TableName + ` (dealer_id, id, kind, workflow_id, workflow_type, task_queue, signal_name,
                               payload, start_input, created_at` + cols + `)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($10, now())` + vals + `)
    RETURNING 1
)
SELECT pg_notify('` + channelPrefix + `' || '` + TableName + `'::regclass::oid::text, '') FROM e`
}

// addStatements are addSQL's variants, indexed by backfill and traced.
var addStatements = [2][2]string{
	{addSQL(false, false), addSQL(false, true)},
	{addSQL(true, false), addSQL(true, true)},
}

// channelPrefix starts the notification channel of an outbox table; the
// table's oid completes it, so relays of different schemas sharing one
// database wake only for their own table, and the name stays well below
// PostgreSQL's 63-byte limit.
const channelPrefix = "dealercare_outbox_"

// Add records e in the caller's transaction, so the event is delivered if
// and only if the transaction commits. tx must be scoped (postgres.InTx) to
// a scope that includes e.DealerID, and its search_path must reach the
// service's outbox_events table. If e.ID is empty Add generates it; callers
// that need the id generate it with [NewID] first.
//
// An invalid event is an error here, before anything is written: a missing
// routing field would otherwise fail every delivery attempt.
//
// When ctx carries a span, Add records the event in an "outbox add" span
// under it and stores that span's context with the event, so the relay's
// hand-off continues the trace (see SpanDeliver).
func Add(ctx context.Context, tx pgx.Tx, e Event) (err error) {
	if err := e.validate(); err != nil {
		return fmt.Errorf("outbox: add %s event for %s: %w", e.Kind, e.WorkflowID, err)
	}
	if e.ID == "" {
		e.ID = NewID()
	}
	var traced string
	if trace.SpanContextFromContext(ctx).IsValid() {
		ok, err := hasTraceColumn(ctx, tx)
		if err != nil {
			return fmt.Errorf("outbox: add %s event %s: %w", e.Kind, e.ID, err)
		}
		if ok {
			var span trace.Span
			ctx, span = tracer().Start(ctx, SpanAdd, trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(eventAttrs(&e)...))
			defer func() {
				if err != nil {
					span.RecordError(err)
					span.SetStatus(codes.Error, "add failed")
				}
				span.End()
			}()
			traced = traceparent(ctx)
		}
	}
	payload, err := json.Marshal(e.Payload)
	if err != nil {
		return fmt.Errorf("outbox: add %s event %s: encode payload: %w", e.Kind, e.ID, err)
	}
	var startInput any // SQL NULL unless set
	if e.StartInput != nil {
		b, err := json.Marshal(e.StartInput)
		if err != nil {
			return fmt.Errorf("outbox: add %s event %s: encode start input: %w", e.Kind, e.ID, err)
		}
		startInput = json.RawMessage(b)
	}
	var occurredAt *time.Time
	if !e.OccurredAt.IsZero() {
		t := e.OccurredAt.UTC()
		occurredAt = &t
	}
	args := []any{e.DealerID, e.ID, e.Kind, e.WorkflowID, e.WorkflowType, e.TaskQueue,
		e.SignalName, json.RawMessage(payload), startInput, occurredAt}
	if traced != "" {
		args = append(args, traced)
	}
	if _, err := tx.Exec(ctx, addStatements[b2i(e.Backfill)][b2i(traced != "")], args...); err != nil {
		return fmt.Errorf("outbox: add %s event %s: %w", e.Kind, e.ID, err)
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// NewID returns a random UUID (version 4) in its canonical text form.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])  // Never fails since Go 1.24.
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
