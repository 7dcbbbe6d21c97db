package auth

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// TokenVerifier turns a raw bearer token into a Principal; *Verifier is the
// production implementation. Errors that are *TokenError have their message
// passed to the caller; any other error is reported without detail.
type TokenVerifier interface {
	Verify(ctx context.Context, rawToken string) (*Principal, error)
}

// authorizationKey is the metadata key of the bearer token. grpc-gateway
// forwards the HTTP Authorization header under this key by default.
const authorizationKey = "authorization"

// BearerToken extracts the token from an Authorization header value
// ("Bearer <token>"; the scheme is case-insensitive). Errors are
// *TokenError, like Verify's.
func BearerToken(authorization string) (string, error) {
	if authorization == "" {
		return "", tokenError(ErrMissingToken, `missing bearer token: send "authorization: Bearer <token>"`)
	}
	scheme, token, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", tokenError(ErrMalformedToken, `the authorization value must be "Bearer <token>"`)
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return "", tokenError(ErrMissingToken, `missing bearer token after "Bearer"`)
	}
	return token, nil
}

// IsHealthOrReflection reports whether fullMethod belongs to the gRPC health
// or reflection services, which Kubernetes probes and grpcurl call without a
// token. It is the usual `public` argument of the interceptors.
func IsHealthOrReflection(fullMethod string) bool {
	for _, prefix := range []string{
		"/grpc.health.v1.Health/",
		"/grpc.reflection.v1.ServerReflection/",
		"/grpc.reflection.v1alpha.ServerReflection/",
	} {
		if strings.HasPrefix(fullMethod, prefix) {
			return true
		}
	}
	return false
}

// UnaryServerInterceptor authenticates every unary call except those for
// which public (may be nil) returns true: it verifies the
// "authorization: Bearer <jwt>" metadata with v and runs the handler with
// the Principal in its context (see PrincipalFromContext). Failures end the
// call with codes.Unauthenticated and the reason.
func UnaryServerInterceptor(v TokenVerifier, public func(fullMethod string) bool) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if public != nil && public(info.FullMethod) {
			return handler(ctx, req)
		}
		ctx, err := authenticate(ctx, v)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streaming calls.
func StreamServerInterceptor(v TokenVerifier, public func(fullMethod string) bool) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if public != nil && public(info.FullMethod) {
			return handler(srv, ss)
		}
		ctx, err := authenticate(ss.Context(), v)
		if err != nil {
			return err
		}
		return handler(srv, &authenticatedStream{ServerStream: ss, ctx: ctx})
	}
}

type authenticatedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *authenticatedStream) Context() context.Context { return s.ctx }

func authenticate(ctx context.Context, v TokenVerifier) (context.Context, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	values := md.Get(authorizationKey)
	if len(values) > 1 {
		return nil, status.Error(codes.Unauthenticated, "more than one authorization value; send exactly one bearer token")
	}
	var authorization string
	if len(values) == 1 {
		authorization = values[0]
	}
	raw, err := BearerToken(authorization)
	if err != nil {
		return nil, unauthenticated(err)
	}
	p, err := v.Verify(ctx, raw)
	if err != nil {
		return nil, unauthenticated(err)
	}
	return NewContextWithPrincipal(ctx, p), nil
}

func unauthenticated(err error) error {
	if te, ok := errors.AsType[*TokenError](err); ok {
		return status.Error(codes.Unauthenticated, te.Message)
	}
	return status.Error(codes.Unauthenticated, "invalid bearer token")
}

// WithToken returns a context whose outgoing gRPC calls carry rawToken as
// "authorization: Bearer <token>", replacing any authorization already
// there. The gateway uses it to forward the caller's own token, so every
// service verifies the caller rather than trusting the gateway.
func WithToken(ctx context.Context, rawToken string) context.Context {
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	md.Set(authorizationKey, "Bearer "+rawToken)
	return metadata.NewOutgoingContext(ctx, md)
}

// PerRPCToken sends a fixed bearer token with every call of a connection
// (grpc.WithPerRPCCredentials), e.g. for a CLI or a test client.
type PerRPCToken struct {
	Token string
	// AllowInsecure permits sending the token over a connection without
	// transport security (a loopback test, or a mesh that encrypts
	// underneath); gRPC refuses otherwise.
	AllowInsecure bool
}

var _ credentials.PerRPCCredentials = PerRPCToken{}

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (t PerRPCToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{authorizationKey: "Bearer " + t.Token}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (t PerRPCToken) RequireTransportSecurity() bool { return !t.AllowInsecure }
