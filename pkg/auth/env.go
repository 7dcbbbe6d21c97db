package auth

import (
	"time"

	"github.com/dealercare/dealercare/pkg/config"
)

// LoadVerifierConfig reads AUTH_JWKS_URL (an https URL or a file path),
// AUTH_ISSUER, AUTH_AUDIENCE (all required: a default issuer would trust
// dev tokens in production) and AUTH_LEEWAY. Every process that verifies
// tokens (the gateway and each service) reads the same variables.
func LoadVerifierConfig(l *config.Loader) VerifierConfig {
	return VerifierConfig{
		JWKSURL:  l.Required("AUTH_JWKS_URL"),
		Issuer:   l.Required("AUTH_ISSUER"),
		Audience: l.Required("AUTH_AUDIENCE"),
		Leeway:   l.Duration("AUTH_LEEWAY", 30*time.Second),
		// Verified tokens remembered by hash; -1 turns the cache off.
		TokenCacheSize: l.Int("AUTH_TOKEN_CACHE_SIZE", DefaultTokenCacheSize),
	}
}
