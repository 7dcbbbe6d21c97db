// Package app wires the customer service: configuration, PostgreSQL, the
// gRPC server and its handlers. cmd/customer is a thin shell around Main so
// end-to-end tests can run the real program on port 0.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/config"
	"github.com/dealercare/dealercare/pkg/pii"
	"github.com/dealercare/dealercare/pkg/service"
	"github.com/dealercare/dealercare/services/customer/archive"
	customergrpc "github.com/dealercare/dealercare/services/customer/grpc"
	"github.com/dealercare/dealercare/services/customer/importer"
	"github.com/dealercare/dealercare/services/customer/network"
	"github.com/dealercare/dealercare/services/customer/postgres"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
)

// ServiceName names the process in logs and traces.
const ServiceName = "customer"

// Config of the customer service.
type Config struct {
	service.Config
	// PII holds the keys that encrypt and index ID numbers.
	PII pii.Keys
	// Import configures the DMS import runner (IMPORT_*).
	Import importer.RunnerConfig
}

// LoadConfig reads the environment; the error names every bad variable.
func LoadConfig(l *config.Loader) (Config, error) {
	common, dbErr := service.LoadConfig(l, ServiceName, "CUSTOMER_GRPC_ADDR", "127.0.0.1:9101")
	c := Config{
		Config: common,
		PII:    pii.LoadKeys(l),
		Import: importer.LoadRunnerConfig(l),
	}
	return c, errors.Join(l.Err(), dbErr)
}

var schema = service.Schema{Name: postgres.Schema, Migrations: postgres.Migrations}

// Migrate applies the customer schema's migrations as the owner.
func Migrate(ctx context.Context, ownerURL, appRole string) error {
	return schema.Migrate(ctx, ownerURL, appRole)
}

// Main is the running customer service.
type Main struct {
	Config Config
	Log    *slog.Logger

	server  service.Server
	imports *importer.Runner
}

// Open connects to PostgreSQL, checks the service role and binds the port,
// so a caller knows the address before Run.
func (m *Main) Open(ctx context.Context) error {
	m.server = service.Server{Name: ServiceName, Config: m.Config.Config, Schema: schema, Log: m.Log}
	return m.server.Open(ctx, func(srv *grpc.Server, pool *pgxpool.Pool) error {
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
		customerv1.RegisterDealerNetworkServiceServer(srv, customergrpc.NewNetworkServer(networkSvc))
		customerv1.RegisterArchiveServiceServer(srv, customergrpc.NewArchiveServer(archive.NewService(archiveStore, networkSvc, time.Now)))
		customerv1.RegisterVehicleStateServiceServer(srv, customergrpc.NewVehicleStateServer(archiveStore))
		customerv1.RegisterArchiveChangeServiceServer(srv, customergrpc.NewChangeServer(postgres.NewChangeStore(pool)))
		customerv1.RegisterSegmentServiceServer(srv, customergrpc.NewSegmentServer(postgres.NewSegmentStore(pool)))
		importStore := postgres.NewImportStore(pool, cipher, index)
		customerv1.RegisterImportServiceServer(srv, customergrpc.NewImportServer(importer.NewService(importStore, networkSvc)))
		if m.imports, err = importer.NewRunner(importStore, m.Config.Import, time.Now, m.Log); err != nil {
			return err
		}
		// Import writers hold their connections for a whole batch; API
		// calls and the outbox relay share the same pool.
		if need, size := m.imports.Sessions(), int(pool.Config().MaxConns); need > size-2 {
			return fmt.Errorf("IMPORT_WORKERS × IMPORT_WRITERS = %d leaves fewer than 2 of the pool's %d database connections (DATABASE_MAX_CONNS) to API calls: lower them or raise DATABASE_MAX_CONNS", need, size)
		}
		return nil
	})
}

// Addr is the bound gRPC address.
func (m *Main) Addr() string { return m.server.Addr() }

// Run serves until ctx is cancelled, then drains in-flight calls; the DMS
// import runner works beside it.
func (m *Main) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	imported := make(chan error, 1)
	go func() { imported <- m.imports.Run(ctx) }()
	defer func() { cancel(); <-imported }() // the runner gives its import up before the pool closes
	return m.server.Run(ctx)
}

// Close releases the pool.
func (m *Main) Close() error {
	m.server.Close()
	return nil
}
