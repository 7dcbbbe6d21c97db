package outbox

import (
	"context"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// The trace across the asynchronous hop: Add records the event inside an
// "outbox add" span (a producer span, child of the request's) and stores
// that span's W3C traceparent in the event's trace_context column; the
// relay hands the event off inside an "outbox deliver" span (a consumer
// span) that continues the stored context and links to it, so the
// request, the hand-off and the Temporal workflow it signals are one
// trace however long the event waited.
const (
	tracerName      = "dealercare/outbox"
	SpanAdd         = "outbox add"
	SpanDeliver     = "outbox deliver"
	traceparentKey  = "traceparent"
	attrEventKind   = attribute.Key("dealercare.event.kind")
	attrEventID     = attribute.Key("dealercare.event.id")
	attrWorkflowID  = attribute.Key("dealercare.workflow.id")
	attrDealerID    = attribute.Key("dealercare.dealer.id")
	attrMessagingSy = attribute.Key("messaging.system")
)

// w3c is the propagation format of trace_context, fixed (rather than the
// process's global propagator) so every service reads what any wrote.
var w3c = propagation.TraceContext{}

func tracer() trace.Tracer { return otel.Tracer(tracerName) }

func eventAttrs(e *Event) []attribute.KeyValue {
	return []attribute.KeyValue{
		attrMessagingSy.String("dealercare.outbox"),
		attrEventKind.String(e.Kind), attrEventID.String(e.ID),
		attrWorkflowID.String(e.WorkflowID), attrDealerID.String(e.DealerID),
	}
}

// traceparent is the W3C traceparent of ctx's span, "" without one.
func traceparent(ctx context.Context) string {
	c := propagation.MapCarrier{}
	w3c.Inject(ctx, c)
	return c[traceparentKey]
}

// producerContext is the span context stored with an event (invalid when
// none was).
func producerContext(stored *string) trace.SpanContext {
	if stored == nil || *stored == "" {
		return trace.SpanContext{}
	}
	ctx := w3c.Extract(context.Background(), propagation.MapCarrier{traceparentKey: *stored})
	return trace.SpanContextFromContext(ctx)
}

// traceColumns remembers, per database and search_path, whether the
// outbox table Add reaches has the trace_context column (a table created
// before it, until TraceContextSQL runs, has not). It is looked up once
// per process and key; a migration adding the column while the process
// runs takes effect at its next start.
var traceColumns sync.Map // key string -> bool

// hasTraceColumn reports whether tx's outbox table has trace_context.
func hasTraceColumn(ctx context.Context, tx pgx.Tx) (bool, error) {
	cfg := tx.Conn().Config()
	key := fmt.Sprintf("%s:%d/%s?search_path=%s", cfg.Host, cfg.Port, cfg.Database, cfg.RuntimeParams["search_path"])
	if v, ok := traceColumns.Load(key); ok {
		return v.(bool), nil
	}
	var ok bool
	if err := tx.QueryRow(ctx, traceColumnSQL, TableName).Scan(&ok); err != nil {
		return false, fmt.Errorf("look for the trace_context column: %w", err)
	}
	traceColumns.Store(key, ok)
	return ok, nil
}

// traceColumnSQL finds trace_context on the table $1 names (resolved
// through the search_path, or schema-qualified).
const traceColumnSQL = `SELECT EXISTS (
    SELECT 1 FROM pg_attribute
    WHERE attrelid = to_regclass($1) AND attname = 'trace_context' AND NOT attisdropped)`
