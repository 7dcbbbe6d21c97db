package grpcserver

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

type allowAll struct{}

func (allowAll) Verify(context.Context, string) (*auth.Principal, error) {
	return &auth.Principal{Subject: "t", Roles: []auth.Role{auth.RoleHQAdmin}}, nil
}

// slowService is a hand-written service whose one method blocks until
// released, so a test can shut the server down mid-call.
type slowService struct {
	started  chan struct{}
	release  chan struct{}
	panicked bool
}

func (s *slowService) call(ctx context.Context, _ *emptypb.Empty) (*emptypb.Empty, error) {
	if s.panicked {
		panic("boom")
	}
	close(s.started)
	<-s.release
	return &emptypb.Empty{}, nil
}

var slowDesc = grpc.ServiceDesc{
	ServiceName: "test.Slow",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Call",
		Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			in := new(emptypb.Empty)
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(ctx context.Context, req any) (any, error) {
				return srv.(*slowService).call(ctx, req.(*emptypb.Empty))
			}
			if ic == nil {
				return h(ctx, in)
			}
			return ic(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/test.Slow/Call"}, h)
		},
	}},
}

func startServer(t *testing.T, svc *slowService) (*Server, *grpc.ClientConn, context.CancelFunc, chan error) {
	t.Helper()
	srv, err := New(Config{Addr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second}, allowAll{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv.RegisterService(&slowDesc, svc)
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); conn.Close() })
	return srv, conn, cancel, done
}

func TestShutdownFinishesInFlightCall(t *testing.T) {
	svc := &slowService{started: make(chan struct{}), release: make(chan struct{})}
	srv, conn, cancel, done := startServer(t, svc)
	ctx := auth.WithToken(context.Background(), "any")

	callErr := make(chan error, 1)
	go func() { callErr <- conn.Invoke(ctx, "/test.Slow/Call", &emptypb.Empty{}, &emptypb.Empty{}) }()
	<-svc.started

	cancel() // what SIGTERM does in main
	// Health turns NOT_SERVING while the call drains. It is read from the
	// server's health service itself: over the network the answer races
	// with the listener closing and GOAWAY reaching the client.
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := srv.health.Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health never turned NOT_SERVING: %v %v", resp, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("server stopped before the in-flight call finished: %v", err)
	default:
	}
	close(svc.release)
	if err := <-callErr; err != nil {
		t.Fatalf("in-flight call failed: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve returned %v, want nil after a graceful stop", err)
	}
}

func TestPanicBecomesInternal(t *testing.T) {
	_, conn, _, _ := startServer(t, &slowService{panicked: true})
	err := conn.Invoke(auth.WithToken(context.Background(), "any"), "/test.Slow/Call", &emptypb.Empty{}, &emptypb.Empty{})
	if st, _ := status.FromError(err); st.Code() != codes.Internal || st.Message() != "internal error" {
		t.Fatalf("got %v, want a generic internal error", err)
	}
	// The server survives the panic.
	if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
}

func TestToStatus(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code codes.Code
		msg  string
	}{
		{apperr.Invalid("dealer.code", "is required"), codes.InvalidArgument, "dealer.code: is required"},
		{apperr.NotFound("dealer", "经销商", "X1"), codes.NotFound, `dealer "X1" not found`},
		{apperr.Errorf(apperr.ECONFLICT, "dealer SH001 already exists"), codes.AlreadyExists, "dealer SH001 already exists"},
		{apperr.Errorf(apperr.EFORBIDDEN, "only hq_admin may"), codes.PermissionDenied, "only hq_admin may"},
		{apperr.Errorf(apperr.EINTERNAL, "secret detail"), codes.Internal, "internal error"},
		{errors.New("pq: password authentication failed for user x"), codes.Internal, "internal error"},
		{context.DeadlineExceeded, codes.DeadlineExceeded, "deadline exceeded"},
		{status.Error(codes.Unavailable, "down"), codes.Unavailable, "down"},
	} {
		st := ToStatus(tc.err)
		if st.Code() != tc.code || st.Message() != tc.msg {
			t.Errorf("ToStatus(%v) = %v %q, want %v %q", tc.err, st.Code(), st.Message(), tc.code, tc.msg)
		}
	}
	st := ToStatus(apperr.Invalid("calendar.holidays[0]", "invalid date"))
	var found bool
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && br.GetFieldViolations()[0].GetField() == "calendar.holidays[0]" {
			found = true
		}
	}
	if !found {
		t.Errorf("no field violation in %v", st.Details())
	}
}
