package auth

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// principalRecorder is the handler side of the test server: it remembers the
// Principal the auth interceptor put into the last call's context.
type principalRecorder struct {
	mu   sync.Mutex
	last *Principal
}

func (r *principalRecorder) record(ctx context.Context) {
	p, _ := PrincipalFromContext(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = p
}

func (r *principalRecorder) take() *Principal {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.last
	r.last = nil
	return p
}

// startGRPC serves the standard health service over bufconn behind the auth
// interceptors, and returns a connection to it plus what the handler saw.
func startGRPC(t *testing.T, v TokenVerifier, public func(string) bool, dialOpts ...grpc.DialOption) (*grpc.ClientConn, *principalRecorder) {
	t.Helper()
	rec := &principalRecorder{}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(UnaryServerInterceptor(v, public),
			func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				rec.record(ctx)
				return h(ctx, req)
			}),
		grpc.ChainStreamInterceptor(StreamServerInterceptor(v, public),
			func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
				rec.record(ss.Context())
				return h(srv, ss)
			}),
	)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	lis := bufconn.Listen(1 << 20)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	opts := append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}, dialOpts...)
	conn, err := grpc.NewClient("passthrough:///bufnet", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, rec
}

// devVerifier returns a real Verifier over a fresh dev key, and the key.
func devVerifier(t *testing.T) (*Verifier, *SigningKey) {
	t.Helper()
	dir := t.TempDir()
	if err := GenerateDevKeys(dir); err != nil {
		t.Fatal(err)
	}
	key, err := LoadSigningKey(filepath.Join(dir, DevSigningKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(t.Context(), VerifierConfig{JWKSURL: filepath.Join(dir, DevJWKSFile), Issuer: DevIssuer, Audience: DevAudience})
	if err != nil {
		t.Fatal(err)
	}
	return v, key
}

func TestGRPCInterceptors(t *testing.T) {
	v, key := devVerifier(t)
	agent := Principal{Subject: "agent-1", Roles: []Role{RoleAgent}, Dealer: "D001"}
	valid, err := key.Mint(agent, DevIssuer, DevAudience, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	expired, err := key.Mint(agent, DevIssuer, DevAudience, time.Minute, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	wrongAudience, err := key.Mint(agent, DevIssuer, "crm", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	conn, rec := startGRPC(t, v, nil)
	client := healthpb.NewHealthClient(conn)

	tests := []struct {
		name     string
		metadata []string // key, value pairs
		wantCode codes.Code
		wantMsg  string
	}{
		{name: "valid token", metadata: []string{"authorization", "Bearer " + valid}, wantCode: codes.OK},
		{name: "lower-case scheme", metadata: []string{"authorization", "bearer " + valid}, wantCode: codes.OK},
		{name: "no token", wantCode: codes.Unauthenticated, wantMsg: `missing bearer token: send "authorization: Bearer <token>"`},
		{name: "empty bearer", metadata: []string{"authorization", "Bearer "}, wantCode: codes.Unauthenticated, wantMsg: `missing bearer token after "Bearer"`},
		{name: "basic auth", metadata: []string{"authorization", "Basic dXNlcjpwYXNz"}, wantCode: codes.Unauthenticated, wantMsg: `the authorization value must be "Bearer <token>"`},
		{name: "token without scheme", metadata: []string{"authorization", valid}, wantCode: codes.Unauthenticated, wantMsg: `the authorization value must be "Bearer <token>"`},
		{name: "garbage token", metadata: []string{"authorization", "Bearer abc"}, wantCode: codes.Unauthenticated, wantMsg: "malformed token: expected a signed JWT of three dot-separated parts"},
		{name: "expired token", metadata: []string{"authorization", "Bearer " + expired}, wantCode: codes.Unauthenticated, wantMsg: "token expired at "},
		{name: "wrong audience", metadata: []string{"authorization", "Bearer " + wrongAudience}, wantCode: codes.Unauthenticated, wantMsg: `token audience does not include "dealercare"`},
		{name: "two tokens", metadata: []string{"authorization", "Bearer " + valid, "authorization", "Bearer " + valid}, wantCode: codes.Unauthenticated, wantMsg: "more than one authorization value; send exactly one bearer token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := metadata.AppendToOutgoingContext(t.Context(), tt.metadata...)

			_, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
			assertStatus(t, "Check", err, tt.wantCode, tt.wantMsg)
			assertRecorded(t, "Check", rec.take(), tt.wantCode, &agent)

			stream, err := client.Watch(ctx, &healthpb.HealthCheckRequest{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = stream.Recv()
			assertStatus(t, "Watch", err, tt.wantCode, tt.wantMsg)
			assertRecorded(t, "Watch", rec.take(), tt.wantCode, &agent)
		})
	}
}

func assertStatus(t *testing.T, method string, err error, wantCode codes.Code, wantMsg string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != wantCode {
		t.Fatalf("%s: code %v (%q), want %v", method, st.Code(), st.Message(), wantCode)
	}
	if !strings.HasPrefix(st.Message(), wantMsg) {
		t.Fatalf("%s: message %q, want %q", method, st.Message(), wantMsg)
	}
}

// assertRecorded checks the handler ran with the principal exactly when
// the call was allowed.
func assertRecorded(t *testing.T, method string, got *Principal, code codes.Code, want *Principal) {
	t.Helper()
	switch {
	case code == codes.OK && (got == nil || !equalPrincipal(got, want)):
		t.Fatalf("%s: handler saw principal %+v, want %+v", method, got, want)
	case code != codes.OK && got != nil:
		t.Fatalf("%s: handler ran for a refused call, with principal %+v", method, got)
	}
}

// TestGRPCPublicMethods: health (used by Kubernetes probes) passes without a
// token when declared public, and the handler sees no principal.
func TestGRPCPublicMethods(t *testing.T) {
	v, _ := devVerifier(t)
	conn, rec := startGRPC(t, v, IsHealthOrReflection)
	client := healthpb.NewHealthClient(conn)
	for _, md := range [][]string{nil, {"authorization", "Bearer garbage"}} {
		ctx := metadata.AppendToOutgoingContext(t.Context(), md...)
		resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("public Check with metadata %q = %v, %v; want SERVING", md, resp, err)
		}
		if p := rec.take(); p != nil {
			t.Fatalf("public Check: handler saw principal %+v, want none", p)
		}
	}
}

func TestIsHealthOrReflection(t *testing.T) {
	tests := map[string]bool{
		"/grpc.health.v1.Health/Check":                                   true,
		"/grpc.health.v1.Health/Watch":                                   true,
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      true,
		"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": true,
		"/dealercare.customer.v1.CustomerService/GetCustomer":            false,
		"/grpc.health.v1.HealthEvil/Check":                               false,
		"/evil.grpc.health.v1.Health/Check":                              false,
	}
	for method, want := range tests {
		if got := IsHealthOrReflection(method); got != want {
			t.Errorf("IsHealthOrReflection(%q) = %v, want %v", method, got, want)
		}
	}
}

// TestGRPCClientHelpers: WithToken and PerRPCToken produce metadata the
// server interceptor accepts.
func TestGRPCClientHelpers(t *testing.T) {
	v, key := devVerifier(t)
	hq := Principal{Subject: "hq-1", Roles: []Role{RoleHQAnalyst}}
	token, err := key.Mint(hq, DevIssuer, DevAudience, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("WithToken replaces an earlier authorization", func(t *testing.T) {
		conn, rec := startGRPC(t, v, nil)
		ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer stale", "x-request-id", "r1")
		ctx = WithToken(ctx, token)
		md, _ := metadata.FromOutgoingContext(ctx)
		if got := md.Get("authorization"); len(got) != 1 || got[0] != "Bearer "+token {
			t.Fatalf("authorization metadata = %q, want one bearer token", got)
		}
		if got := md.Get("x-request-id"); len(got) != 1 {
			t.Fatalf("WithToken dropped other metadata: %v", md)
		}
		if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatal(err)
		}
		if p := rec.take(); p == nil || !equalPrincipal(p, &hq) {
			t.Fatalf("handler saw %+v, want %+v", p, hq)
		}
	})

	t.Run("PerRPCToken", func(t *testing.T) {
		conn, rec := startGRPC(t, v, nil, grpc.WithPerRPCCredentials(PerRPCToken{Token: token, AllowInsecure: true}))
		if _, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatal(err)
		}
		if p := rec.take(); p == nil || !equalPrincipal(p, &hq) {
			t.Fatalf("handler saw %+v, want %+v", p, hq)
		}
	})

	t.Run("PerRPCToken refuses an insecure connection by default", func(t *testing.T) {
		if !(PerRPCToken{Token: token}).RequireTransportSecurity() {
			t.Fatal("RequireTransportSecurity() = false, want true unless AllowInsecure")
		}
	})
}

// stubVerifier returns a fixed result, to check how the interceptor reports
// errors that are not *TokenError.
type stubVerifier struct{ err error }

func (s stubVerifier) Verify(context.Context, string) (*Principal, error) { return nil, s.err }

func TestGRPCOtherVerifierErrorsHideDetails(t *testing.T) {
	conn, _ := startGRPC(t, stubVerifier{err: errors.New("dial tcp 10.0.0.7:443: connection refused")}, nil)
	ctx := WithToken(t.Context(), "x.y.z")
	_, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	assertStatus(t, "Check", err, codes.Unauthenticated, "invalid bearer token")
	if st := status.Convert(err); st.Message() != "invalid bearer token" {
		t.Fatalf("message %q leaks verifier internals", st.Message())
	}
}
