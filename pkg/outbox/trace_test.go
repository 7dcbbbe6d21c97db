package outbox_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/dealercare/dealercare/pkg/outbox"
	"github.com/dealercare/dealercare/pkg/postgres"
)

// recordSpans installs a tracer provider that keeps every ended span,
// for the rest of the test.
func recordSpans(t *testing.T) *tracetest.InMemoryExporter {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() {
		otel.SetTracerProvider(prev)
		_ = tp.Shutdown(context.Background())
	})
	return exp
}

// addTraced commits e inside a "request" span and returns that span's
// context.
func (h *harness) addTraced(e outbox.Event) trace.SpanContext {
	h.t.Helper()
	ctx, span := otel.Tracer("test").Start(context.Background(), "request")
	defer span.End()
	if err := postgres.InTx(ctx, h.pool, postgres.Dealers(e.DealerID), func(tx pgx.Tx) error {
		return outbox.Add(ctx, tx, e)
	}); err != nil {
		h.t.Fatalf("add event: %v", err)
	}
	return span.SpanContext()
}

func spansNamed(exp *tracetest.InMemoryExporter, name string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// The hand-off continues the trace the event was recorded in: "outbox
// add" is a producer span under the request, its context is stored with
// the event, and the relay's "outbox deliver" is its child and links to
// it, in the same trace, although another process may deliver it later.
func TestDeliveryContinuesTheTrace(t *testing.T) {
	exp := recordSpans(t)
	h := newHarness(t)
	request := h.addTraced(h.event(h.workflowID(), "traced"))
	stop := h.start(h.relay())
	eventually(t, "an outbox deliver span", func() (bool, string) {
		return len(spansNamed(exp, outbox.SpanDeliver)) > 0, ""
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	adds, delivers := spansNamed(exp, outbox.SpanAdd), spansNamed(exp, outbox.SpanDeliver)
	if len(adds) != 1 || len(delivers) != 1 {
		t.Fatalf("%d add and %d deliver spans, want one each", len(adds), len(delivers))
	}
	add, deliver := adds[0], delivers[0]
	if add.Parent.SpanID() != request.SpanID() || add.SpanContext.TraceID() != request.TraceID() || add.SpanKind != trace.SpanKindProducer {
		t.Errorf("outbox add: parent %s kind %s, want a producer span under the request %s", add.Parent.SpanID(), add.SpanKind, request.SpanID())
	}
	if deliver.SpanContext.TraceID() != request.TraceID() || deliver.Parent.SpanID() != add.SpanContext.SpanID() || deliver.SpanKind != trace.SpanKindConsumer {
		t.Errorf("outbox deliver: trace %s parent %s kind %s, want a consumer span under outbox add (%s) in the request's trace %s",
			deliver.SpanContext.TraceID(), deliver.Parent.SpanID(), deliver.SpanKind, add.SpanContext.SpanID(), request.TraceID())
	}
	if len(deliver.Links) != 1 || deliver.Links[0].SpanContext.SpanID() != add.SpanContext.SpanID() {
		t.Errorf("outbox deliver links %v, want one to outbox add", deliver.Links)
	}
}

// A table without trace_context (created before it) still takes events
// recorded under a span; their hand-off starts a trace of its own.
// TraceContextSQL adds the column.
func TestTableWithoutTraceContext(t *testing.T) {
	exp := recordSpans(t)
	h := newHarnessOn(t, legacyMigrations)
	wf := h.workflowID()
	request := h.addTraced(h.event(wf, "untraced"))
	stop := h.start(h.relay())
	eventually(t, "an outbox deliver span", func() (bool, string) {
		return len(spansNamed(exp, outbox.SpanDeliver)) > 0, ""
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := len(spansNamed(exp, outbox.SpanAdd)); n != 0 {
		t.Errorf("%d outbox add spans for a table that cannot store their context", n)
	}
	if d := spansNamed(exp, outbox.SpanDeliver)[0]; d.SpanContext.TraceID() == request.TraceID() || d.Parent.IsValid() {
		t.Errorf("deliver span of an untraced event is in trace %s under %s; want a root of its own", d.SpanContext.TraceID(), d.Parent.SpanID())
	}
	owner, err := pgx.Connect(context.Background(), h.db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(context.Background())
	if _, err := owner.Exec(context.Background(), outbox.TraceContextSQL(schema)); err != nil {
		t.Fatalf("TraceContextSQL: %v", err)
	}
}
