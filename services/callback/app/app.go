// Package app wires the callback service: configuration, PostgreSQL, the
// outbox relay to the callback workflows, and the gRPC server.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/config"
	"github.com/dealercare/dealercare/pkg/grpcserver"
	"github.com/dealercare/dealercare/pkg/outbox"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/telemetry"
	dctemporal "github.com/dealercare/dealercare/pkg/temporal"
	"github.com/dealercare/dealercare/pkg/tenancy"
	callbackgrpc "github.com/dealercare/dealercare/services/callback/grpc"
	"github.com/dealercare/dealercare/services/callback/postgres"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// ServiceName names the process in logs and traces.
const ServiceName = "callback"

// Config of the callback service.
type Config struct {
	Telemetry      telemetry.Config
	GRPC           grpcserver.Config
	Auth           auth.VerifierConfig
	Database       pg.Config
	MigrateURL     string
	AppRole        string
	MigrateOnStart bool
	Temporal       dctemporal.Config
	RelayEnabled   bool
	// RelayConcurrency is how many hand-offs the relay runs at once
	// (OUTBOX_RELAY_CONCURRENCY).
	RelayConcurrency int
	CustomerTarget   string
	ServiceTokenFile string
}

// LoadConfig reads the environment; the error names every bad variable.
func LoadConfig(l *config.Loader) (Config, error) {
	c := Config{
		Telemetry:        telemetry.LoadConfig(l, ServiceName),
		GRPC:             grpcserver.LoadConfig(l, "CALLBACK_GRPC_ADDR", "127.0.0.1:9102"),
		Auth:             auth.LoadVerifierConfig(l),
		MigrateURL:       l.String("MIGRATE_DATABASE_URL", ""),
		AppRole:          l.String("DATABASE_APP_ROLE", "dealercare_app"),
		MigrateOnStart:   l.Bool("MIGRATE_ON_START", false),
		Temporal:         dctemporal.LoadConfig(l),
		RelayEnabled:     l.Bool("OUTBOX_RELAY", true),
		RelayConcurrency: l.Int("OUTBOX_RELAY_CONCURRENCY", 8),
		CustomerTarget:   l.String("CUSTOMER_GRPC_TARGET", "127.0.0.1:9101"),
		ServiceTokenFile: l.Required("SERVICE_TOKEN_FILE"),
	}
	l.Check(!c.MigrateOnStart || c.MigrateURL != "", "MIGRATE_DATABASE_URL", "is required when MIGRATE_ON_START=true")
	db, dbErr := pg.ConfigFromEnv(os.Getenv)
	db.ApplicationName = ServiceName
	c.Database = db
	return c, errors.Join(l.Err(), dbErr)
}

// Migrate applies the callback schema's migrations as the owner.
func Migrate(ctx context.Context, ownerURL, appRole string) error {
	fsys, err := postgres.Migrations()
	if err != nil {
		return err
	}
	if err := pg.Migrate(ctx, ownerURL, postgres.Schema, appRole, fsys); err != nil {
		return fmt.Errorf("migrate schema %s: %w", postgres.Schema, err)
	}
	return nil
}

// Main is the running callback service.
type Main struct {
	Config Config
	Log    *slog.Logger

	pool     *pgxpool.Pool
	server   *grpcserver.Server
	customer *grpc.ClientConn
	relay    *outbox.Relay
	temporal client.Client
}

// Open connects and binds the port.
func (m *Main) Open(ctx context.Context) error {
	if m.Log == nil {
		m.Log = slog.Default()
	}
	if m.Config.MigrateOnStart {
		if err := Migrate(ctx, m.Config.MigrateURL, m.Config.AppRole); err != nil {
			return err
		}
	}
	m.Config.Database.SearchPath = postgres.Schema
	pool, err := pg.Open(ctx, m.Config.Database)
	if err != nil {
		return err
	}
	m.pool = pool
	if err := pg.VerifyServiceRole(ctx, pool, postgres.Schema); err != nil {
		return err
	}
	verifier, err := auth.NewVerifier(ctx, m.Config.Auth)
	if err != nil {
		return fmt.Errorf("token verifier (AUTH_JWKS_URL): %w", err)
	}
	if m.customer, err = grpc.NewClient(m.Config.CustomerTarget, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler())); err != nil {
		return fmt.Errorf("CUSTOMER_GRPC_TARGET: %w", err)
	}
	srv, err := grpcserver.New(m.Config.GRPC, verifier, m.Log)
	if err != nil {
		return err
	}
	store := postgres.NewStore(pool)
	network := tenancy.NetworkClient{Client: customerv1.NewDealerNetworkServiceClient(m.customer), TokenFile: m.Config.ServiceTokenFile}
	callbackv1.RegisterCallbackServiceServer(srv.Server, callbackgrpc.NewServer(store, tenancy.Access{Network: network}))
	callbackv1.RegisterCallbackWorkflowServiceServer(srv.Server, callbackgrpc.NewWorkflowServer(store, network))
	if err := srv.Listen(); err != nil {
		return err
	}
	m.server = srv
	if m.Config.RelayEnabled {
		if m.temporal, err = dctemporal.NewLazyClient(m.Config.Temporal, m.Log); err != nil {
			return err
		}
		m.relay = &outbox.Relay{Pool: pool, Temporal: m.temporal, Log: m.Log, Schema: postgres.Schema, Concurrency: m.Config.RelayConcurrency}
	}
	return nil
}

// Addr is the bound gRPC address.
func (m *Main) Addr() string { return m.server.Addr() }

// Run serves until ctx is cancelled, then drains in-flight calls.
func (m *Main) Run(ctx context.Context) error {
	m.Log.Info("callback service listening", "grpc_addr", m.Addr())
	if m.relay == nil {
		return m.server.Serve(ctx)
	}
	relayed := make(chan error, 1)
	go func() { relayed <- m.relay.Run(ctx) }()
	err := m.server.Serve(ctx)
	return errors.Join(err, <-relayed)
}

// Close releases connections.
func (m *Main) Close() error {
	if m.temporal != nil {
		m.temporal.Close()
	}
	var err error
	if m.customer != nil {
		err = m.customer.Close()
	}
	if m.pool != nil {
		m.pool.Close()
	}
	return err
}
