package service

import (
	"context"
	"fmt"

	"github.com/dealercare/dealercare/pkg/config"
	"github.com/dealercare/dealercare/pkg/grpcclient"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
)

// Dial connects lazily to another service's gRPC address target (as
// grpcclient.Dial: traced, round robin over replicas);
// the error names variable, the setting target came from (e.g.
// COMPLAINT_GRPC_TARGET).
func Dial(target, variable string) (*grpc.ClientConn, error) {
	conn, err := grpcclient.Dial(target)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", variable, err)
	}
	return conn, nil
}

// NetworkConfig is how a service whose handlers ask about the dealer
// network (visible dealers, calendars, time zones) reaches the customer
// service, which owns it.
type NetworkConfig struct {
	// CustomerTarget is the customer service's gRPC address
	// (CUSTOMER_GRPC_TARGET).
	CustomerTarget string
	// ServiceTokenFile holds the service's own token, for questions that
	// are not the caller's (SERVICE_TOKEN_FILE).
	ServiceTokenFile string
}

// LoadNetworkConfig reads CUSTOMER_GRPC_TARGET and SERVICE_TOKEN_FILE;
// bad variables are reported by l.Err().
func LoadNetworkConfig(l *config.Loader) NetworkConfig {
	return NetworkConfig{
		CustomerTarget:   l.String("CUSTOMER_GRPC_TARGET", "127.0.0.1:9101"),
		ServiceTokenFile: l.Required("SERVICE_TOKEN_FILE"),
	}
}

// NetworkServer is a Server whose handlers ask the customer service about
// the dealer network.
type NetworkServer struct {
	Server
	Network NetworkConfig

	conn *grpc.ClientConn
}

// Open connects (lazily) to the customer service, then opens the Server,
// handing register the dealer network's client with the pool.
func (s *NetworkServer) Open(ctx context.Context, register func(srv *grpc.Server, pool *pgxpool.Pool, network tenancy.NetworkClient) error) error {
	network, conn, err := tenancy.DialNetwork(s.Network.CustomerTarget, s.Network.ServiceTokenFile)
	if err != nil {
		return err
	}
	s.conn = conn
	return s.Server.Open(ctx, func(srv *grpc.Server, pool *pgxpool.Pool) error { return register(srv, pool, network) })
}

// Close releases the Server's resources and the customer service's
// connection.
func (s *NetworkServer) Close() error {
	s.Server.Close()
	if s.conn != nil {
		return s.conn.Close()
	}
	return nil
}
