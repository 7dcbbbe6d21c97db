// Package service is the half every domain service (customer, complaint,
// callback) shares: its common configuration, its schema's migrations, and
// a server that opens PostgreSQL as the service role, serves gRPC with the
// platform's interceptors and runs the outbox relay to Temporal. A service
// adds its own handlers (Server.Open's register) and its own settings; a
// service that asks the customer service about the dealer network is a
// NetworkServer.
package service

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/config"
	"github.com/dealercare/dealercare/pkg/grpcserver"
	"github.com/dealercare/dealercare/pkg/outbox"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/telemetry"
	dctemporal "github.com/dealercare/dealercare/pkg/temporal"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
)

// Config is what every domain service reads from its environment.
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
	// Temporal is where the outbox relay delivers events (TEMPORAL_*).
	Temporal dctemporal.Config
	// RelayEnabled runs the outbox relay in this process (OUTBOX_RELAY).
	RelayEnabled bool
	// RelayConcurrency is how many hand-offs the relay runs at once
	// (OUTBOX_RELAY_CONCURRENCY).
	RelayConcurrency int
}

// LoadConfig reads the variables every service shares. name names the
// service in logs, traces and PostgreSQL's application_name; addrVar and
// addr are its listen address variable and default. Bad variables read
// through l are reported by l.Err(), which the caller checks after reading
// its own; the error returned is the database settings'.
func LoadConfig(l *config.Loader, name, addrVar, addr string) (Config, error) {
	c := Config{
		Telemetry:        telemetry.LoadConfig(l, name),
		GRPC:             grpcserver.LoadConfig(l, addrVar, addr),
		Auth:             auth.LoadVerifierConfig(l),
		MigrateURL:       l.String("MIGRATE_DATABASE_URL", ""),
		AppRole:          l.String("DATABASE_APP_ROLE", "dealercare_app"),
		MigrateOnStart:   l.Bool("MIGRATE_ON_START", false),
		Temporal:         dctemporal.LoadConfig(l),
		RelayEnabled:     l.Bool("OUTBOX_RELAY", true),
		RelayConcurrency: l.Int("OUTBOX_RELAY_CONCURRENCY", 8),
	}
	l.Check(!c.MigrateOnStart || c.MigrateURL != "", "MIGRATE_DATABASE_URL", "is required when MIGRATE_ON_START=true")
	db, err := pg.ConfigFromEnv(l.Getenv)
	db.ApplicationName = name
	c.Database = db
	return c, err
}

// Schema is a service's PostgreSQL schema and its embedded migrations.
type Schema struct {
	Name       string
	Migrations func() (fs.FS, error)
}

// Migrate applies the schema's migrations as the owner and grants appRole
// what the service needs.
func (s Schema) Migrate(ctx context.Context, ownerURL, appRole string) error {
	fsys, err := s.Migrations()
	if err != nil {
		return err
	}
	if err := pg.Migrate(ctx, ownerURL, s.Name, appRole, fsys); err != nil {
		return fmt.Errorf("migrate schema %s: %w", s.Name, err)
	}
	return nil
}

// Server is a domain service's process: PostgreSQL, gRPC and the relay.
type Server struct {
	// Name names the service in its log lines.
	Name   string
	Config Config
	Schema Schema
	Log    *slog.Logger

	pool     *pgxpool.Pool
	grpc     *grpcserver.Server
	relay    *outbox.Relay
	temporal client.Client
}

// Open migrates when MigrateOnStart asks, opens the pool on the schema and
// checks the service role owns nothing and cannot bypass row-level
// security, builds the gRPC server with the token verifier, lets register
// add the service's handlers over the pool, binds the port (so the address
// is known before Run) and prepares the outbox relay.
func (s *Server) Open(ctx context.Context, register func(srv *grpc.Server, pool *pgxpool.Pool) error) error {
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.Config.MigrateOnStart {
		if err := s.Schema.Migrate(ctx, s.Config.MigrateURL, s.Config.AppRole); err != nil {
			return err
		}
	}
	db := s.Config.Database
	db.SearchPath = s.Schema.Name
	pool, err := pg.Open(ctx, db)
	if err != nil {
		return err
	}
	s.pool = pool
	if err := pg.VerifyServiceRole(ctx, pool, s.Schema.Name); err != nil {
		return err
	}
	verifier, err := auth.NewVerifier(ctx, s.Config.Auth)
	if err != nil {
		return fmt.Errorf("token verifier (AUTH_JWKS_URL): %w", err)
	}
	srv, err := grpcserver.New(s.Config.GRPC, verifier, s.Log)
	if err != nil {
		return err
	}
	if err := register(srv.Server, pool); err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return err
	}
	s.grpc = srv
	if s.Config.RelayEnabled {
		// Lazy: the service starts, and keeps saving events, while Temporal
		// is down; the relay delivers them once it is back.
		if s.temporal, err = dctemporal.NewLazyClient(s.Config.Temporal, s.Log); err != nil {
			return err
		}
		s.relay = &outbox.Relay{Pool: pool, Temporal: s.temporal, Log: s.Log, Schema: s.Schema.Name, Concurrency: s.Config.RelayConcurrency}
	}
	return nil
}

// Addr is the bound gRPC address.
func (s *Server) Addr() string { return s.grpc.Addr() }

// Run serves, with the relay, until ctx is cancelled, then drains
// in-flight calls.
func (s *Server) Run(ctx context.Context) error {
	s.Log.Info(s.Name+" service listening", "grpc_addr", s.Addr())
	if s.relay == nil {
		return s.grpc.Serve(ctx)
	}
	relayed := make(chan error, 1)
	go func() { relayed <- s.relay.Run(ctx) }()
	err := s.grpc.Serve(ctx)
	return errors.Join(err, <-relayed)
}

// Close releases the Temporal client and the pool.
func (s *Server) Close() {
	if s.temporal != nil {
		s.temporal.Close()
	}
	if s.pool != nil {
		s.pool.Close()
	}
}
