// Package app wires the webhook service: configuration, PostgreSQL (the
// subscriptions, the delivery log and the service's outbox), the gRPC
// server, the outbox relay, and the Temporal worker of the delivery
// workflows, whose activities need this service's tables. The half every
// domain service shares is pkg/service.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	webhookv1 "github.com/dealercare/dealercare/gen/go/dealercare/webhook/v1"
	"github.com/dealercare/dealercare/pkg/config"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/pii"
	"github.com/dealercare/dealercare/pkg/service"
	dctemporal "github.com/dealercare/dealercare/pkg/temporal"
	"github.com/dealercare/dealercare/services/webhook/delivery"
	webhookgrpc "github.com/dealercare/dealercare/services/webhook/grpc"
	"github.com/dealercare/dealercare/services/webhook/postgres"
	"github.com/dealercare/dealercare/services/webhook/webhook"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"
)

// ServiceName names the process in logs and traces.
const ServiceName = "webhook"

// Config of the webhook service.
type Config struct {
	service.Config
	Keys pii.Keys
	// AllowLoopback accepts http(s)://localhost endpoints and lets
	// deliveries connect to loopback (WEBHOOK_ALLOW_LOOPBACK; development
	// and tests only).
	AllowLoopback bool
	Policy        delivery.Policy
	// Worker runs the delivery workflows' worker in this process
	// (WEBHOOK_WORKER).
	Worker bool
	// ComplaintTarget is the complaint service, whose inboxes tell a
	// disabled subscription's owner (COMPLAINT_GRPC_TARGET); empty: the
	// disabling is only logged (a warning) and shown in the API.
	ComplaintTarget string
	// ServiceTokenFile holds the token the notices are posted with
	// (SERVICE_TOKEN_FILE, required with COMPLAINT_GRPC_TARGET).
	ServiceTokenFile string
}

// LoadConfig reads the environment; the error names every bad variable.
func LoadConfig(l *config.Loader) (Config, error) {
	common, dbErr := service.LoadConfig(l, ServiceName, "WEBHOOK_GRPC_ADDR", "127.0.0.1:9106")
	d := delivery.DefaultPolicy
	c := Config{Config: common, Keys: pii.LoadKeys(l),
		AllowLoopback: l.Bool("WEBHOOK_ALLOW_LOOPBACK", false),
		Policy: delivery.Policy{
			AttemptTimeout: l.Duration("WEBHOOK_ATTEMPT_TIMEOUT", d.AttemptTimeout),
			FirstRetry:     l.Duration("WEBHOOK_RETRY_INITIAL", d.FirstRetry),
			MaxRetry:       l.Duration("WEBHOOK_RETRY_MAX", d.MaxRetry),
			RetryFor:       l.Duration("WEBHOOK_RETRY_FOR", d.RetryFor),
			Idle:           l.Duration("WEBHOOK_WORKFLOW_IDLE", d.Idle),
			Settle:         l.Duration("WEBHOOK_ORDER_WINDOW", d.Settle),
		},
		Worker:           l.Bool("WEBHOOK_WORKER", true),
		ComplaintTarget:  l.String("COMPLAINT_GRPC_TARGET", ""),
		ServiceTokenFile: l.String("SERVICE_TOKEN_FILE", ""),
	}
	l.Check(c.ComplaintTarget == "" || c.ServiceTokenFile != "", "SERVICE_TOKEN_FILE", "is required with COMPLAINT_GRPC_TARGET (the owner's notices are posted with it)")
	p := c.Policy
	l.Check(p.AttemptTimeout >= time.Second, "WEBHOOK_ATTEMPT_TIMEOUT", "must be at least 1s")
	l.Check(p.FirstRetry >= 100*time.Millisecond, "WEBHOOK_RETRY_INITIAL", "must be at least 100ms")
	l.Check(p.MaxRetry >= p.FirstRetry, "WEBHOOK_RETRY_MAX", "must be at least WEBHOOK_RETRY_INITIAL")
	l.Check(p.RetryFor > p.AttemptTimeout, "WEBHOOK_RETRY_FOR", "must be longer than WEBHOOK_ATTEMPT_TIMEOUT")
	l.Check(p.Idle >= time.Second, "WEBHOOK_WORKFLOW_IDLE", "must be at least 1s")
	l.Check(p.Settle >= 0 && p.Settle < p.Idle, "WEBHOOK_ORDER_WINDOW", "must be between 0 and WEBHOOK_WORKFLOW_IDLE")
	return c, errors.Join(l.Err(), dbErr)
}

var schema = service.Schema{Name: postgres.Schema, Migrations: postgres.Migrations}

// Migrate applies the webhook schema's migrations as the owner.
func Migrate(ctx context.Context, ownerURL, appRole string) error {
	return schema.Migrate(ctx, ownerURL, appRole)
}

// Main is the running webhook service.
type Main struct {
	Config Config
	Log    *slog.Logger

	server    service.Server
	temporal  client.Client
	complaint *grpc.ClientConn
	worker    worker.Worker
	// Service is the domain service (set by Open), which the gRPC
	// handlers use.
	Service *webhook.Service
}

// HTTPClient is the client deliveries go out with: connections only to
// public addresses (loopback too with allowLoopback), no proxy, no
// redirects followed (a 3xx is a failed attempt), bounded by timeout.
func HTTPClient(allowLoopback bool, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext: webhook.PublicDialer(allowLoopback).DialContext, ForceAttemptHTTP2: true,
			TLSHandshakeTimeout: 10 * time.Second, ResponseHeaderTimeout: timeout, MaxIdleConnsPerHost: 4,
			IdleConnTimeout: 90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Open opens PostgreSQL, binds the gRPC port and prepares the worker.
func (m *Main) Open(ctx context.Context) error {
	if m.Log == nil {
		m.Log = slog.Default()
	}
	cipher, err := pii.NewCipher(m.Config.Keys.Encryption, m.Config.Keys.Current)
	if err != nil {
		return fmt.Errorf("PII_KEYS: %w", err)
	}
	m.server = service.Server{Name: ServiceName, Config: m.Config.Config, Schema: schema, Log: m.Log}
	var store *postgres.Store
	err = m.server.Open(ctx, func(srv *grpc.Server, pool *pgxpool.Pool) error {
		store = postgres.NewStore(pool)
		m.Service = &webhook.Service{Store: store, Sealer: cipher, AllowLoopback: m.Config.AllowLoopback}
		webhookv1.RegisterWebhookServiceServer(srv, webhookgrpc.NewServer(m.Service))
		return nil
	})
	if err != nil {
		return err
	}
	if !m.Config.Worker {
		return nil
	}
	if m.temporal, err = dctemporal.NewLazyClient(m.Config.Temporal, m.Log); err != nil {
		return err
	}
	// The attempt's HTTP timeout leaves the activity a moment to record it.
	httpTimeout := max(m.Config.Policy.AttemptTimeout-2*time.Second, m.Config.Policy.AttemptTimeout/2)
	var notify delivery.Notifier = delivery.LogNotifier{Log: m.Log}
	if m.Config.ComplaintTarget != "" {
		if m.complaint, err = service.Dial(m.Config.ComplaintTarget, "COMPLAINT_GRPC_TARGET"); err != nil {
			return err
		}
		notify = delivery.InboxNotifier{Client: complaintv1.NewNoticeServiceClient(m.complaint),
			TokenFile: m.Config.ServiceTokenFile, Log: m.Log}
	}
	acts := &delivery.Activities{Store: store, Sealer: cipher, Policy: m.Config.Policy, Log: m.Log,
		Client: HTTPClient(m.Config.AllowLoopback, httpTimeout), Notify: notify}
	m.worker = dctemporal.NewWorker(m.temporal, events.WebhookTaskQueue)
	m.worker.RegisterWorkflowWithOptions(delivery.Workflow, workflow.RegisterOptions{Name: events.WebhookWorkflowType})
	m.worker.RegisterActivityWithOptions(acts, activity.RegisterOptions{})
	return nil
}

// Addr is the bound gRPC address.
func (m *Main) Addr() string { return m.server.Addr() }

// Run serves gRPC and the relay and runs the worker until ctx ends. The
// worker starts once Temporal answers, so the API serves while it is down.
func (m *Main) Run(ctx context.Context) error {
	if m.worker != nil {
		go m.runWorker(ctx)
	}
	return m.server.Run(ctx)
}

func (m *Main) runWorker(ctx context.Context) {
	for {
		err := m.worker.Start()
		if err == nil {
			<-ctx.Done()
			m.worker.Stop()
			return
		}
		m.Log.Warn("webhook worker: Temporal unavailable, retrying", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
}

// Close releases connections.
func (m *Main) Close() error {
	if m.temporal != nil {
		m.temporal.Close()
	}
	m.server.Close()
	if m.complaint != nil {
		return m.complaint.Close()
	}
	return nil
}
