package app

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// upstream is a service the gateway forwards to, by the name /healthz
// reports it under.
type upstream struct {
	name string
	conn *grpc.ClientConn
}

// healthTimeout bounds each upstream's check.
const healthTimeout = 2 * time.Second

// healthz answers GET /healthz with each upstream's grpc.health.v1 status
// by name, e.g. {"status":"SERVING","upstreams":{"customer":"SERVING",...}}:
// 200 when every upstream serves, 503 naming the one that does not (its
// status, or the error of the check).
func healthz(ups []upstream) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
		defer cancel()
		statuses := make(map[string]string, len(ups))
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, u := range ups {
			wg.Go(func() {
				status := "SERVING"
				res, err := healthpb.NewHealthClient(u.conn).Check(ctx, &healthpb.HealthCheckRequest{})
				switch {
				case err != nil:
					status = "UNREACHABLE: " + err.Error()
				case res.GetStatus() != healthpb.HealthCheckResponse_SERVING:
					status = res.GetStatus().String()
				}
				mu.Lock()
				statuses[u.name] = status
				mu.Unlock()
			})
		}
		wg.Wait()
		overall, code := "SERVING", http.StatusOK
		for _, s := range statuses {
			if s != "SERVING" {
				overall, code = "NOT_SERVING", http.StatusServiceUnavailable
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]any{"status": overall, "upstreams": statuses})
	})
}
