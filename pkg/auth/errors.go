package auth

import "errors"

// Kinds of token failure. Every error returned by Verifier.Verify is a
// *TokenError that wraps exactly one of these, so callers can branch with
// errors.Is and still show the TokenError's message.
var (
	ErrMissingToken         = errors.New("missing bearer token")
	ErrMalformedToken       = errors.New("malformed token")
	ErrUnsupportedAlgorithm = errors.New("unsupported signing algorithm")
	ErrUnknownKey           = errors.New("unknown signing key")
	ErrInvalidSignature     = errors.New("invalid token signature")
	ErrTokenExpired         = errors.New("token expired")
	ErrTokenNotYetValid     = errors.New("token not yet valid")
	ErrUntrustedIssuer      = errors.New("untrusted token issuer")
	ErrWrongAudience        = errors.New("wrong token audience")
	ErrInvalidClaims        = errors.New("invalid token claims")
)

// TokenError is why a bearer token was refused. Its message is written for
// the caller (it names the claim or header at fault and never contains key
// material or internal failures), so transports return it as is: HTTP 401,
// gRPC codes.Unauthenticated.
type TokenError struct {
	// Kind is one of the Err* sentinels of this package.
	Kind error
	// Message is the human-readable reason, safe to return to the caller.
	Message string
}

func (e *TokenError) Error() string { return e.Message }

// Unwrap makes errors.Is(err, auth.ErrTokenExpired) and friends work.
func (e *TokenError) Unwrap() error { return e.Kind }

func tokenError(kind error, message string) *TokenError {
	return &TokenError{Kind: kind, Message: message}
}
