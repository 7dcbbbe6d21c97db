package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of VerifierConfig.
const (
	DefaultLeeway          = 30 * time.Second
	DefaultRefreshInterval = 5 * time.Minute
)

const (
	// unknownKeyRefreshInterval bounds how often a token with an unknown kid
	// may make the verifier fetch the JWKS again, so a stream of forged kids
	// cannot turn every service into a load generator against the identity
	// provider.
	unknownKeyRefreshInterval = 10 * time.Second
	// fetchTimeout bounds one JWKS fetch even if the HTTP client has no
	// timeout; requests with an unknown kid wait for it.
	fetchTimeout = 10 * time.Second
	maxJWKSBytes = 1 << 20
	// maxTokenBytes is far above any real token (a few hundred bytes to a
	// few KiB) and keeps garbage from being decoded at all.
	maxTokenBytes = 16 << 10
	maxKidBytes   = 256
)

// VerifierConfig configures a Verifier. Issuer, Audience and JWKSURL are
// required; zero durations and nil fields take the defaults.
type VerifierConfig struct {
	// JWKSURL is where the identity provider publishes its public keys:
	// an https:// URL, a file:// URL or a plain file path. Plain http:// is
	// accepted for localhost only, since anyone on the path could otherwise
	// substitute keys.
	JWKSURL string
	// Issuer must equal the token's "iss" claim.
	Issuer string
	// Audience must be among the token's "aud" claim values.
	Audience string
	// Leeway tolerates clock skew on exp, nbf and iat. Default 30s.
	Leeway time.Duration
	// RefreshInterval is how often the JWKS is fetched again in the
	// background, so removed (revoked) keys stop being accepted. Default 5m.
	RefreshInterval time.Duration
	// HTTPClient fetches https JWKS URLs. Default: a client with a 10s
	// timeout.
	HTTPClient *http.Client
	// Now is the clock; tests set it. Default time.Now.
	Now func() time.Time
	// Logger receives background refresh failures. Default slog.Default().
	Logger *slog.Logger
	// TokenCacheSize bounds how many verified tokens are remembered (by
	// hash, until they expire) so a repeated token skips the signature
	// check; its claims and key are checked again on every use. Zero means
	// DefaultTokenCacheSize, negative turns the cache off.
	TokenCacheSize int
}

// Validate reports the first missing or invalid field, by name.
func (c VerifierConfig) Validate() error {
	switch {
	case c.JWKSURL == "":
		return errors.New("auth: VerifierConfig.JWKSURL is required")
	case c.Issuer == "":
		return errors.New("auth: VerifierConfig.Issuer is required")
	case c.Audience == "":
		return errors.New("auth: VerifierConfig.Audience is required")
	case c.Leeway < 0:
		return fmt.Errorf("auth: VerifierConfig.Leeway %s is negative", c.Leeway)
	case c.RefreshInterval < 0:
		return fmt.Errorf("auth: VerifierConfig.RefreshInterval %s is negative", c.RefreshInterval)
	}
	if _, err := jwksFetcher(c.JWKSURL, nil); err != nil {
		return fmt.Errorf("auth: VerifierConfig.JWKSURL: %w", err)
	}
	return nil
}

func (c VerifierConfig) withDefaults() VerifierConfig {
	if c.Leeway == 0 {
		c.Leeway = DefaultLeeway
	}
	if c.RefreshInterval == 0 {
		c.RefreshInterval = DefaultRefreshInterval
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: fetchTimeout}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.TokenCacheSize == 0 {
		c.TokenCacheSize = DefaultTokenCacheSize
	}
	return c
}

// Verifier checks bearer tokens against the identity provider's JWKS. It is
// safe for concurrent use.
type Verifier struct {
	cfg   VerifierConfig
	fetch func(context.Context) ([]byte, error)
	keys  atomic.Pointer[map[string]*verificationKey]
	cache *tokenCache // nil when off

	refreshMu   sync.Mutex // serialises fetches
	lastAttempt time.Time  // guarded by refreshMu
}

// NewVerifier loads the JWKS once, failing if it cannot, and then refreshes
// it every cfg.RefreshInterval until ctx is done; ctx therefore bounds the
// verifier's life, not just its start. A failed background refresh keeps
// the previous keys and is logged.
func NewVerifier(ctx context.Context, cfg VerifierConfig) (*Verifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	fetch, err := jwksFetcher(cfg.JWKSURL, cfg.HTTPClient)
	if err != nil {
		return nil, fmt.Errorf("auth: VerifierConfig.JWKSURL: %w", err)
	}
	v := &Verifier{cfg: cfg, fetch: fetch, cache: newTokenCache(cfg.TokenCacheSize)}
	v.refreshMu.Lock()
	err = v.refreshLocked(ctx)
	v.refreshMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("auth: load JWKS from %s: %w", cfg.JWKSURL, err)
	}
	go v.refreshPeriodically(ctx)
	return v, nil
}

func (v *Verifier) refreshPeriodically(ctx context.Context) {
	ticker := time.NewTicker(v.cfg.RefreshInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		v.refreshMu.Lock()
		err := v.refreshLocked(ctx)
		v.refreshMu.Unlock()
		if err != nil && ctx.Err() == nil {
			v.cfg.Logger.WarnContext(ctx, "JWKS refresh failed; keeping the previous keys",
				slog.String("jwks_url", v.cfg.JWKSURL), slog.Any("error", err))
		}
	}
}

// refreshLocked fetches and installs the JWKS; the caller holds refreshMu.
func (v *Verifier) refreshLocked(ctx context.Context) error {
	v.lastAttempt = v.cfg.Now()
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	data, err := v.fetch(ctx)
	if err != nil {
		return err
	}
	keys, err := parseJWKS(data)
	if err != nil {
		return err
	}
	v.keys.Store(&keys)
	return nil
}

// key returns the key with kid. An unknown kid usually means the identity
// provider rotated keys since the last fetch, so it refetches the JWKS, at
// most once per unknownKeyRefreshInterval.
func (v *Verifier) key(ctx context.Context, kid string) (*verificationKey, bool) {
	if k, ok := (*v.keys.Load())[kid]; ok {
		return k, true
	}
	v.refreshMu.Lock()
	defer v.refreshMu.Unlock()
	if k, ok := (*v.keys.Load())[kid]; ok { // fetched while we waited
		return k, true
	}
	if v.cfg.Now().Sub(v.lastAttempt) < unknownKeyRefreshInterval {
		return nil, false
	}
	// The fetch serves every later request too, so the caller's
	// cancellation must not cut it short.
	if err := v.refreshLocked(context.WithoutCancel(ctx)); err != nil {
		v.cfg.Logger.WarnContext(ctx, "JWKS refresh for an unknown kid failed; keeping the previous keys",
			slog.String("jwks_url", v.cfg.JWKSURL), slog.Any("error", err))
	}
	k, ok := (*v.keys.Load())[kid]
	return k, ok
}

// jwksFetcher returns how to read the JWKS at location; client may be nil
// when only checking location.
func jwksFetcher(location string, client *http.Client) (func(context.Context) ([]byte, error), error) {
	if !strings.Contains(location, "://") {
		return func(context.Context) ([]byte, error) { return readJWKSFile(location) }, nil
	}
	u, err := url.Parse(location)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL or file path: %w", location, err)
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("%q: a file URL needs an absolute path (file:///path/to/jwks.json)", location)
		}
		return func(context.Context) ([]byte, error) { return readJWKSFile(u.Path) }, nil
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("%q: plain http is accepted for localhost only; use https", location)
		}
	default:
		return nil, fmt.Errorf("%q: unsupported scheme %q (use https://, file:// or a file path)", location, u.Scheme)
	}
	return func(ctx context.Context) ([]byte, error) { return fetchJWKS(ctx, client, location) }, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func readJWKSFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLimited(f)
}

func fetchJWKS(ctx context.Context, client *http.Client, location string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, location, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", location, resp.Status)
	}
	return readLimited(resp.Body)
}

func readLimited(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxJWKSBytes {
		return nil, fmt.Errorf("JWKS is larger than %d bytes", maxJWKSBytes)
	}
	return data, nil
}

// jwsHeader is the protected header of a compact JWS.
type jwsHeader struct {
	Alg  string   `json:"alg"`
	Kid  string   `json:"kid"`
	Crit []string `json:"crit"`
}

// Verify checks rawToken (a compact JWS, without "Bearer ") and returns the
// Principal it asserts. The algorithm comes from the token header but must
// be RS256 or ES256 and must match the key the kid names, so neither "none"
// nor an HMAC keyed with the public key can get through. Claims are read
// only after the signature is verified.
//
// Every error is a *TokenError wrapping one of the Err* kinds of this
// package; its message is safe to return to the caller.
func (v *Verifier) Verify(ctx context.Context, rawToken string) (*Principal, error) {
	if rawToken == "" {
		return nil, tokenError(ErrMissingToken, "missing bearer token")
	}
	if len(rawToken) > maxTokenBytes {
		return nil, tokenError(ErrMalformedToken, fmt.Sprintf("malformed token: longer than %d bytes", maxTokenBytes))
	}
	var sum [sha256.Size]byte
	if v.cache != nil {
		sum = sha256.Sum256([]byte(rawToken))
		if claims, ok := v.cache.get(sum, *v.keys.Load()); ok {
			return v.checkClaims(claims)
		}
	}
	parts := strings.Split(rawToken, ".")
	if len(parts) == 5 {
		return nil, tokenError(ErrMalformedToken, "malformed token: encrypted tokens (JWE) are not accepted")
	}
	if len(parts) != 3 {
		return nil, tokenError(ErrMalformedToken, "malformed token: expected a signed JWT of three dot-separated parts")
	}

	var header jwsHeader
	if err := decodeSegment(parts[0], &header); err != nil {
		return nil, tokenError(ErrMalformedToken, "malformed token: the header is not base64url-encoded JSON")
	}
	if header.Alg != algRS256 && header.Alg != algES256 {
		return nil, tokenError(ErrUnsupportedAlgorithm,
			fmt.Sprintf("unsupported signing algorithm %q: only RS256 and ES256 are accepted", truncate(header.Alg)))
	}
	if len(header.Crit) > 0 {
		return nil, tokenError(ErrMalformedToken,
			fmt.Sprintf("malformed token: critical header extensions %q are not supported", header.Crit))
	}
	if header.Kid == "" {
		return nil, tokenError(ErrMalformedToken, `malformed token: the header has no "kid" naming the signing key`)
	}
	if len(header.Kid) > maxKidBytes {
		return nil, tokenError(ErrMalformedToken, fmt.Sprintf(`malformed token: "kid" is longer than %d bytes`, maxKidBytes))
	}
	key, ok := v.key(ctx, header.Kid)
	if !ok {
		return nil, tokenError(ErrUnknownKey, fmt.Sprintf("unknown signing key %q", header.Kid))
	}
	if key.alg != header.Alg {
		return nil, tokenError(ErrInvalidSignature,
			fmt.Sprintf("token algorithm %s does not match signing key %q, which is for %s", header.Alg, key.kid, key.alg))
	}
	signature, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, tokenError(ErrMalformedToken, "malformed token: the signature is not base64url")
	}
	if !key.verify(parts[0]+"."+parts[1], signature) {
		return nil, tokenError(ErrInvalidSignature, "invalid token signature")
	}

	claims, err := decodeClaims(parts[1])
	if err != nil {
		return nil, err
	}
	p, err := v.checkClaims(claims)
	if err == nil {
		v.cache.put(sum, key, claims, v.expired)
	}
	return p, err
}

// expired reports whether a token with claims c can no longer pass.
func (v *Verifier) expired(c *tokenClaims) bool {
	return !v.cfg.Now().Before(c.expiry.Add(v.cfg.Leeway))
}

func (k *verificationKey) verify(signingInput string, signature []byte) bool {
	digest := sha256.Sum256([]byte(signingInput))
	switch k.alg {
	case algRS256:
		return rsa.VerifyPKCS1v15(k.rsa, crypto.SHA256, digest[:], signature) == nil
	case algES256:
		// JWS carries R||S, 32 bytes each (RFC 7518 §3.4), not ASN.1.
		if len(signature) != 64 {
			return false
		}
		r := new(big.Int).SetBytes(signature[:32])
		s := new(big.Int).SetBytes(signature[32:])
		return ecdsa.Verify(k.ec, digest[:], r, s)
	}
	return false
}

func decodeSegment(segment string, v any) error {
	data, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

type tokenClaims struct {
	subject, issuer        string
	audience               []string
	expiry, notBefore      time.Time
	issuedAt               time.Time
	hasNotBefore, hasIssue bool
	roles                  []string
	dealer, region         string
}

func decodeClaims(segment string) (*tokenClaims, error) {
	var raw map[string]json.RawMessage
	if err := decodeSegment(segment, &raw); err != nil || raw == nil {
		return nil, tokenError(ErrMalformedToken, "malformed token: the payload is not a base64url-encoded JSON object")
	}
	var c tokenClaims
	var hasExpiry bool
	errs := []error{
		stringClaim(raw, "sub", &c.subject),
		stringClaim(raw, "iss", &c.issuer),
		audienceClaim(raw, &c.audience),
		timeClaim(raw, "exp", &c.expiry, &hasExpiry),
		timeClaim(raw, "nbf", &c.notBefore, &c.hasNotBefore),
		timeClaim(raw, "iat", &c.issuedAt, &c.hasIssue),
		stringsClaim(raw, "roles", &c.roles),
		stringClaim(raw, "dealer", &c.dealer),
		stringClaim(raw, "region", &c.region),
	}
	for _, err := range errs {
		if err != nil {
			return nil, tokenError(ErrInvalidClaims, "invalid token claims: "+err.Error())
		}
	}
	if !hasExpiry {
		return nil, tokenError(ErrInvalidClaims, `invalid token claims: no expiry ("exp" claim)`)
	}
	return &c, nil
}

func (v *Verifier) checkClaims(c *tokenClaims) (*Principal, error) {
	if c.issuer != v.cfg.Issuer {
		return nil, tokenError(ErrUntrustedIssuer, fmt.Sprintf("token issuer %q is not trusted", truncate(c.issuer)))
	}
	if !slices.Contains(c.audience, v.cfg.Audience) {
		return nil, tokenError(ErrWrongAudience, fmt.Sprintf("token audience does not include %q", v.cfg.Audience))
	}
	now, leeway := v.cfg.Now(), v.cfg.Leeway
	if !now.Before(c.expiry.Add(leeway)) {
		return nil, tokenError(ErrTokenExpired, "token expired at "+formatTime(c.expiry))
	}
	if c.hasNotBefore && now.Add(leeway).Before(c.notBefore) {
		return nil, tokenError(ErrTokenNotYetValid, "token is not valid before "+formatTime(c.notBefore))
	}
	if c.hasIssue && now.Add(leeway).Before(c.issuedAt) {
		return nil, tokenError(ErrTokenNotYetValid, "token was issued in the future, at "+formatTime(c.issuedAt))
	}
	p := &Principal{Subject: c.subject, Dealer: c.dealer, Region: c.region}
	for _, r := range c.roles {
		p.Roles = append(p.Roles, Role(r))
	}
	if err := p.Validate(); err != nil {
		reason := err.Error()
		if pe, ok := errors.AsType[*principalError](err); ok {
			reason = pe.reason
		}
		return nil, tokenError(ErrInvalidClaims, "invalid token claims: "+reason)
	}
	return p, nil
}

func stringClaim(raw map[string]json.RawMessage, name string, dst *string) error {
	data, ok := raw[name]
	if !ok || string(data) == "null" {
		return nil
	}
	if json.Unmarshal(data, dst) != nil {
		return fmt.Errorf("%q must be a string", name)
	}
	return nil
}

func stringsClaim(raw map[string]json.RawMessage, name string, dst *[]string) error {
	data, ok := raw[name]
	if !ok || string(data) == "null" {
		return nil
	}
	if json.Unmarshal(data, dst) != nil {
		return fmt.Errorf("%q must be an array of strings", name)
	}
	return nil
}

// audienceClaim reads "aud", which RFC 7519 allows as one string or an array.
func audienceClaim(raw map[string]json.RawMessage, dst *[]string) error {
	data, ok := raw["aud"]
	if !ok || string(data) == "null" {
		return nil
	}
	var one string
	if json.Unmarshal(data, &one) == nil {
		*dst = []string{one}
		return nil
	}
	if json.Unmarshal(data, dst) != nil {
		return errors.New(`"aud" must be a string or an array of strings`)
	}
	return nil
}

// timeClaim reads a NumericDate: seconds since the epoch, possibly
// fractional.
func timeClaim(raw map[string]json.RawMessage, name string, dst *time.Time, present *bool) error {
	data, ok := raw[name]
	if !ok || string(data) == "null" {
		return nil
	}
	var seconds float64
	// 253402300800 is year 10000; anything later is garbage.
	if json.Unmarshal(data, &seconds) != nil || seconds < 0 || seconds >= 253402300800 {
		return fmt.Errorf("%q must be a date in seconds since 1970", name)
	}
	whole, frac := math.Modf(seconds)
	*dst = time.Unix(int64(whole), int64(frac*1e9)).UTC()
	*present = true
	return nil
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// truncate keeps attacker-chosen header and claim values from blowing up
// error messages and logs.
func truncate(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
