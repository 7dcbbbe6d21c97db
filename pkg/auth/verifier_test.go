package auth

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestVerify(t *testing.T) {
	rsaKey, ecKey := rsaTestKey(t), ecTestKey(t)
	srv := newJWKSServer(t, jwksFor(t, rsaKey, ecKey))
	v, err := NewVerifier(t.Context(), srv.config(newFakeClock(t0)))
	if err != nil {
		t.Fatal(err)
	}

	rsaPublicDER, err := x509.MarshalPKIXPublicKey(rsaKey.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	rsaPublicPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rsaPublicDER})
	validPayload := mustJSON(t, validClaims())
	stranger := newECTestKey(t, ecKey.kid) // same kid, different key

	tests := []struct {
		name     string
		token    func(t *testing.T) string
		want     *Principal // nil: expect an error
		wantKind error
		wantMsg  string
	}{
		{
			name:  "RS256",
			token: func(t *testing.T) string { return rsaKey.token(t, validClaims()) },
			want:  &Principal{Subject: "user-42", Roles: []Role{RoleAgent}, Dealer: "D001"},
		},
		{
			name: "ES256 region manager",
			token: func(t *testing.T) string {
				return ecKey.token(t, withClaims(map[string]any{"roles": []string{"region_manager"}, "dealer": nil, "region": "EAST"}))
			},
			want: &Principal{Subject: "user-42", Roles: []Role{RoleRegionManager}, Region: "EAST"},
		},
		{
			name: "audience array including ours",
			token: func(t *testing.T) string {
				return ecKey.token(t, withClaims(map[string]any{"aud": []string{"other", "dealercare"}, "roles": []string{"hq_admin"}, "dealer": nil}))
			},
			want: &Principal{Subject: "user-42", Roles: []Role{RoleHQAdmin}},
		},
		{
			name: "fractional dates",
			token: func(t *testing.T) string {
				return ecKey.token(t, withClaims(map[string]any{"exp": float64(t0.Unix()) + 0.5}))
			},
			want: &Principal{Subject: "user-42", Roles: []Role{RoleAgent}, Dealer: "D001"},
		},
		{
			name: "expired within leeway",
			token: func(t *testing.T) string {
				return rsaKey.token(t, withClaims(map[string]any{"exp": t0.Add(-29 * time.Second).Unix()}))
			},
			want: &Principal{Subject: "user-42", Roles: []Role{RoleAgent}, Dealer: "D001"},
		},
		{
			name: "nbf within leeway",
			token: func(t *testing.T) string {
				return rsaKey.token(t, withClaims(map[string]any{"nbf": t0.Add(29 * time.Second).Unix()}))
			},
			want: &Principal{Subject: "user-42", Roles: []Role{RoleAgent}, Dealer: "D001"},
		},
		{
			name:  "no nbf and no iat",
			token: func(t *testing.T) string { return rsaKey.token(t, withClaims(map[string]any{"nbf": nil, "iat": nil})) },
			want:  &Principal{Subject: "user-42", Roles: []Role{RoleAgent}, Dealer: "D001"},
		},
		{
			name: "expired beyond leeway",
			token: func(t *testing.T) string {
				return rsaKey.token(t, withClaims(map[string]any{"exp": t0.Add(-31 * time.Second).Unix()}))
			},
			wantKind: ErrTokenExpired,
			wantMsg:  "token expired at 2026-03-01T08:59:29Z",
		},
		{
			name: "expired exactly at leeway",
			token: func(t *testing.T) string {
				return rsaKey.token(t, withClaims(map[string]any{"exp": t0.Add(-30 * time.Second).Unix()}))
			},
			wantKind: ErrTokenExpired,
			wantMsg:  "token expired at 2026-03-01T08:59:30Z",
		},
		{
			name:     "no exp",
			token:    func(t *testing.T) string { return rsaKey.token(t, withClaims(map[string]any{"exp": nil})) },
			wantKind: ErrInvalidClaims,
			wantMsg:  `invalid token claims: no expiry ("exp" claim)`,
		},
		{
			name: "nbf in the future",
			token: func(t *testing.T) string {
				return rsaKey.token(t, withClaims(map[string]any{"nbf": t0.Add(time.Minute).Unix()}))
			},
			wantKind: ErrTokenNotYetValid,
			wantMsg:  "token is not valid before 2026-03-01T09:01:00Z",
		},
		{
			name: "iat in the future",
			token: func(t *testing.T) string {
				return rsaKey.token(t, withClaims(map[string]any{"iat": t0.Add(time.Hour).Unix()}))
			},
			wantKind: ErrTokenNotYetValid,
			wantMsg:  "token was issued in the future, at 2026-03-01T10:00:00Z",
		},
		{
			name: "wrong issuer",
			token: func(t *testing.T) string {
				return rsaKey.token(t, withClaims(map[string]any{"iss": "https://evil.example.com"}))
			},
			wantKind: ErrUntrustedIssuer,
			wantMsg:  `token issuer "https://evil.example.com" is not trusted`,
		},
		{
			name:     "no issuer",
			token:    func(t *testing.T) string { return rsaKey.token(t, withClaims(map[string]any{"iss": nil})) },
			wantKind: ErrUntrustedIssuer,
			wantMsg:  `token issuer "" is not trusted`,
		},
		{
			name:     "wrong audience",
			token:    func(t *testing.T) string { return rsaKey.token(t, withClaims(map[string]any{"aud": "crm"})) },
			wantKind: ErrWrongAudience,
			wantMsg:  `token audience does not include "dealercare"`,
		},
		{
			name: "audience array without ours",
			token: func(t *testing.T) string {
				return rsaKey.token(t, withClaims(map[string]any{"aud": []string{"crm", "dms"}}))
			},
			wantKind: ErrWrongAudience,
			wantMsg:  `token audience does not include "dealercare"`,
		},
		{
			name:     "no audience",
			token:    func(t *testing.T) string { return rsaKey.token(t, withClaims(map[string]any{"aud": nil})) },
			wantKind: ErrWrongAudience,
			wantMsg:  `token audience does not include "dealercare"`,
		},
		{
			name: "alg none",
			token: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, map[string]any{"kid": rsaKey.kid}, validPayload)
			},
			wantKind: ErrUnsupportedAlgorithm,
			wantMsg:  `unsupported signing algorithm "none": only RS256 and ES256 are accepted`,
		},
		{
			name: "alg None with a valid RS256 signature",
			token: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodRS256, rsaKey.priv, map[string]any{"kid": rsaKey.kid, "alg": "None"}, validPayload)
			},
			wantKind: ErrUnsupportedAlgorithm,
			wantMsg:  `unsupported signing algorithm "None": only RS256 and ES256 are accepted`,
		},
		{
			name: "HS256 keyed with the RSA public key PEM (algorithm confusion)",
			token: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodHS256, rsaPublicPEM, map[string]any{"kid": rsaKey.kid}, validPayload)
			},
			wantKind: ErrUnsupportedAlgorithm,
			wantMsg:  `unsupported signing algorithm "HS256": only RS256 and ES256 are accepted`,
		},
		{
			name: "HS256 keyed with the RSA public key DER (algorithm confusion)",
			token: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodHS256, rsaPublicDER, map[string]any{"kid": rsaKey.kid}, validPayload)
			},
			wantKind: ErrUnsupportedAlgorithm,
			wantMsg:  `unsupported signing algorithm "HS256": only RS256 and ES256 are accepted`,
		},
		{
			name: "PS256 by the trusted RSA key",
			token: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodPS256, rsaKey.priv, map[string]any{"kid": rsaKey.kid}, validPayload)
			},
			wantKind: ErrUnsupportedAlgorithm,
			wantMsg:  `unsupported signing algorithm "PS256": only RS256 and ES256 are accepted`,
		},
		{
			name: "RS256 naming the EC key",
			token: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodRS256, rsaKey.priv, map[string]any{"kid": ecKey.kid}, validPayload)
			},
			wantKind: ErrInvalidSignature,
			wantMsg:  `token algorithm RS256 does not match signing key "ec-1", which is for ES256`,
		},
		{
			name:     "ES256 by an untrusted key reusing a trusted kid",
			token:    func(t *testing.T) string { return stranger.token(t, validClaims()) },
			wantKind: ErrInvalidSignature,
			wantMsg:  "invalid token signature",
		},
		{
			name: "payload swapped after signing",
			token: func(t *testing.T) string {
				parts := strings.Split(rsaKey.token(t, validClaims()), ".")
				forged := withClaims(map[string]any{"roles": []string{"hq_admin"}})
				return parts[0] + "." + b64(mustJSON(t, forged)) + "." + parts[2]
			},
			wantKind: ErrInvalidSignature,
			wantMsg:  "invalid token signature",
		},
		{
			name: "ES256 signature truncated",
			token: func(t *testing.T) string {
				tok := ecKey.token(t, validClaims())
				return tok[:len(tok)-4]
			},
			wantKind: ErrInvalidSignature,
			wantMsg:  "invalid token signature",
		},
		{
			name:     "unknown kid",
			token:    func(t *testing.T) string { return newECTestKey(t, "no-such-key").token(t, validClaims()) },
			wantKind: ErrUnknownKey,
			wantMsg:  `unknown signing key "no-such-key"`,
		},
		{
			name: "no kid",
			token: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodES256, ecKey.priv, nil, validPayload)
			},
			wantKind: ErrMalformedToken,
			wantMsg:  `malformed token: the header has no "kid" naming the signing key`,
		},
		{
			name: "critical header extension",
			token: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodES256, ecKey.priv, map[string]any{"kid": ecKey.kid, "crit": []string{"exp"}, "exp": 1}, validPayload)
			},
			wantKind: ErrMalformedToken,
			wantMsg:  `malformed token: critical header extensions ["exp"] are not supported`,
		},
		{
			name:     "empty",
			token:    func(*testing.T) string { return "" },
			wantKind: ErrMissingToken,
			wantMsg:  "missing bearer token",
		},
		{
			name:     "one part",
			token:    func(*testing.T) string { return "not-a-jwt" },
			wantKind: ErrMalformedToken,
			wantMsg:  "malformed token: expected a signed JWT of three dot-separated parts",
		},
		{
			name:     "four parts",
			token:    func(*testing.T) string { return "a.b.c.d" },
			wantKind: ErrMalformedToken,
			wantMsg:  "malformed token: expected a signed JWT of three dot-separated parts",
		},
		{
			name:     "JWE",
			token:    func(*testing.T) string { return "a.b.c.d.e" },
			wantKind: ErrMalformedToken,
			wantMsg:  "malformed token: encrypted tokens (JWE) are not accepted",
		},
		{
			name:     "header not base64url",
			token:    func(*testing.T) string { return "!!!.e30.c2ln" },
			wantKind: ErrMalformedToken,
			wantMsg:  "malformed token: the header is not base64url-encoded JSON",
		},
		{
			name:     "header not JSON",
			token:    func(*testing.T) string { return b64([]byte("hello")) + ".e30.c2ln" },
			wantKind: ErrMalformedToken,
			wantMsg:  "malformed token: the header is not base64url-encoded JSON",
		},
		{
			name: "signature not base64url",
			token: func(t *testing.T) string {
				tok := rsaKey.token(t, validClaims())
				return tok[:strings.LastIndex(tok, ".")+1] + "***"
			},
			wantKind: ErrMalformedToken,
			wantMsg:  "malformed token: the signature is not base64url",
		},
		{
			name: "signed payload that is not JSON",
			token: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodRS256, rsaKey.priv, map[string]any{"kid": rsaKey.kid}, []byte("not json"))
			},
			wantKind: ErrMalformedToken,
			wantMsg:  "malformed token: the payload is not a base64url-encoded JSON object",
		},
		{
			name:     "oversized",
			token:    func(*testing.T) string { return strings.Repeat("a", maxTokenBytes+1) },
			wantKind: ErrMalformedToken,
			wantMsg:  "malformed token: longer than 16384 bytes",
		},
		{
			name:     "roles as a string",
			token:    func(t *testing.T) string { return rsaKey.token(t, withClaims(map[string]any{"roles": "agent"})) },
			wantKind: ErrInvalidClaims,
			wantMsg:  `invalid token claims: "roles" must be an array of strings`,
		},
		{
			name:     "exp as a string",
			token:    func(t *testing.T) string { return rsaKey.token(t, withClaims(map[string]any{"exp": "tomorrow"})) },
			wantKind: ErrInvalidClaims,
			wantMsg:  `invalid token claims: "exp" must be a date in seconds since 1970`,
		},
		{
			name:     "aud as a number",
			token:    func(t *testing.T) string { return rsaKey.token(t, withClaims(map[string]any{"aud": 7})) },
			wantKind: ErrInvalidClaims,
			wantMsg:  `invalid token claims: "aud" must be a string or an array of strings`,
		},
		{
			name: "unknown role",
			token: func(t *testing.T) string {
				return rsaKey.token(t, withClaims(map[string]any{"roles": []string{"agent", "superuser"}}))
			},
			wantKind: ErrInvalidClaims,
			wantMsg:  `invalid token claims: unknown role "superuser" (known roles: agent, dealer_manager, service_manager, sales_manager, dealer_gm, region_manager, hq_analyst, hq_admin, service)`,
		},
		{
			name:     "dealer role without dealer",
			token:    func(t *testing.T) string { return rsaKey.token(t, withClaims(map[string]any{"dealer": nil})) },
			wantKind: ErrInvalidClaims,
			wantMsg:  `invalid token claims: role "agent" requires a "dealer" claim`,
		},
		{
			name:     "no subject",
			token:    func(t *testing.T) string { return rsaKey.token(t, withClaims(map[string]any{"sub": nil})) },
			wantKind: ErrInvalidClaims,
			wantMsg:  `invalid token claims: missing subject ("sub" claim)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(t.Context(), tt.token(t))
			if tt.want != nil {
				if err != nil {
					t.Fatalf("Verify() error = %v, want success", err)
				}
				if !equalPrincipal(got, tt.want) {
					t.Fatalf("Verify() = %+v, want %+v", got, tt.want)
				}
				return
			}
			assertTokenError(t, got, err, tt.wantKind, tt.wantMsg)
		})
	}
}

func assertTokenError(t *testing.T, got *Principal, err error, wantKind error, wantMsg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Verify() = %+v, want error %q", got, wantMsg)
	}
	if got != nil {
		t.Errorf("Verify() returned principal %+v with error", got)
	}
	if !errors.Is(err, wantKind) {
		t.Errorf("Verify() error = %v, want kind %v", err, wantKind)
	}
	if _, ok := errors.AsType[*TokenError](err); !ok {
		t.Errorf("Verify() error %T is not a *TokenError", err)
	}
	if err.Error() != wantMsg {
		t.Errorf("Verify() error message\n got: %s\nwant: %s", err, wantMsg)
	}
}

func equalPrincipal(a, b *Principal) bool {
	return a.Subject == b.Subject && a.Dealer == b.Dealer && a.Region == b.Region && slices.Equal(a.Roles, b.Roles)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	payload, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return payload
}

// TestVerifyRotation: a key the identity provider adds after start-up is
// accepted once the verifier refetches the JWKS for its unknown kid, and
// unknown kids refetch at most once per unknownKeyRefreshInterval.
func TestVerifyRotation(t *testing.T) {
	oldKey, newKey := ecTestKey(t), newECTestKey(t, "ec-2")
	srv := newJWKSServer(t, jwksFor(t, oldKey))
	clock := newFakeClock(t0)
	cfg := srv.config(clock)
	cfg.Leeway = time.Hour // the clock moves; keep the token valid
	v, err := NewVerifier(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	token := newKey.token(t, validClaims())

	steps := []struct {
		name      string
		advance   time.Duration
		publish   []testKey // nil: leave the JWKS as it is
		token     string
		wantOK    bool
		wantFetch int32 // total JWKS fetches after the step
	}{
		{name: "start-up fetch", token: oldKey.token(t, validClaims()), wantOK: true, wantFetch: 1},
		{name: "new key not published yet", token: token, wantFetch: 1}, // just fetched: no refetch
		{name: "published, within 10s of the last fetch", advance: 5 * time.Second, publish: []testKey{oldKey, newKey}, token: token, wantFetch: 1},
		{name: "published, 10s after the last fetch", advance: 5 * time.Second, token: token, wantOK: true, wantFetch: 2},
		{name: "known kid does not fetch", advance: time.Minute, token: oldKey.token(t, validClaims()), wantOK: true, wantFetch: 2},
		{name: "unknown kid refetches", token: newECTestKey(t, "ec-3").token(t, validClaims()), wantFetch: 3},
		{name: "another unknown kid right after is refused without a fetch", advance: time.Second, token: newECTestKey(t, "ec-4").token(t, validClaims()), wantFetch: 3},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		if s.publish != nil {
			srv.set(jwksFor(t, s.publish...))
		}
		_, err := v.Verify(t.Context(), s.token)
		if s.wantOK && err != nil {
			t.Errorf("%s: Verify() = %v, want success", s.name, err)
		}
		if !s.wantOK && !errors.Is(err, ErrUnknownKey) {
			t.Errorf("%s: Verify() = %v, want ErrUnknownKey", s.name, err)
		}
		if got := srv.hits.Load(); got != s.wantFetch {
			t.Errorf("%s: JWKS fetched %d times, want %d", s.name, got, s.wantFetch)
		}
	}
}

// TestVerifyUnknownKidConcurrent: a burst of tokens with an unknown kid
// makes one fetch, not one per request; when that fetch brings the key,
// the requests that queued behind it are accepted too.
func TestVerifyUnknownKidConcurrent(t *testing.T) {
	tests := []struct {
		name    string
		publish bool
		wantErr error
	}{
		{name: "key published", publish: true},
		{name: "forged kid", wantErr: ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, newKey := ecTestKey(t), newECTestKey(t, "ec-new")
			srv := newJWKSServer(t, jwksFor(t, key))
			clock := newFakeClock(t0)
			v, err := NewVerifier(t.Context(), srv.config(clock))
			if err != nil {
				t.Fatal(err)
			}
			if tt.publish {
				srv.set(jwksFor(t, key, newKey))
			}
			clock.Advance(unknownKeyRefreshInterval)
			token := newKey.token(t, validClaims())
			var wg sync.WaitGroup
			for range 50 {
				wg.Go(func() {
					if _, err := v.Verify(t.Context(), token); !errors.Is(err, tt.wantErr) {
						t.Errorf("Verify() = %v, want %v", err, tt.wantErr)
					}
				})
			}
			wg.Wait()
			if got := srv.hits.Load(); got != 2 {
				t.Fatalf("JWKS fetched %d times, want 2 (start-up and one refresh)", got)
			}
		})
	}
}

// TestVerifierBackgroundRefresh: the periodic refresh drops a key the
// identity provider removed, survives a failing endpoint with the keys it
// has, and stops when the context ends.
func TestVerifierBackgroundRefresh(t *testing.T) {
	kept, removed := ecTestKey(t), newECTestKey(t, "ec-removed")
	srv := newJWKSServer(t, jwksFor(t, kept, removed))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cfg := srv.config(newFakeClock(t0))
	cfg.RefreshInterval = 10 * time.Millisecond
	v, err := NewVerifier(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	keptToken, removedToken := kept.token(t, validClaims()), removed.token(t, validClaims())
	if _, err := v.Verify(t.Context(), removedToken); err != nil {
		t.Fatalf("before removal: Verify() = %v", err)
	}

	srv.status.Store(http.StatusServiceUnavailable)
	waitForHits(t, srv, srv.hits.Load()+3)
	if _, err := v.Verify(t.Context(), keptToken); err != nil {
		t.Fatalf("while the JWKS endpoint fails: Verify() = %v, want the old keys kept", err)
	}

	srv.set(jwksFor(t, kept))
	srv.status.Store(http.StatusOK)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := v.Verify(t.Context(), removedToken)
		if errors.Is(err, ErrUnknownKey) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("removed key still accepted after 5s of refreshes: Verify() = %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := v.Verify(t.Context(), keptToken); err != nil {
		t.Fatalf("after removal: Verify(kept) = %v", err)
	}

	cancel()
	time.Sleep(50 * time.Millisecond) // let an in-flight refresh finish
	before := srv.hits.Load()
	time.Sleep(20 * cfg.RefreshInterval)
	if after := srv.hits.Load(); after != before {
		t.Fatalf("JWKS fetched %d more times after the context ended", after-before)
	}
}

func waitForHits(t *testing.T, srv *jwksServer, n int32) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for srv.hits.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("JWKS fetched %d times in 5s, want %d", srv.hits.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestNewVerifierErrors(t *testing.T) {
	key := ecTestKey(t)
	srv := newJWKSServer(t, jwksFor(t, key))
	empty := newJWKSServer(t, []byte(`{"keys":[{"kty":"oct","kid":"k","k":"c2VjcmV0"}]}`))
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.json")
	if err := os.WriteFile(garbage, []byte("<html>"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := srv.config(newFakeClock(t0))
	tests := []struct {
		name    string
		edit    func(*VerifierConfig)
		wantErr string
	}{
		{"no JWKS URL", func(c *VerifierConfig) { c.JWKSURL = "" }, "auth: VerifierConfig.JWKSURL is required"},
		{"no issuer", func(c *VerifierConfig) { c.Issuer = "" }, "auth: VerifierConfig.Issuer is required"},
		{"no audience", func(c *VerifierConfig) { c.Audience = "" }, "auth: VerifierConfig.Audience is required"},
		{"negative leeway", func(c *VerifierConfig) { c.Leeway = -time.Second }, "auth: VerifierConfig.Leeway -1s is negative"},
		{"plain http", func(c *VerifierConfig) { c.JWKSURL = "http://idp.example.com/jwks.json" },
			`auth: VerifierConfig.JWKSURL: "http://idp.example.com/jwks.json": plain http is accepted for localhost only; use https`},
		{"unsupported scheme", func(c *VerifierConfig) { c.JWKSURL = "ftp://idp.example.com/jwks.json" },
			`unsupported scheme "ftp"`},
		{"relative file URL", func(c *VerifierConfig) { c.JWKSURL = "file://jwks.json" },
			`a file URL needs an absolute path`},
		{"endpoint failing", func(c *VerifierConfig) { c.JWKSURL = srv.URL + "/missing" },
			"auth: load JWKS from " + srv.URL + "/missing: GET " + srv.URL + "/missing: 503 Service Unavailable"},
		{"TLS not trusted", func(c *VerifierConfig) { c.HTTPClient = &http.Client{} }, "certificate"},
		{"missing file", func(c *VerifierConfig) { c.JWKSURL = filepath.Join(dir, "nope.json") }, "no such file or directory"},
		{"not JSON", func(c *VerifierConfig) { c.JWKSURL = garbage }, "JWKS is not valid JSON"},
		{"no usable key", func(c *VerifierConfig) { c.JWKSURL = empty.URL; c.HTTPClient = empty.Client() }, "JWKS has no usable signing key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "endpoint failing" {
				srv.status.Store(http.StatusServiceUnavailable)
				defer srv.status.Store(http.StatusOK)
			}
			cfg := base
			tt.edit(&cfg)
			v, err := NewVerifier(t.Context(), cfg)
			if err == nil {
				t.Fatalf("NewVerifier() = %v, want error containing %q", v, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewVerifier() error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
