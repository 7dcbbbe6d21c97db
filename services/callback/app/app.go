// Package app wires the callback service: configuration, PostgreSQL, the
// outbox relay to the callback workflows, and the gRPC server.
// The half every domain service shares (pool, gRPC server, relay) is
// pkg/service.
package app

import (
	"context"
	"errors"
	"log/slog"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	"github.com/dealercare/dealercare/pkg/config"
	"github.com/dealercare/dealercare/pkg/service"
	"github.com/dealercare/dealercare/pkg/tenancy"
	callbackgrpc "github.com/dealercare/dealercare/services/callback/grpc"
	"github.com/dealercare/dealercare/services/callback/postgres"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
)

// ServiceName names the process in logs and traces.
const ServiceName = "callback"

// Config of the callback service.
type Config struct {
	service.Config
	// CustomerTarget is where the customer service, which owns the dealer
	// network, is (CUSTOMER_GRPC_TARGET).
	CustomerTarget string
	// ServiceTokenFile holds the service's own token for questions that
	// are not the caller's (SERVICE_TOKEN_FILE).
	ServiceTokenFile string
}

// LoadConfig reads the environment; the error names every bad variable.
func LoadConfig(l *config.Loader) (Config, error) {
	common, dbErr := service.LoadConfig(l, ServiceName, "CALLBACK_GRPC_ADDR", "127.0.0.1:9102")
	c := Config{
		Config:           common,
		CustomerTarget:   l.String("CUSTOMER_GRPC_TARGET", "127.0.0.1:9101"),
		ServiceTokenFile: l.Required("SERVICE_TOKEN_FILE"),
	}
	return c, errors.Join(l.Err(), dbErr)
}

var schema = service.Schema{Name: postgres.Schema, Migrations: postgres.Migrations}

// Migrate applies the callback schema's migrations as the owner.
func Migrate(ctx context.Context, ownerURL, appRole string) error {
	return schema.Migrate(ctx, ownerURL, appRole)
}

// Main is the running callback service.
type Main struct {
	Config Config
	Log    *slog.Logger

	server   service.Server
	customer *grpc.ClientConn
}

// Open connects and binds the port.
func (m *Main) Open(ctx context.Context) error {
	m.server = service.Server{Name: ServiceName, Config: m.Config.Config, Schema: schema, Log: m.Log}
	network, conn, err := tenancy.DialNetwork(m.Config.CustomerTarget, m.Config.ServiceTokenFile)
	if err != nil {
		return err
	}
	m.customer = conn
	return m.server.Open(ctx, func(srv *grpc.Server, pool *pgxpool.Pool) error {
		store := postgres.NewStore(pool)
		callbackv1.RegisterCallbackServiceServer(srv, callbackgrpc.NewServer(store, tenancy.Access{Network: network}))
		callbackv1.RegisterCallbackWorkflowServiceServer(srv, callbackgrpc.NewWorkflowServer(store, network))
		return nil
	})
}

// Addr is the bound gRPC address.
func (m *Main) Addr() string { return m.server.Addr() }

// Run serves until ctx is cancelled, then drains in-flight calls.
func (m *Main) Run(ctx context.Context) error { return m.server.Run(ctx) }

// Close releases connections.
func (m *Main) Close() error {
	m.server.Close()
	if m.customer != nil {
		return m.customer.Close()
	}
	return nil
}
