// Package grpcserver is the gRPC server every dealercare service runs: health
// (grpc.health.v1), reflection, OpenTelemetry, panic recovery, identity from
// the caller's bearer token, protovalidate and a NUL check on every request,
// the one mapping from application errors to gRPC status, and graceful
// shutdown.
package grpcserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"time"

	"buf.build/go/protovalidate"
	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/config"
	"github.com/dealercare/dealercare/pkg/idempotency"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Config of the server.
type Config struct {
	Addr            string        // listen address, e.g. 127.0.0.1:9101; port 0 picks a free port
	ShutdownTimeout time.Duration // how long in-flight calls may take to finish on shutdown
	MaxRecvBytes    int           // largest request message; DMS imports carry whole files
}

// DefaultMaxRecvBytes admits a 200 MB import file with room to spare.
const DefaultMaxRecvBytes = 256 << 20

// LoadConfig reads <PREFIX>_GRPC_ADDR (default def) and SHUTDOWN_TIMEOUT.
func LoadConfig(l *config.Loader, addrVar, def string) Config {
	c := Config{
		Addr:            l.String(addrVar, def),
		ShutdownTimeout: l.Duration("SHUTDOWN_TIMEOUT", 20*time.Second),
		MaxRecvBytes:    l.Int("GRPC_MAX_RECV_BYTES", DefaultMaxRecvBytes),
	}
	l.Check(c.MaxRecvBytes > 0, "GRPC_MAX_RECV_BYTES", "must be positive")
	_, _, err := net.SplitHostPort(c.Addr)
	l.Check(err == nil, addrVar, "%q is not host:port", c.Addr)
	return c
}

// Server wraps grpc.Server with its health service.
type Server struct {
	*grpc.Server
	cfg    Config
	health *health.Server
	lis    net.Listener
	log    *slog.Logger
}

// New builds a server whose calls all need a valid bearer token except
// health and reflection.
func New(cfg Config, verifier auth.TokenVerifier, log *slog.Logger) (*Server, error) {
	validator, err := protovalidate.New()
	if err != nil {
		return nil, fmt.Errorf("protovalidate: %w", err)
	}
	s := &Server{cfg: cfg, health: health.NewServer(), log: log}
	maxRecv := cfg.MaxRecvBytes
	if maxRecv <= 0 {
		maxRecv = DefaultMaxRecvBytes
	}
	s.Server = grpc.NewServer(
		grpc.MaxRecvMsgSize(maxRecv),
		grpc.StatsHandler(otelgrpc.NewServerHandler()),
		grpc.ChainUnaryInterceptor(
			recoverUnary(log),
			errorsUnary(log),
			auth.UnaryServerInterceptor(verifier, auth.IsHealthOrReflection),
			validateUnary(validator),
			idempotency.Interceptor(),
		),
		grpc.ChainStreamInterceptor(
			recoverStream(log),
			auth.StreamServerInterceptor(verifier, auth.IsHealthOrReflection),
		),
	)
	healthpb.RegisterHealthServer(s.Server, s.health)
	reflection.Register(s.Server)
	return s, nil
}

// Listen binds the address; Addr tells the bound address afterwards.
func (s *Server) Listen() error {
	lis, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	s.lis = lis
	return nil
}

// Addr is the bound address (after Listen).
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Serve serves until ctx is done, then shuts down gracefully: health turns
// NOT_SERVING so load balancers stop sending, in-flight calls finish within
// ShutdownTimeout, then the server stops. It returns nil on a clean stop.
func (s *Server) Serve(ctx context.Context) error {
	if s.lis == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	errc := make(chan error, 1)
	go func() { errc <- s.Server.Serve(s.lis) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.health.Shutdown()
	done := make(chan struct{})
	go func() { s.Server.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(s.cfg.ShutdownTimeout):
		s.log.Warn("graceful stop timed out; cancelling in-flight calls", "timeout", s.cfg.ShutdownTimeout)
		s.Server.Stop()
	}
	if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return err
	}
	return nil
}

func recoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(ctx, "panic in handler", "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return h(ctx, req)
	}
}

func recoverStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(ss.Context(), "panic in stream handler", "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return h(srv, ss)
	}
}

func errorsUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		start := time.Now()
		lang := requestLang(ctx)
		ctx = apperr.NewContextWithLang(ctx, lang)
		resp, err := h(ctx, req)
		st := ToLocalizedStatus(err, lang)
		lvl := slog.LevelInfo
		attrs := []any{"method", info.FullMethod, "code", st.Code().String(), "duration_ms", time.Since(start).Milliseconds()}
		if st.Code() == codes.Internal || st.Code() == codes.Unknown {
			// Details of unexpected errors stay in the log; the caller gets a
			// generic message.
			lvl = slog.LevelError
			attrs = append(attrs, "error", err.Error())
		}
		log.Log(ctx, lvl, "grpc call", attrs...)
		if err != nil {
			return nil, st.Err()
		}
		return resp, nil
	}
}

// requestLang reads the caller's language from Accept-Language, which
// grpc-gateway forwards with its grpcgateway- prefix.
func requestLang(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, k := range []string{"accept-language", "grpcgateway-accept-language"} {
		if v := md.Get(k); len(v) > 0 {
			return apperr.ParseAcceptLanguage(v[0])
		}
	}
	return apperr.LangEN
}

func validateUnary(v protovalidate.Validator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if m, ok := req.(proto.Message); ok {
			if err := v.Validate(m); err != nil {
				return nil, validationError(err, apperr.LangFromContext(ctx))
			}
			if f := nulField(m.ProtoReflect()); f != "" {
				e := apperr.Invalid(f, "must not contain a NUL character").ZhReason("不能包含 NUL 字符")
				return nil, ToLocalizedStatus(e, apperr.LangFromContext(ctx)).Err()
			}
		}
		return h(ctx, req)
	}
}
