// Package app wires the Temporal worker: it connects to Temporal and to the
// services its activities call, registers every workflow and activity, and
// serves a health endpoint for probes.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	evaluationv1 "github.com/dealercare/dealercare/gen/go/dealercare/evaluation/v1"
	"github.com/dealercare/dealercare/pkg/config"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/grpcclient"
	"github.com/dealercare/dealercare/pkg/telemetry"
	dctemporal "github.com/dealercare/dealercare/pkg/temporal"
	"github.com/dealercare/dealercare/workflows/callback"
	"github.com/dealercare/dealercare/workflows/campaign"
	"github.com/dealercare/dealercare/workflows/complaint"
	"github.com/dealercare/dealercare/workflows/evaluation"
	"github.com/dealercare/dealercare/workflows/greeting"
	"github.com/dealercare/dealercare/workflows/network"
	"github.com/dealercare/dealercare/workflows/vehicle"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// ServiceName names the process in logs and traces.
const ServiceName = "worker"

// Config of the worker.
type Config struct {
	Telemetry       telemetry.Config
	Temporal        dctemporal.Config
	CustomerTarget  string
	ComplaintTarget string
	CallbackTarget  string
	CampaignTarget  string
	// ServiceTokenFile holds the bearer token the worker presents to the
	// services (a projected secret in Kubernetes); re-read on every call so
	// rotation needs no restart.
	ServiceTokenFile string
	HealthAddr       string

	// EvaluationTarget is the evaluation service (EVALUATION_GRPC_TARGET).
	EvaluationTarget string
}

// LoadConfig reads the environment; the error names every bad variable.
func LoadConfig(l *config.Loader) (Config, error) {
	c := Config{
		Telemetry:        telemetry.LoadConfig(l, ServiceName),
		Temporal:         dctemporal.LoadConfig(l),
		CustomerTarget:   l.String("CUSTOMER_GRPC_TARGET", "127.0.0.1:9101"),
		ComplaintTarget:  l.String("COMPLAINT_GRPC_TARGET", "127.0.0.1:9103"),
		CallbackTarget:   l.String("CALLBACK_GRPC_TARGET", "127.0.0.1:9102"),
		CampaignTarget:   l.String("CAMPAIGN_GRPC_TARGET", "127.0.0.1:9105"),
		ServiceTokenFile: l.Required("SERVICE_TOKEN_FILE"),
		HealthAddr:       l.String("WORKER_HEALTH_ADDR", "127.0.0.1:9190"),
	}
	c.EvaluationTarget = l.String("EVALUATION_GRPC_TARGET", "127.0.0.1:9104")
	return c, l.Err()
}

// tokenFile is gRPC per-call credentials read from a file.
type tokenFile struct{ path string }

func (t tokenFile) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	b, err := os.ReadFile(t.path)
	if err != nil {
		return nil, fmt.Errorf("read SERVICE_TOKEN_FILE: %w", err)
	}
	return map[string]string{"authorization": "Bearer " + strings.TrimSpace(string(b))}, nil
}

// RequireTransportSecurity is false: in-cluster traffic is plaintext gRPC
// behind NetworkPolicies (a mesh adds mTLS where required).
func (tokenFile) RequireTransportSecurity() bool { return false }

var _ credentials.PerRPCCredentials = tokenFile{}

// Main is the running worker.
type Main struct {
	Config Config
	Log    *slog.Logger

	temporal client.Client
	workers  []worker.Worker
	conns    []*grpc.ClientConn
	health   *http.Server
	lis      net.Listener
}

// Open connects to Temporal and the services and registers everything.
func (m *Main) Open(ctx context.Context) error {
	if m.Log == nil {
		m.Log = slog.Default()
	}
	if _, err := os.Stat(m.Config.ServiceTokenFile); err != nil {
		return fmt.Errorf("SERVICE_TOKEN_FILE: %w", err)
	}
	tc, err := dctemporal.Dial(ctx, m.Config.Temporal, m.Log)
	if err != nil {
		return err
	}
	m.temporal = tc
	dialService := func(target, variable string) (*grpc.ClientConn, error) {
		conn, err := grpcclient.Dial(target, grpc.WithPerRPCCredentials(tokenFile{m.Config.ServiceTokenFile}))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", variable, err)
		}
		m.conns = append(m.conns, conn)
		return conn, nil
	}
	customer, err := dialService(m.Config.CustomerTarget, "CUSTOMER_GRPC_TARGET")
	if err != nil {
		return err
	}
	complaints, err := dialService(m.Config.ComplaintTarget, "COMPLAINT_GRPC_TARGET")
	if err != nil {
		return err
	}
	callbacks, err := dialService(m.Config.CallbackTarget, "CALLBACK_GRPC_TARGET")
	if err != nil {
		return err
	}

	campaigns, err := dialService(m.Config.CampaignTarget, "CAMPAIGN_GRPC_TARGET")
	if err != nil {
		return err
	}

	w := dctemporal.NewWorker(tc, dctemporal.TaskQueueNetwork)
	w.RegisterActivity(&network.Activities{Network: customerv1.NewDealerNetworkServiceClient(customer)})
	m.workers = append(m.workers, w)

	vehicles := dctemporal.NewWorker(tc, events.VehicleTaskQueue)
	vehicle.Register(vehicles, customerv1.NewVehicleStateServiceClient(customer))
	vehicle.RegisterReminders(vehicles, &vehicle.ReminderActivities{
		Campaigns: campaignv1.NewCampaignWorkflowServiceClient(campaigns),
		Callbacks: callbackv1.NewCallbackWorkflowServiceClient(callbacks),
		Segments:  customerv1.NewSegmentServiceClient(customer),
	})
	m.workers = append(m.workers, vehicles)

	escalations := dctemporal.NewWorker(tc, events.ComplaintTaskQueue)
	complaint.Register(escalations, complaintv1.NewComplaintClockServiceClient(complaints), customerv1.NewDealerNetworkServiceClient(customer))
	m.workers = append(m.workers, escalations)

	callbackWorker := dctemporal.NewWorker(tc, events.CallbackTaskQueue)
	callback.Register(callbackWorker, &callback.Activities{
		Workflow:   callbackv1.NewCallbackWorkflowServiceClient(callbacks),
		Tasks:      callbackv1.NewCallbackServiceClient(callbacks),
		Complaints: complaintv1.NewComplaintServiceClient(complaints),
		Archive:    customerv1.NewArchiveServiceClient(customer),
	})
	m.workers = append(m.workers, callbackWorker)

	campaignWorker := dctemporal.NewWorker(tc, events.CampaignTaskQueue)
	campaign.Register(campaignWorker, campaignv1.NewCampaignWorkflowServiceClient(campaigns))
	greeting.Register(campaignWorker, campaignv1.NewCampaignWorkflowServiceClient(campaigns))
	m.workers = append(m.workers, campaignWorker)
	// One holiday-greeting workflow for the network, and one
	// birthday-greeting workflow, a day at a time.
	if err := m.startOne(ctx, events.CampaignTaskQueue, greeting.WorkflowID, greeting.WorkflowType, greeting.Input{}); err != nil {
		return err
	}
	if err := m.startOne(ctx, events.CampaignTaskQueue, greeting.BirthdayWorkflowID, greeting.BirthdayWorkflowType, greeting.BirthdayInput{}); err != nil {
		return err
	}
	// Without an evaluation service (a worker configured in code, as tests
	// do) there is no feed to run.
	if m.Config.EvaluationTarget != "" {
		if err := m.openEvaluation(ctx, dialService); err != nil {
			return err
		}
	}

	lis, err := net.Listen("tcp", m.Config.HealthAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (WORKER_HEALTH_ADDR): %w", m.Config.HealthAddr, err)
	}
	m.lis = lis
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", m.healthz)
	// /livez answers while the process serves, Temporal or not: a liveness
	// probe must not restart workers because Temporal is down.
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	m.health = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return nil
}

// openEvaluation registers the evaluation's feed workflow and starts its
// one instance (a running one is kept).
func (m *Main) openEvaluation(ctx context.Context, dial func(target, variable string) (*grpc.ClientConn, error)) error {
	evaluations, err := dial(m.Config.EvaluationTarget, "EVALUATION_GRPC_TARGET")
	if err != nil {
		return err
	}
	evaluationWorker := dctemporal.NewWorker(m.temporal, evaluation.TaskQueue)
	evaluation.Register(evaluationWorker, evaluationv1.NewEvaluationWorkflowServiceClient(evaluations))
	m.workers = append(m.workers, evaluationWorker)
	// One feed workflow for the network.
	return m.startOne(ctx, evaluation.TaskQueue, evaluation.WorkflowID, evaluation.WorkflowType, evaluation.Input{})
}

// startOne starts the network's one workflow id of workflowType on queue;
// a running one is kept.
func (m *Main) startOne(ctx context.Context, queue, id, workflowType string, in any) error {
	if _, err := m.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING}, workflowType, in); err != nil {
		return fmt.Errorf("start %s: %w", id, err)
	}
	return nil
}

// healthz reports whether Temporal answers.
func (m *Main) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := m.temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		http.Error(w, "temporal unavailable", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// HealthAddr is the bound health address.
func (m *Main) HealthAddr() string { return m.lis.Addr().String() }

// Run polls until ctx is cancelled; in-flight activities finish first
// (worker.Stop waits for them up to the worker's stop timeout).
func (m *Main) Run(ctx context.Context) error {
	for _, w := range m.workers {
		if err := w.Start(); err != nil {
			return fmt.Errorf("start worker: %w", err)
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- m.health.Serve(m.lis) }()
	m.Log.Info("worker running", "health_addr", m.HealthAddr(), "temporal", m.Config.Temporal.Address, "namespace", m.Config.Temporal.Namespace)
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	// Each worker lets its running activities finish (up to
	// dctemporal.WorkerStopTimeout); all at once, so the wait is one
	// timeout, not one per task queue.
	var stopping sync.WaitGroup
	for _, w := range m.workers {
		stopping.Go(w.Stop)
	}
	stopping.Wait()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if serr := m.health.Shutdown(sctx); serr != nil {
		err = errors.Join(err, serr)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Close releases connections.
func (m *Main) Close() error {
	var errs []error
	for _, c := range m.conns {
		errs = append(errs, c.Close())
	}
	if m.temporal != nil {
		m.temporal.Close()
	}
	return errors.Join(errs...)
}
