package auth

import (
	"crypto/sha256"
	"sync"
)

// DefaultTokenCacheSize is how many verified tokens a Verifier remembers
// unless VerifierConfig.TokenCacheSize says otherwise.
const DefaultTokenCacheSize = 10_000

// tokenCache remembers tokens whose signature a Verifier has checked, by
// the SHA-256 of the whole compact token, so the same token presented
// again (every request of a session, and again at each service behind the
// gateway) skips the RSA/ECDSA verification. Only the signature check is
// skipped: a hit's claims are checked again against the clock (expiry,
// not-before), and it counts only while the JWKS still holds the very key
// that verified it, so a key removed from the JWKS (revoked) stops its
// tokens at the next refresh as before. A forged token never gets in: an
// entry is written only after its signature verified, and a token
// differing in any byte has another hash.
type tokenCache struct {
	mu      sync.Mutex
	size    int
	entries map[[sha256.Size]byte]tokenCacheEntry
}

type tokenCacheEntry struct {
	key    *verificationKey // the key that verified the signature
	claims *tokenClaims
}

func newTokenCache(size int) *tokenCache {
	if size <= 0 {
		return nil
	}
	return &tokenCache{size: size, entries: make(map[[sha256.Size]byte]tokenCacheEntry)}
}

// get returns the claims of a token verified by key, if current is still
// that key.
func (c *tokenCache) get(sum [sha256.Size]byte, current map[string]*verificationKey) (*tokenClaims, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	e, ok := c.entries[sum]
	c.mu.Unlock()
	if !ok || current[e.key.kid] != e.key {
		return nil, false
	}
	return e.claims, true
}

// put remembers a verified token. When full it drops an arbitrary entry
// (Go's map iteration starts at a random one), so the cache stays bounded
// without bookkeeping on every hit; expired entries are dropped first.
func (c *tokenCache) put(sum [sha256.Size]byte, key *verificationKey, claims *tokenClaims, expired func(*tokenClaims) bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.size {
		dropped := 0
		for k, e := range c.entries {
			if expired(e.claims) || dropped == 0 {
				delete(c.entries, k)
				dropped++
			}
			if dropped >= 16 {
				break
			}
		}
	}
	c.entries[sum] = tokenCacheEntry{key: key, claims: claims}
}

func (c *tokenCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
