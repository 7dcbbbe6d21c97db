package idempotency

import (
	"context"
	"net/http"

	"google.golang.org/grpc/metadata"

	pkgidem "github.com/dealercare/dealercare/pkg/idempotency"
)

// ForwardKey is a runtime.WithMetadata annotator: it passes a mutating
// request's Idempotency-Key to the service as gRPC metadata
// (pkg/idempotency.MetadataKey), so the service records the write under
// the key in its own transaction and a retry whose answer was lost (the
// middleware abandons the key on 5xx) gets the same resource instead of a
// second one. The caller is not forwarded: the service takes it from the
// token it verifies itself.
func ForwardKey(_ context.Context, r *http.Request) metadata.MD {
	keys := r.Header.Values(HeaderKey)
	if !mutating(r.Method) || validateKey(keys) != "" {
		return nil
	}
	return metadata.Pairs(pkgidem.MetadataKey, keys[0])
}
