package stack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"go.temporal.io/api/workflowservice/v1"
)

// temporalStartTimeout bounds the wait for a dev server to serve the
// "default" namespace; it is normally ready in about a second.
const temporalStartTimeout = 60 * time.Second

// temporalHealthService is the name the Temporal frontend registers with
// grpc.health.v1.
const temporalHealthService = "temporal.api.workflowservice.v1.WorkflowService"

// TemporalSpec configures a Temporal dev server (`temporal server
// start-dev`).
type TemporalSpec struct {
	// Binary is the Temporal CLI, <repo>/bin/temporal.
	Binary string
	// Addr is host:port of the frontend gRPC service.
	Addr string
	// DBFile keeps state across restarts; empty keeps it in memory.
	DBFile  string
	LogPath string
	PidFile string
}

// devServerDynamicConfig adjusts the dev server's settings that assume a
// cluster of many history shards: the dev server has one, so every
// per-shard budget is the whole server's.
//
// history.timerProcessorMaxPollRPS (default 20) bounds how often the timer
// queue may load timers. When a burst of timers falls due, Temporal moves
// the range it cannot finish within a second to a second, lower-priority
// reader, which then waits for poll budget the first reader keeps using:
// with 10,000 escalations due within a minute, a sixth of them fired up to
// 18 s late (p99 17 s). With 1,000 polls a second their p99 is under 0.5 s
// (make bench-escalation; README "Complaint clocks and escalations").
var devServerDynamicConfig = []string{
	"history.timerProcessorMaxPollRPS=1000",
}

func (s TemporalSpec) args() ([]string, error) {
	host, port, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return nil, fmt.Errorf("temporal address %q: %w", s.Addr, err)
	}
	if _, err := strconv.Atoi(port); err != nil {
		return nil, fmt.Errorf("temporal address %q: port is not a number", s.Addr)
	}
	args := []string{"server", "start-dev", "--headless", "--ip", host, "--port", port, "--log-level", "warn"}
	if s.DBFile != "" {
		args = append(args, "--db-filename", s.DBFile)
	}
	for _, kv := range devServerDynamicConfig {
		args = append(args, "--dynamic-config-value", kv)
	}
	return args, nil
}

// StartTemporal starts a dev server and waits until its "default" namespace
// answers. On failure the server is stopped and the error carries the tail
// of its log.
func StartTemporal(ctx context.Context, spec TemporalSpec) (*Process, error) {
	if _, err := os.Stat(spec.Binary); err != nil {
		return nil, fmt.Errorf("temporal CLI: %w (`make run` and `make test` build it)", err)
	}
	args, err := spec.args()
	if err != nil {
		return nil, err
	}
	p, err := StartProcess(ProcessSpec{
		Name: "temporal", Path: spec.Binary, Args: args,
		Env: os.Environ(), LogPath: spec.LogPath, PidFile: spec.PidFile,
	})
	if err != nil {
		return nil, err
	}
	if err := waitTemporal(ctx, spec.Addr, p.Done()); err != nil {
		p.Stop(StopGrace)
		return nil, fmt.Errorf("%w\n%s:\n%s", err, spec.LogPath, indent(LogExcerpt(spec.LogPath, 20), "  "))
	}
	return p, nil
}

// waitTemporal waits for the frontend's health check and then for the
// "default" namespace, which the dev server registers just after it starts
// serving; a test that connects in between would fail with NotFound.
func waitTemporal(ctx context.Context, addr string, exited <-chan struct{}) error {
	health, conn, err := GRPCHealthCheck(addr, temporalHealthService)
	if err != nil {
		return fmt.Errorf("temporal on %s: %w", addr, err)
	}
	defer conn.Close()
	client := workflowservice.NewWorkflowServiceClient(conn)
	return WaitReady(ctx, "temporal on "+addr, temporalStartTimeout, exited, func(ctx context.Context) error {
		if err := health(ctx); err != nil {
			return err
		}
		resp, err := client.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
		if err != nil {
			return err
		}
		if resp.GetNamespaceInfo().GetName() != "default" {
			return errors.New(`namespace "default" not registered yet`)
		}
		return nil
	})
}
