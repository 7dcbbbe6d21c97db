// Package app wires the complaint service: configuration, PostgreSQL, the
// outbox relay to the escalation workflows, and the gRPC server.
// The half every domain service shares (pool, gRPC server, relay) is
// pkg/service.
package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	"github.com/dealercare/dealercare/pkg/config"
	"github.com/dealercare/dealercare/pkg/service"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/services/complaint/complaint"
	complaintgrpc "github.com/dealercare/dealercare/services/complaint/grpc"
	"github.com/dealercare/dealercare/services/complaint/postgres"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
)

// ServiceName names the process in logs and traces.
const ServiceName = "complaint"

// Config of the complaint service.
type Config struct {
	service.Config
	// Network is how handlers reach the dealer network.
	Network service.NetworkConfig
}

// LoadConfig reads the environment; the error names every bad variable.
func LoadConfig(l *config.Loader) (Config, error) {
	common, dbErr := service.LoadConfig(l, ServiceName, "COMPLAINT_GRPC_ADDR", "127.0.0.1:9103")
	c := Config{Config: common, Network: service.LoadNetworkConfig(l)}
	return c, errors.Join(l.Err(), dbErr)
}

var schema = service.Schema{Name: postgres.Schema, Migrations: postgres.Migrations}

// Migrate applies the complaint schema's migrations as the owner.
func Migrate(ctx context.Context, ownerURL, appRole string) error {
	return schema.Migrate(ctx, ownerURL, appRole)
}

// Main is the running complaint service.
type Main struct {
	Config Config
	Log    *slog.Logger

	server service.NetworkServer
}

// Open connects and binds the port.
func (m *Main) Open(ctx context.Context) error {
	m.server = service.NetworkServer{
		Server:  service.Server{Name: ServiceName, Config: m.Config.Config, Schema: schema, Log: m.Log},
		Network: m.Config.Network,
	}
	return m.server.Open(ctx, func(srv *grpc.Server, pool *pgxpool.Pool, network tenancy.NetworkClient) error {
		store := postgres.NewStore(pool)
		svc := complaint.NewService(store, complaint.Access{Network: network}, time.Now)
		complaintv1.RegisterComplaintServiceServer(srv, complaintgrpc.NewServer(svc))
		complaintv1.RegisterComplaintClockServiceServer(srv, complaintgrpc.NewClockServer(svc))
		complaintv1.RegisterNoticeServiceServer(srv, complaintgrpc.NewNoticeServer(svc))
		complaintv1.RegisterComplaintChangeServiceServer(srv, complaintgrpc.NewChangeServer(store))
		return nil
	})
}

// Addr is the bound gRPC address.
func (m *Main) Addr() string { return m.server.Addr() }

// Run serves until ctx is cancelled, then drains in-flight calls.
func (m *Main) Run(ctx context.Context) error { return m.server.Run(ctx) }

// Close releases connections.
func (m *Main) Close() error { return m.server.Close() }
