package middleware

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/metadata"
)

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestRequestID(t *testing.T) {
	traceID := trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	spanCtx := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: traceID, SpanID: trace.SpanID{0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}, TraceFlags: trace.FlagsSampled,
	})
	tests := []struct {
		name   string
		header []string // X-Request-Id values sent
		traced bool
		want   string // "" means: a new random id
	}{
		{name: "kept", header: []string{"req-1.A_b"}, want: "req-1.A_b"},
		{name: "kept at 128 characters", header: []string{strings.Repeat("a", 128)}, want: strings.Repeat("a", 128)},
		{name: "first of several kept", header: []string{"first", "second"}, want: "first"},
		{name: "generated when missing"},
		{name: "generated when empty", header: []string{""}},
		{name: "rejected when too long", header: []string{strings.Repeat("a", 129)}},
		{name: "rejected with a space", header: []string{"abc def"}},
		{name: "rejected with markup", header: []string{"<script>alert(1)</script>"}},
		{name: "rejected with a log-forging newline", header: []string{"abc\n{\"level\":\"ERROR\"}"}},
		{name: "rejected non-ASCII", header: []string{"请求-1"}},
		{name: "trace id reused when traced", traced: true, want: traceID.String()},
		{name: "trace id replaces a bad id", header: []string{"bad id"}, traced: true, want: traceID.String()},
		{name: "caller's id beats the trace id", header: []string{"mine"}, traced: true, want: "mine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/v1/kpis:rank", nil)
			for _, v := range tt.header {
				r.Header.Add(RequestIDHeader, v)
			}
			if tt.traced {
				r = r.WithContext(trace.ContextWithSpanContext(r.Context(), spanCtx))
			}
			var inCtx, beforeWrite string
			h := RequestID()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				inCtx = RequestIDFromContext(r.Context())
				beforeWrite = w.Header().Get(RequestIDHeader)
				w.WriteHeader(http.StatusNoContent)
			}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)

			got := rec.Header().Get(RequestIDHeader)
			if tt.want != "" && got != tt.want {
				t.Errorf("response id = %q, want %q", got, tt.want)
			}
			if tt.want == "" && !hex32.MatchString(got) {
				t.Errorf("response id = %q, want 32 hex digits", got)
			}
			if inCtx != got || beforeWrite != got {
				t.Errorf("context id %q, header seen by handler %q, response id %q: want all equal", inCtx, beforeWrite, got)
			}
		})
	}

	t.Run("generated ids differ", func(t *testing.T) {
		seen := map[string]bool{}
		h := RequestID()(http.NotFoundHandler())
		for range 100 {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			id := rec.Header().Get(RequestIDHeader)
			if seen[id] {
				t.Fatalf("id %q generated twice", id)
			}
			seen[id] = true
		}
	})
}

// TestForwardRequestID runs grpc-gateway's own context annotation, which is
// what builds the outgoing metadata of every upstream call.
func TestForwardRequestID(t *testing.T) {
	mux := runtime.NewServeMux(runtime.WithMetadata(ForwardRequestID))
	tests := []struct {
		name   string
		header string
		want   string // "" means: the generated id
	}{
		{name: "caller's id", header: "abc-123", want: "abc-123"},
		{name: "generated id replaces a bad one", header: "not ok!"},
		{name: "generated id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var md metadata.MD
			h := RequestID()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ctx, err := runtime.AnnotateContext(r.Context(), mux, r, "/dealercare.customer.v1.DealerNetworkService/GetDealer")
				if err != nil {
					t.Fatal(err)
				}
				md, _ = metadata.FromOutgoingContext(ctx)
			}))
			r := httptest.NewRequest(http.MethodGet, "/v1/dealers/SH001", nil)
			if tt.header != "" {
				r.Header.Set(RequestIDHeader, tt.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)

			want := tt.want
			if want == "" {
				want = rec.Header().Get(RequestIDHeader)
			}
			if got := md.Get(RequestIDMetadataKey); len(got) != 1 || got[0] != want {
				t.Errorf("metadata %s = %q, want exactly [%q]", RequestIDMetadataKey, got, want)
			}
		})
	}

	t.Run("nothing without RequestID", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if md := ForwardRequestID(r.Context(), r); md != nil {
			t.Errorf("ForwardRequestID = %v, want nil", md)
		}
	})
}
