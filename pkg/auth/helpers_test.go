package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// t0 is "now" for tests on a fake clock.
var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// fakeClock is a settable clock for VerifierConfig.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock(now time.Time) *fakeClock { return &fakeClock{now: now} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testKey is a signing key of the fake identity provider.
type testKey struct {
	kid    string
	method jwt.SigningMethod
	priv   crypto.Signer
}

// RSA key generation is slow, so the test binary makes each key once.
var (
	rsaKeyOnce = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })
	ecKeyOnce  = sync.OnceValues(func() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) })
)

func rsaTestKey(t *testing.T) testKey {
	t.Helper()
	priv, err := rsaKeyOnce()
	if err != nil {
		t.Fatal(err)
	}
	return testKey{kid: "rsa-1", method: jwt.SigningMethodRS256, priv: priv}
}

func ecTestKey(t *testing.T) testKey {
	t.Helper()
	priv, err := ecKeyOnce()
	if err != nil {
		t.Fatal(err)
	}
	return testKey{kid: "ec-1", method: jwt.SigningMethodES256, priv: priv}
}

func newECTestKey(t *testing.T, kid string) testKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{kid: kid, method: jwt.SigningMethodES256, priv: priv}
}

// jwksFor returns the public JWKS of keys, each under its own kid.
func jwksFor(t *testing.T, keys ...testKey) []byte {
	t.Helper()
	set := jsonWebKeySet{Keys: []jsonWebKey{}}
	for _, k := range keys {
		jwk, err := publicJWK(k.priv.Public())
		if err != nil {
			t.Fatal(err)
		}
		jwk.Kid = k.kid
		set.Keys = append(set.Keys, jwk)
	}
	data, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// validClaims are claims Verify accepts at t0 with the test verifier's
// issuer and audience.
func validClaims() map[string]any {
	return map[string]any{
		"iss":    "https://idp.example.com",
		"aud":    "dealercare",
		"sub":    "user-42",
		"roles":  []string{"agent"},
		"dealer": "D001",
		"iat":    t0.Add(-time.Minute).Unix(),
		"nbf":    t0.Add(-time.Minute).Unix(),
		"exp":    t0.Add(time.Hour).Unix(),
	}
}

// withClaims returns validClaims changed by edits; a nil value deletes the
// claim.
func withClaims(edits map[string]any) map[string]any {
	c := validClaims()
	for k, v := range edits {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// sign builds a compact JWS: header gets alg from method and kid unless
// header already sets them; key is whatever method.Sign expects.
func sign(t *testing.T, method jwt.SigningMethod, key any, header map[string]any, payload []byte) string {
	t.Helper()
	h := map[string]any{"typ": "JWT", "alg": method.Alg()}
	for k, v := range header {
		h[k] = v
	}
	hb, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	input := b64(hb) + "." + b64(payload)
	sig, err := method.Sign(input, key)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// token signs claims with k under k's kid.
func (k testKey) token(t *testing.T, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return sign(t, k.method, k.priv, map[string]any{"kid": k.kid}, payload)
}

// jwksServer is an identity provider's JWKS endpoint over TLS whose content
// tests change.
type jwksServer struct {
	*httptest.Server
	body   atomic.Pointer[[]byte]
	status atomic.Int32
	hits   atomic.Int32
}

func newJWKSServer(t *testing.T, jwks []byte) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.set(jwks)
	s.status.Store(http.StatusOK)
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if code := int(s.status.Load()); code != http.StatusOK {
			http.Error(w, "unavailable", code)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(*s.body.Load())
	}))
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // TLS handshake failures are a test case
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(jwks []byte) { s.body.Store(&jwks) }

func (s *jwksServer) config(clock *fakeClock) VerifierConfig {
	return VerifierConfig{
		JWKSURL:    s.URL + "/.well-known/jwks.json",
		Issuer:     "https://idp.example.com",
		Audience:   "dealercare",
		HTTPClient: s.Client(),
		Now:        clock.Now,
		Logger:     slog.New(slog.DiscardHandler),
	}
}
