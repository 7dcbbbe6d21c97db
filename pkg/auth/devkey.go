package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Defaults for tokens minted from the dev key; services started by
// `make run` verify with the same values.
const (
	DevIssuer   = "dealercare-dev"
	DevAudience = "dealercare"
)

// Names of the files GenerateDevKeys writes.
const (
	DevSigningKeyFile = "dev-signing-key.pem"
	DevJWKSFile       = "dev-jwks.json"
)

// GenerateDevKeys makes sure dir holds a dev signing key (ES256, P-256,
// PKCS #8 PEM, mode 0600) and the public JWKS services verify it with. An
// existing key is kept, so tokens already minted stay valid across
// `make run`s; the JWKS is rewritten only when a new key was made or it is
// missing. Two processes running it at once end up with the same key.
func GenerateDevKeys(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("auth: create dev key directory: %w", err)
	}
	keyPath := filepath.Join(dir, DevSigningKeyFile)
	created, err := createDevKey(keyPath)
	if err != nil {
		return err
	}
	key, err := LoadSigningKey(keyPath)
	if err != nil {
		return err
	}
	jwksPath := filepath.Join(dir, DevJWKSFile)
	if !created {
		if _, err := os.Stat(jwksPath); err == nil {
			return nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("auth: %w", err)
		}
	}
	jwks, err := key.PublicJWKS()
	if err != nil {
		return err
	}
	if err := writeFileAtomic(jwksPath, jwks, 0o644); err != nil {
		return fmt.Errorf("auth: write %s: %w", jwksPath, err)
	}
	return nil
}

// createDevKey writes a new key to path unless a key is already there. It
// links a complete temporary file into place, so no reader sees half a key
// and a concurrent winner is never overwritten.
func createDevKey(path string) (created bool, err error) {
	if _, err := os.Stat(path); err == nil {
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("auth: %w", err)
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return false, fmt.Errorf("auth: generate dev key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return false, fmt.Errorf("auth: encode dev key: %w", err)
	}
	tmp, err := writeTemp(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	if err != nil {
		return false, fmt.Errorf("auth: write %s: %w", path, err)
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, fmt.Errorf("auth: write %s: %w", path, err)
	}
	return true, nil
}

func writeFileAtomic(path string, data []byte, perm fs.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// writeTemp writes data to a new temporary file next to path and returns
// its name.
func writeTemp(path string, data []byte, perm fs.FileMode) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// SigningKey mints dev tokens. Production tokens come from the identity
// provider; nothing outside `make run`, `make token` and tests should hold
// one.
type SigningKey struct {
	kid  string
	priv *ecdsa.PrivateKey
}

// LoadSigningKey reads an ES256 (P-256) private key in PKCS #8 PEM, as
// written by GenerateDevKeys.
func LoadSigningKey(pemPath string) (*SigningKey, error) {
	data, err := os.ReadFile(pemPath)
	if err != nil {
		return nil, fmt.Errorf("auth: load signing key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("auth: load signing key %s: no PEM block", pemPath)
	}
	if block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf(`auth: load signing key %s: PEM block is %q, want "PRIVATE KEY" (PKCS #8)`, pemPath, block.Type)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("auth: load signing key %s: %w", pemPath, err)
	}
	priv, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || priv.Curve != elliptic.P256() {
		return nil, fmt.Errorf("auth: load signing key %s: not an EC P-256 key, which ES256 needs", pemPath)
	}
	jwk, err := publicJWK(&priv.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("auth: load signing key %s: %w", pemPath, err)
	}
	return &SigningKey{kid: jwk.Kid, priv: priv}, nil
}

// KeyID is the kid of minted tokens: the RFC 7638 thumbprint of the public
// key.
func (k *SigningKey) KeyID() string { return k.kid }

// PublicJWKS returns the JWK Set with the public half of k.
func (k *SigningKey) PublicJWKS() ([]byte, error) {
	jwk, err := publicJWK(&k.priv.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	data, err := json.MarshalIndent(jsonWebKeySet{Keys: []jsonWebKey{jwk}}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("auth: encode JWKS: %w", err)
	}
	return append(data, '\n'), nil
}

// mintedClaims are the claims Verify reads.
type mintedClaims struct {
	jwt.RegisteredClaims
	Roles  []Role `json:"roles"`
	Dealer string `json:"dealer,omitempty"`
	Region string `json:"region,omitempty"`
}

// Mint returns an ES256 token for p, valid from now for ttl. p must pass
// Validate, so the token is one Verify accepts.
func (k *SigningKey) Mint(p Principal, issuer, audience string, ttl time.Duration, now time.Time) (string, error) {
	if err := p.Validate(); err != nil {
		return "", fmt.Errorf("auth: mint: %w", err)
	}
	if issuer == "" || audience == "" {
		return "", errors.New("auth: mint: issuer and audience are required")
	}
	if ttl <= 0 {
		return "", fmt.Errorf("auth: mint: ttl %s is not positive", ttl)
	}
	token := jwt.NewWithClaims(jwt.SigningMethodES256, mintedClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   p.Subject,
			Audience:  jwt.ClaimStrings{audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			ID:        rand.Text(),
		},
		Roles:  p.Roles,
		Dealer: p.Dealer,
		Region: p.Region,
	})
	token.Header["kid"] = k.kid
	signed, err := token.SignedString(k.priv)
	if err != nil {
		return "", fmt.Errorf("auth: mint: %w", err)
	}
	return signed, nil
}
