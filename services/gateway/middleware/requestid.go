package middleware

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/metadata"
)

// RequestIDHeader carries the request id in both directions.
const RequestIDHeader = "X-Request-Id"

// RequestIDMetadataKey is the gRPC metadata key ForwardRequestID sets.
const RequestIDMetadataKey = "x-request-id"

// maxRequestIDLen bounds a caller's id: it ends up in every log line and in
// the metadata of every upstream call.
const maxRequestIDLen = 128

// RequestID gives every request an id: the caller's X-Request-Id when it is
// 1–128 characters of [A-Za-z0-9._-], otherwise a new one (the OpenTelemetry
// trace id when the request is traced, so the id leads straight to the trace,
// else 128 random bits in hex). An unusable caller id is replaced, not
// rejected: the id is for correlation, and refusing the request over it would
// help nobody. The id is set on the response before the handler runs and
// stored in the context (RequestIDFromContext).
func RequestID() func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.Header.Get(RequestIDHeader)
			if !validRequestID(id) {
				id = newRequestID(r.Context())
			}
			w.Header().Set(RequestIDHeader, id)
			next.ServeHTTP(w, r.WithContext(NewContextWithRequestID(r.Context(), id)))
		})
	}
}

// ForwardRequestID returns the request id as gRPC metadata (x-request-id) so
// the services log the same id; use it with runtime.WithMetadata. grpc-gateway
// does not forward the X-Request-Id header itself, so the services only ever
// see the id RequestID accepted or generated.
func ForwardRequestID(ctx context.Context, r *http.Request) metadata.MD {
	id := RequestIDFromContext(ctx)
	if id == "" && r != nil {
		id = RequestIDFromContext(r.Context())
	}
	if id == "" {
		return nil
	}
	return metadata.Pairs(RequestIDMetadataKey, id)
}

type requestIDKey struct{}

// NewContextWithRequestID returns a copy of ctx carrying id.
func NewContextWithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFromContext returns the id stored by RequestID, "" when none.
func RequestIDFromContext(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

func newRequestID(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		return sc.TraceID().String()
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it crashes the program instead)
	return hex.EncodeToString(b[:])
}
