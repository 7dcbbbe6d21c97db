package stack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// pollInterval is how often readiness checks are retried.
const pollInterval = 150 * time.Millisecond

// ErrExited is wrapped by WaitReady's error when the program died while
// it waited.
var ErrExited = errors.New("exited before it was ready")

// WaitReady calls check until it succeeds. It gives up when ctx ends, when
// timeout passes, or as soon as exited is closed (the program died, so
// waiting longer is pointless); the error then carries check's last
// complaint. exited may be nil.
func WaitReady(ctx context.Context, what string, timeout time.Duration, exited <-chan struct{}, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		err := check(attempt)
		cancelAttempt()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("%s: %w (last check: %v)", what, ErrExited, err)
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%s: not ready after %s: %w", what, timeout, err)
			}
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-ticker.C:
		}
	}
}

// GRPCHealthCheck returns a check that asks addr's grpc.health.v1 service
// about service ("" is the server as a whole) and succeeds on SERVING. The
// caller closes the returned connection.
func GRPCHealthCheck(addr, service string) (func(context.Context) error, *grpc.ClientConn, error) {
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// The server is expected any moment: retry the connection at the
		// polling pace rather than after gRPC's default 1 s backoff.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: pollInterval, Multiplier: 1.2, MaxDelay: time.Second},
			MinConnectTimeout: 2 * time.Second,
		}),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("gRPC client for %s: %w", addr, err)
	}
	client := healthpb.NewHealthClient(conn)
	check := func(ctx context.Context) error {
		resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			return err
		}
		if s := resp.GetStatus(); s != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("health status %s", s)
		}
		return nil
	}
	return check, conn, nil
}

// HTTPHealthCheck returns a check that succeeds when GET url answers 200.
func HTTPHealthCheck(url string) func(context.Context) error {
	client := &http.Client{Timeout: 2 * time.Second}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}
