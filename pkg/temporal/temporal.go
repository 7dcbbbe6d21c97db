// Package temporal sets up Temporal clients and workers the same way in every
// dealercare process: namespace and address from the environment, slog
// logging, OpenTelemetry tracing interceptors, and the task queues by name.
package temporal

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/dealercare/dealercare/pkg/config"
	"go.opentelemetry.io/otel"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
)

// Task queues. Each is polled by the worker (workflows/cmd/worker).
const (
	// TaskQueueNetwork runs dealer-network activities (business calendars).
	TaskQueueNetwork = "dealercare-network"
)

// Config of the Temporal connection.
type Config struct {
	Address   string
	Namespace string
}

// LoadConfig reads TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE.
func LoadConfig(l *config.Loader) Config {
	return Config{
		Address:   l.String("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
		Namespace: l.String("TEMPORAL_NAMESPACE", "default"),
	}
}

// Options builds client options with tracing and logging. Payloads use the
// SDK's default converter (JSON, and protobuf JSON for proto messages), so
// histories stay readable in the Temporal UI.
func Options(c Config, log *slog.Logger) (client.Options, error) {
	tracer, err := opentelemetry.NewTracingInterceptor(opentelemetry.TracerOptions{
		Tracer: otel.Tracer("dealercare/temporal"),
	})
	if err != nil {
		return client.Options{}, fmt.Errorf("temporal tracing interceptor: %w", err)
	}
	return client.Options{
		HostPort:      c.Address,
		Namespace:     c.Namespace,
		Logger:        tlog.NewStructuredLogger(log.With("component", "temporal")),
		DataConverter: converter.GetDefaultDataConverter(),
		Interceptors:  []interceptor.ClientInterceptor{tracer},
		// The SDK's own metrics (temporal_workflow_task_schedule_to_start_latency,
		// temporal_activity_schedule_to_start_latency, ...) through the
		// process's OpenTelemetry meter provider (pkg/telemetry).
		MetricsHandler: opentelemetry.NewMetricsHandler(opentelemetry.MetricsHandlerOptions{}),
	}, nil
}

// Dial connects eagerly: the worker cannot do anything without Temporal, so
// it should fail fast with a clear message.
func Dial(ctx context.Context, c Config, log *slog.Logger) (client.Client, error) {
	opts, err := Options(c, log)
	if err != nil {
		return nil, err
	}
	cl, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (TEMPORAL_ADDRESS), namespace %q: %w", c.Address, c.Namespace, err)
	}
	return cl, nil
}

// NewLazyClient connects on first use, so a service starts (and keeps saving
// its data) while Temporal is down.
func NewLazyClient(c Config, log *slog.Logger) (client.Client, error) {
	opts, err := Options(c, log)
	if err != nil {
		return nil, err
	}
	return client.NewLazyClient(opts)
}

// NewWorker builds a worker for a task queue with deliberate defaults:
//
//   - More pollers than the SDK's two: a poll hands over one task per
//     round trip, so when thousands of timers fire in the same minute two
//     pollers, not the worker's CPU, set the pace.
//   - Workflow tasks wait up to StickyScheduleToStartTimeout for the worker
//     that has the run cached (the SDK's 5 s): in a burst they queue longer
//     than that, and each that times out is replayed from its whole history
//     by a poller of the normal queue, where it can wait out a long poll
//     (a minute) in a partition no poller is on. A stopped worker tells the
//     server, so only a crashed one delays its runs by this much.
//   - On Stop (SIGTERM) the worker stops polling and lets the activities it
//     runs finish for up to WorkerStopTimeout before it cancels them (the
//     SDK's default is not to wait at all, so a rolling restart cancelled
//     every call in flight and Temporal retried it elsewhere after its
//     timeout).
func NewWorker(cl client.Client, queue string) worker.Worker {
	return worker.New(cl, queue, worker.Options{
		MaxConcurrentWorkflowTaskPollers: 16,
		MaxConcurrentActivityTaskPollers: 8,
		StickyScheduleToStartTimeout:     30 * time.Second,
		WorkerStopTimeout:                WorkerStopTimeout,
	})
}

// WorkerStopTimeout is how long a stopping worker waits for its running
// activities (service calls of a few seconds at most). It fits the
// chart's grace period for the worker with 5 s to spare (20 s: preStop
// 5 s, this, 5 s for the health server).
const WorkerStopTimeout = 5 * time.Second
