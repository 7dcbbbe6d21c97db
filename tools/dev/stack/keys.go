package stack

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/pii"
)

// JWKSPath is the public key set services verify dev tokens with
// (AUTH_JWKS_URL).
func JWKSPath(keysDir string) string { return filepath.Join(keysDir, auth.DevJWKSFile) }

// MintDevToken returns a token for p signed with the dev key in keysDir,
// creating the key first if it is missing, with the issuer and audience
// `devstack run` configures the services with.
func MintDevToken(keysDir string, p auth.Principal, ttl time.Duration) (string, error) {
	if err := auth.GenerateDevKeys(keysDir); err != nil {
		return "", fmt.Errorf("dev keys in %s: %w", keysDir, err)
	}
	key, err := auth.LoadSigningKey(filepath.Join(keysDir, auth.DevSigningKeyFile))
	if err != nil {
		return "", err
	}
	token, err := key.Mint(p, auth.DevIssuer, auth.DevAudience, ttl, time.Now())
	if err != nil {
		return "", err
	}
	return token, nil
}

// writeSecret writes a token or similar file readable by the owner only.
func writeSecret(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// WriteFile keeps the mode of an existing file.
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// devPIIKeys returns the PII_* variables of the dev stack, generating the
// keys once into keysDir/pii.env: the dev database's encrypted ID numbers
// stay readable across runs.
func devPIIKeys(keysDir string) ([]string, error) {
	path := filepath.Join(keysDir, "pii.env")
	if b, err := os.ReadFile(path); err == nil {
		return strings.Fields(string(b)), nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	env := pii.NewRandomKeys().Env()
	if err := writeSecret(path, strings.Join(env, "\n")+"\n"); err != nil {
		return nil, err
	}
	return env, nil
}
