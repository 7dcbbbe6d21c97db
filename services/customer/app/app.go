// Package app wires the customer service: configuration, PostgreSQL, the
// gRPC server and its handlers. cmd/customer is a thin shell around Main so
// end-to-end tests can run the real program on port 0.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/config"
	"github.com/dealercare/dealercare/pkg/grpcserver"
	"github.com/dealercare/dealercare/pkg/outbox"
	"github.com/dealercare/dealercare/pkg/pii"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/telemetry"
	dctemporal "github.com/dealercare/dealercare/pkg/temporal"
	"github.com/dealercare/dealercare/services/customer/archive"
	customergrpc "github.com/dealercare/dealercare/services/customer/grpc"
	"github.com/dealercare/dealercare/services/customer/importer"
	"github.com/dealercare/dealercare/services/customer/network"
	"github.com/dealercare/dealercare/services/customer/postgres"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"
)

// ServiceName names the process in logs and traces.
const ServiceName = "customer"

// Config of the customer service.
type Config struct {
	Telemetry telemetry.Config
	GRPC      grpcserver.Config
	Auth      auth.VerifierConfig
	Database  pg.Config
	// MigrateURL is the owner's connection for migrations (MIGRATE_DATABASE_URL).
	MigrateURL string
	// AppRole is granted DML on the schema by migrations (DATABASE_APP_ROLE).
	AppRole string
	// MigrateOnStart applies migrations before serving (development).
	MigrateOnStart bool
	// PII holds the keys that encrypt and index ID numbers.
	PII pii.Keys
	// Temporal is where the outbox relay delivers events (TEMPORAL_*).
	Temporal dctemporal.Config
	// RelayEnabled runs the outbox relay in this process (OUTBOX_RELAY).
	RelayEnabled bool
	// RelayConcurrency is how many hand-offs the relay runs at once
	// (OUTBOX_RELAY_CONCURRENCY).
	RelayConcurrency int
	// Import configures the DMS import runner (IMPORT_*).
	Import importer.RunnerConfig
}

// LoadConfig reads the environment; the error names every bad variable.
func LoadConfig(l *config.Loader) (Config, error) {
	c := Config{
		Telemetry:        telemetry.LoadConfig(l, ServiceName),
		GRPC:             grpcserver.LoadConfig(l, "CUSTOMER_GRPC_ADDR", "127.0.0.1:9101"),
		Auth:             auth.LoadVerifierConfig(l),
		MigrateURL:       l.String("MIGRATE_DATABASE_URL", ""),
		AppRole:          l.String("DATABASE_APP_ROLE", "dealercare_app"),
		MigrateOnStart:   l.Bool("MIGRATE_ON_START", false),
		PII:              pii.LoadKeys(l),
		Temporal:         dctemporal.LoadConfig(l),
		RelayEnabled:     l.Bool("OUTBOX_RELAY", true),
		RelayConcurrency: l.Int("OUTBOX_RELAY_CONCURRENCY", 8),
		Import:           importer.LoadRunnerConfig(l),
	}
	l.Check(!c.MigrateOnStart || c.MigrateURL != "", "MIGRATE_DATABASE_URL", "is required when MIGRATE_ON_START=true")
	db, dbErr := pg.ConfigFromEnv(os.Getenv)
	db.ApplicationName = ServiceName
	c.Database = db
	return c, errors.Join(l.Err(), dbErr)
}

// Migrate applies the customer schema's migrations as the owner.
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

// Main is the running customer service.
type Main struct {
	Config Config
	Log    *slog.Logger

	pool     *pgxpool.Pool
	server   *grpcserver.Server
	relay    *outbox.Relay
	imports  *importer.Runner
	temporal client.Client
	shutdown func(context.Context) error
}

// Open connects to PostgreSQL, checks the service role and binds the port,
// so a caller knows the address before Run.
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
	srv, err := grpcserver.New(m.Config.GRPC, verifier, m.Log)
	if err != nil {
		return err
	}
	cipher, err := m.Config.PII.Cipher()
	if err != nil {
		return fmt.Errorf("PII_KEYS: %w", err)
	}
	index, err := m.Config.PII.Index()
	if err != nil {
		return fmt.Errorf("PII_INDEX_KEY: %w", err)
	}
	networkSvc := network.NewService(postgres.NewNetworkStore(pool))
	archiveStore := postgres.NewArchiveStore(pool, cipher, index)
	customerv1.RegisterDealerNetworkServiceServer(srv.Server, customergrpc.NewNetworkServer(networkSvc))
	customerv1.RegisterArchiveServiceServer(srv.Server, customergrpc.NewArchiveServer(archive.NewService(archiveStore, networkSvc, time.Now)))
	customerv1.RegisterVehicleStateServiceServer(srv.Server, customergrpc.NewVehicleStateServer(archiveStore))
	importStore := postgres.NewImportStore(pool, cipher, index)
	customerv1.RegisterImportServiceServer(srv.Server, customergrpc.NewImportServer(importer.NewService(importStore, networkSvc)))
	if m.imports, err = importer.NewRunner(importStore, m.Config.Import, time.Now, m.Log); err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return err
	}
	m.server = srv
	if m.Config.RelayEnabled {
		// Lazy: the service starts, and keeps saving events, while Temporal
		// is down; the relay delivers them once it is back.
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
	m.Log.Info("customer service listening", "grpc_addr", m.Addr())
	ctx, cancel := context.WithCancel(ctx)
	imported := make(chan error, 1)
	go func() { imported <- m.imports.Run(ctx) }()
	defer func() { cancel(); <-imported }() // the runner gives its import up before the pool closes
	if m.relay == nil {
		return m.server.Serve(ctx)
	}
	relayed := make(chan error, 1)
	go func() { relayed <- m.relay.Run(ctx) }()
	err := m.server.Serve(ctx)
	return errors.Join(err, <-relayed)
}

// Close releases the pool.
func (m *Main) Close() error {
	if m.temporal != nil {
		m.temporal.Close()
	}
	if m.pool != nil {
		m.pool.Close()
	}
	if m.shutdown != nil {
		return m.shutdown(context.Background())
	}
	return nil
}
