package auth

import (
	"errors"
	"testing"
	"time"
)

// A verified token presented again skips the signature check but not the
// claims: it is refused once it expires, and once the key that signed it
// leaves the JWKS; a token differing in its signature is checked in full.
func TestVerifyTokenCache(t *testing.T) {
	key := ecTestKey(t)
	srv := newJWKSServer(t, jwksFor(t, key))
	clock := newFakeClock(t0)
	cfg := srv.config(clock)
	cfg.Leeway = time.Second
	v, err := NewVerifier(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	token := key.token(t, validClaims())
	for i := range 3 {
		p, err := v.Verify(t.Context(), token)
		if err != nil || p.Subject != "user-42" || p.Dealer != "D001" {
			t.Fatalf("Verify() #%d = %+v, %v", i, p, err)
		}
		p.Roles[0] = "hq_admin" // a caller changing its Principal changes nothing cached
	}
	if n := v.cache.len(); n != 1 {
		t.Errorf("cache holds %d tokens, want 1", n)
	}
	if p, _ := v.Verify(t.Context(), token); p.Roles[0] != RoleAgent {
		t.Errorf("cached principal's roles = %v, want [agent]", p.Roles)
	}

	// A forged signature on the same header and claims misses the cache.
	forged := token[:len(token)-4] + "AAAA"
	if _, err := v.Verify(t.Context(), forged); !errors.Is(err, ErrInvalidSignature) && !errors.Is(err, ErrMalformedToken) {
		t.Errorf("forged token: Verify() = %v, want an invalid signature", err)
	}

	// The key is removed from the JWKS: after the refresh the cached token
	// is refused like any other of that key.
	srv.set(jwksFor(t, newECTestKey(t, "ec-2")))
	v.refreshMu.Lock()
	if err := v.refreshLocked(t.Context()); err != nil {
		t.Fatal(err)
	}
	v.refreshMu.Unlock()
	if _, err := v.Verify(t.Context(), token); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("after the key left the JWKS: Verify() = %v, want ErrUnknownKey", err)
	}

	// Expiry is checked on every use.
	srv.set(jwksFor(t, key))
	v.refreshMu.Lock()
	_ = v.refreshLocked(t.Context())
	v.refreshMu.Unlock()
	if _, err := v.Verify(t.Context(), token); err != nil {
		t.Fatalf("key back: Verify() = %v", err)
	}
	clock.Advance(time.Hour + 2*time.Second)
	if _, err := v.Verify(t.Context(), token); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("expired cached token: Verify() = %v, want ErrTokenExpired", err)
	}
}

func TestTokenCacheIsBounded(t *testing.T) {
	key := ecTestKey(t)
	srv := newJWKSServer(t, jwksFor(t, key))
	cfg := srv.config(newFakeClock(t0))
	cfg.TokenCacheSize = 3
	v, err := NewVerifier(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, err := v.Verify(t.Context(), key.token(t, withClaims(map[string]any{"sub": string(rune('a' + i))}))); err != nil {
			t.Fatal(err)
		}
		if n := v.cache.len(); n > 3 {
			t.Fatalf("cache holds %d tokens, bound 3", n)
		}
	}
	cfg.TokenCacheSize = -1
	off, err := NewVerifier(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := off.Verify(t.Context(), key.token(t, validClaims())); err != nil || off.cache.len() != 0 {
		t.Errorf("cache off: Verify() = %v, cache holds %d", err, off.cache.len())
	}
}
