// Package devserver holds what every starter of a Temporal dev server
// (`temporal server start-dev`) shares: its command line, with the dynamic
// config dealercare runs it with, and the check that it is ready. The
// starters (tools/dev/stack for `make run`, `bin/devstack testenv` and
// tools/chaos; pkg/temporal/temporaltest for tests that kill and restart
// their own server) only manage the process.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// HealthService is the name the Temporal frontend registers with
// grpc.health.v1.
const HealthService = "temporal.api.workflowservice.v1.WorkflowService"

// DynamicConfig adjusts the dev server's settings that assume a cluster of
// many history shards: the dev server has one, so every per-shard budget
// is the whole server's.
//
// history.timerProcessorMaxPollRPS (default 20) bounds how often the timer
// queue may load timers. When a burst of timers falls due, Temporal moves
// the range it cannot finish within a second to a second, lower-priority
// reader, which then waits for poll budget the first reader keeps using:
// with 10,000 escalations due within a minute, a sixth of them fired up to
// 18 s late (p99 17 s). With 1,000 polls a second their p99 is under 0.5 s
// (make bench-escalation; README "Complaint clocks and escalations").
var DynamicConfig = []string{
	"history.timerProcessorMaxPollRPS=1000",
}

// Args is the Temporal CLI's command line for a dev server whose frontend
// listens on addr (host:port). dbFile keeps its state across restarts;
// empty keeps it in memory.
func Args(addr, dbFile string) ([]string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("temporal address %q: %w", addr, err)
	}
	if _, err := strconv.Atoi(port); err != nil {
		return nil, fmt.Errorf("temporal address %q: port is not a number", addr)
	}
	args := []string{"server", "start-dev", "--headless", "--ip", host, "--port", port, "--log-level", "warn"}
	if dbFile != "" {
		args = append(args, "--db-filename", dbFile)
	}
	for _, kv := range DynamicConfig {
		args = append(args, "--dynamic-config-value", kv)
	}
	return args, nil
}

// ReadyCheck returns a check that succeeds once the dev server at addr
// serves its frontend's health check and its "default" namespace, which
// it registers just after it starts serving (a client that connects in
// between fails with NotFound). The caller retries the check until it
// succeeds and then calls closeConn.
func ReadyCheck(addr string) (check func(context.Context) error, closeConn func() error, err error) {
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// The server is expected any moment: retry the connection at a
		// polling pace rather than after gRPC's default 1 s backoff.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 150 * time.Millisecond, Multiplier: 1.2, MaxDelay: time.Second},
			MinConnectTimeout: 2 * time.Second,
		}),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("temporal on %s: gRPC client: %w", addr, err)
	}
	health := healthpb.NewHealthClient(conn)
	frontend := workflowservice.NewWorkflowServiceClient(conn)
	check = func(ctx context.Context) error {
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: HealthService})
		if err != nil {
			return err
		}
		if s := resp.GetStatus(); s != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("health status %s", s)
		}
		ns, err := frontend.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
		if err != nil {
			return err
		}
		if ns.GetNamespaceInfo().GetName() != "default" {
			return errors.New(`namespace "default" not registered yet`)
		}
		return nil
	}
	return check, conn.Close, nil
}
