// Package authtest is a throwaway identity provider for tests: development
// keys in a temporary folder, the verifier settings that trust them, tokens
// for any principal, and a file holding a "service"-role token, as the
// processes read SERVICE_TOKEN_FILE.
package authtest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/auth"
)

// TokenTTL is how long the tokens it mints are valid: longer than any test.
const TokenTTL = 2 * time.Hour

// Issuer signs tokens the Config's verifier accepts.
type Issuer struct {
	Key *auth.SigningKey
	// Config verifies the tokens (AUTH_JWKS_URL is the JWKS file).
	Config auth.VerifierConfig
	// ServiceTokenFile holds a token of the "service" role.
	ServiceTokenFile string
}

// New generates keys in a temporary folder of t.
func New(t testing.TB) *Issuer {
	t.Helper()
	dir := t.TempDir()
	if err := auth.GenerateDevKeys(dir); err != nil {
		t.Fatal(err)
	}
	key, err := auth.LoadSigningKey(filepath.Join(dir, auth.DevSigningKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	i := &Issuer{
		Key:              key,
		Config:           auth.VerifierConfig{JWKSURL: filepath.Join(dir, auth.DevJWKSFile), Issuer: auth.DevIssuer, Audience: auth.DevAudience},
		ServiceTokenFile: filepath.Join(dir, "service.token"),
	}
	svc := i.Token(t, auth.Principal{Subject: "svc", Roles: []auth.Role{auth.RoleService}})
	if err := os.WriteFile(i.ServiceTokenFile, []byte(svc), 0o600); err != nil {
		t.Fatal(err)
	}
	return i
}

// Token is a token for p, valid from now for TokenTTL.
func (i *Issuer) Token(t testing.TB, p auth.Principal) string {
	t.Helper()
	tok, err := i.Key.Mint(p, auth.DevIssuer, auth.DevAudience, TokenTTL, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
