package telemetry

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func TestLoggerMasksPersonalDataAndCarriesTraceID(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, "test", slog.LevelInfo)
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: 1}))
	log.ErrorContext(ctx, "lookup failed for 13812345678", "mobile", "+8613812345678", "id_number", "11010519491231002X",
		"error", errors.New("customer 110105194912310021 not found"))
	out := buf.String()
	for _, clear := range []string{"13812345678", "11010519491231002X", "110105194912310021"} {
		if strings.Contains(out, clear) {
			t.Errorf("log contains %s in clear: %s", clear, out)
		}
	}
	if !strings.Contains(out, `"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"`) || !strings.Contains(out, `"service":"test"`) {
		t.Errorf("log lacks trace id or service: %s", out)
	}
}
