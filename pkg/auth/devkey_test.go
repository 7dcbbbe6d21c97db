package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestGenerateDevKeysIdempotent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dev")
	keyPath, jwksPath := filepath.Join(dir, DevSigningKeyFile), filepath.Join(dir, DevJWKSFile)
	if err := GenerateDevKeys(dir); err != nil {
		t.Fatal(err)
	}
	key1, jwks1 := readFile(t, keyPath), readFile(t, jwksPath)
	if info, err := os.Stat(keyPath); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("signing key mode = %v, %v; want 0600", info.Mode().Perm(), err)
	}

	if err := GenerateDevKeys(dir); err != nil {
		t.Fatal(err)
	}
	if key2 := readFile(t, keyPath); key2 != key1 {
		t.Fatal("second GenerateDevKeys replaced the signing key")
	}
	if jwks2 := readFile(t, jwksPath); jwks2 != jwks1 {
		t.Fatal("second GenerateDevKeys rewrote the JWKS")
	}

	// A lost JWKS is rebuilt from the kept key.
	if err := os.Remove(jwksPath); err != nil {
		t.Fatal(err)
	}
	if err := GenerateDevKeys(dir); err != nil {
		t.Fatal(err)
	}
	if readFile(t, keyPath) != key1 || readFile(t, jwksPath) != jwks1 {
		t.Fatal("GenerateDevKeys did not rebuild the same JWKS from the kept key")
	}

	// A lost key means a new key, and the stale JWKS is replaced.
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	if err := GenerateDevKeys(dir); err != nil {
		t.Fatal(err)
	}
	if readFile(t, keyPath) == key1 || readFile(t, jwksPath) == jwks1 {
		t.Fatal("GenerateDevKeys did not replace a JWKS whose key is gone")
	}
	key, err := LoadSigningKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(readFile(t, jwksPath), `"kid": "`+key.KeyID()+`"`) {
		t.Fatalf("JWKS does not hold the new key %s:\n%s", key.KeyID(), readFile(t, jwksPath))
	}
}

// TestGenerateDevKeysConcurrent: `make run` and `make token` may start
// together. Once GenerateDevKeys has returned to a caller, the key it left
// must stay (a token minted with it must keep verifying), and the JWKS must
// match it.
func TestGenerateDevKeysConcurrent(t *testing.T) {
	for range 20 {
		dir := t.TempDir()
		keyPath := filepath.Join(dir, DevSigningKeyFile)
		kids := make(chan string, 8)
		var wg sync.WaitGroup
		for range cap(kids) {
			wg.Go(func() {
				if err := GenerateDevKeys(dir); err != nil {
					t.Error(err)
					return
				}
				key, err := LoadSigningKey(keyPath)
				if err != nil {
					t.Error(err)
					return
				}
				kids <- key.KeyID()
			})
		}
		wg.Wait()
		close(kids)
		key, err := LoadSigningKey(keyPath)
		if err != nil {
			t.Fatal(err)
		}
		for kid := range kids {
			if kid != key.KeyID() {
				t.Fatalf("a caller saw key %s, later replaced by %s", kid, key.KeyID())
			}
		}
		keys, err := parseJWKS([]byte(readFile(t, filepath.Join(dir, DevJWKSFile))))
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 1 || keys[key.KeyID()] == nil {
			t.Fatalf("JWKS keys %v do not match the signing key %s", keys, key.KeyID())
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 2 {
			t.Fatalf("dev key directory holds %d files, want 2 (temporary files left behind?)", len(entries))
		}
	}
}

// TestMintVerifyRoundTrip: tokens from the dev key verify against the dev
// JWKS file, by path and by file:// URL, as `make run` wires them.
func TestMintVerifyRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if err := GenerateDevKeys(dir); err != nil {
		t.Fatal(err)
	}
	key, err := LoadSigningKey(filepath.Join(dir, DevSigningKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	jwksPath := filepath.Join(dir, DevJWKSFile)
	now := time.Now()
	principals := []Principal{
		{Subject: "agent-1", Roles: []Role{RoleAgent}, Dealer: "D001"},
		{Subject: "rm-1", Roles: []Role{RoleRegionManager}, Region: "EAST"},
		{Subject: "hq-1", Roles: []Role{RoleHQAnalyst, RoleHQAdmin}},
	}
	for _, url := range []string{jwksPath, "file://" + jwksPath} {
		v, err := NewVerifier(t.Context(), VerifierConfig{JWKSURL: url, Issuer: DevIssuer, Audience: DevAudience})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range principals {
			token, err := key.Mint(p, DevIssuer, DevAudience, time.Hour, now)
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Verify(t.Context(), token)
			if err != nil {
				t.Fatalf("%s: Verify(Mint(%+v)) = %v", url, p, err)
			}
			if !equalPrincipal(got, &p) {
				t.Fatalf("%s: Verify(Mint(%+v)) = %+v", url, p, got)
			}
		}
		expired, err := key.Mint(principals[0], DevIssuer, DevAudience, time.Minute, now.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(t.Context(), expired); !errors.Is(err, ErrTokenExpired) {
			t.Fatalf("%s: Verify(expired) = %v, want ErrTokenExpired", url, err)
		}
	}
}

func TestMintRejects(t *testing.T) {
	dir := t.TempDir()
	if err := GenerateDevKeys(dir); err != nil {
		t.Fatal(err)
	}
	key, err := LoadSigningKey(filepath.Join(dir, DevSigningKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	valid := Principal{Subject: "u", Roles: []Role{RoleHQAdmin}}
	tests := []struct {
		name             string
		p                Principal
		issuer, audience string
		ttl              time.Duration
		wantErr          string
	}{
		{"agent without dealer", Principal{Subject: "u", Roles: []Role{RoleAgent}}, DevIssuer, DevAudience, time.Hour, `role "agent" requires a "dealer" claim`},
		{"unknown role", Principal{Subject: "u", Roles: []Role{"root"}}, DevIssuer, DevAudience, time.Hour, `unknown role "root"`},
		{"no issuer", valid, "", DevAudience, time.Hour, "issuer and audience are required"},
		{"no audience", valid, DevIssuer, "", time.Hour, "issuer and audience are required"},
		{"zero ttl", valid, DevIssuer, DevAudience, 0, "ttl 0s is not positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, err := key.Mint(tt.p, tt.issuer, tt.audience, tt.ttl, t0)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Mint() = %q, %v; want error containing %q", token, err, tt.wantErr)
			}
		})
	}
}

func TestLoadSigningKeyErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	rsaDER, err := x509.MarshalPKCS8PrivateKey(rsaTestKey(t).priv)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384DER, err := x509.MarshalPKCS8PrivateKey(p384)
	if err != nil {
		t.Fatal(err)
	}
	sec1DER, err := x509.MarshalECPrivateKey(ecTestKey(t).priv.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		wantErr string
	}{
		{"missing", filepath.Join(dir, "nope.pem"), "no such file or directory"},
		{"not PEM", write("garbage.pem", []byte("hello")), "no PEM block"},
		{"SEC 1 instead of PKCS #8", write("sec1.pem", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1DER})), `PEM block is "EC PRIVATE KEY", want "PRIVATE KEY" (PKCS #8)`},
		{"RSA key", write("rsa.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: rsaDER})), "not an EC P-256 key"},
		{"P-384 key", write("p384.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p384DER})), "not an EC P-256 key"},
		{"corrupt PKCS #8", write("corrupt.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}})), "load signing key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := LoadSigningKey(tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("LoadSigningKey() = %v, %v; want error containing %q", key, err, tt.wantErr)
			}
		})
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
