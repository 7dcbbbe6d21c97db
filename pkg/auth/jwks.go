package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
)

// Algorithms accepted for signatures. Nothing else is ever accepted: no
// "none", no HMAC (an HMAC "secret" would be the public key, the classic
// algorithm-confusion attack), no RSA-PSS or other curves we have no use for.
const (
	algRS256 = "RS256"
	algES256 = "ES256"
)

// Limits on RSA keys from a JWKS: below 2048 bits is breakable in practice,
// and a huge modulus or exponent would only make verification slow.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

// verificationKey is one usable key of a JWKS, bound to the single
// algorithm it verifies.
type verificationKey struct {
	kid string
	alg string // algRS256 or algES256
	rsa *rsa.PublicKey
	ec  *ecdsa.PublicKey
}

// jsonWebKey is the wire form of a JWK (RFC 7517) with the members this
// package reads or writes.
type jsonWebKey struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid,omitempty"`
	Use    string   `json:"use,omitempty"`
	Alg    string   `json:"alg,omitempty"`
	KeyOps []string `json:"key_ops,omitempty"`
	Crv    string   `json:"crv,omitempty"`
	X      string   `json:"x,omitempty"`
	Y      string   `json:"y,omitempty"`
	N      string   `json:"n,omitempty"`
	E      string   `json:"e,omitempty"`
	// D is private key material (RSA and EC); only read to refuse it.
	D string `json:"d,omitempty"`
}

type jsonWebKeySet struct {
	Keys []jsonWebKey `json:"keys"`
}

// parseJWKS returns the signature keys of a JWK Set by kid. Keys this package
// cannot use (encryption keys, other key types or curves, keys without kid)
// are skipped, because identity providers publish them next to the signing
// keys. A usable key that is malformed, a duplicate kid or private key
// material fail the whole set: a verifier then keeps its previous keys rather
// than guess.
func parseJWKS(data []byte) (map[string]*verificationKey, error) {
	var set struct {
		Keys *[]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("JWKS is not valid JSON: %w", err)
	}
	if set.Keys == nil {
		return nil, errors.New(`JWKS has no "keys" array`)
	}
	keys := make(map[string]*verificationKey)
	for i, raw := range *set.Keys {
		var jwk jsonWebKey
		if err := json.Unmarshal(raw, &jwk); err != nil {
			return nil, fmt.Errorf("JWKS key #%d: %w", i, err)
		}
		if jwk.D != "" {
			return nil, fmt.Errorf("JWKS key #%d (kid %q) contains private key material; publish public keys only", i, jwk.Kid)
		}
		key, err := parseJWK(jwk)
		if err != nil {
			return nil, fmt.Errorf("JWKS key #%d (kid %q): %w", i, jwk.Kid, err)
		}
		if key == nil {
			continue
		}
		if _, dup := keys[key.kid]; dup {
			return nil, fmt.Errorf("JWKS has two signing keys with kid %q", key.kid)
		}
		keys[key.kid] = key
	}
	if len(keys) == 0 {
		return nil, errors.New("JWKS has no usable signing key (RSA for RS256 or EC P-256 for ES256, with a kid)")
	}
	return keys, nil
}

// parseJWK returns nil, nil for a key that is not meant for us.
func parseJWK(jwk jsonWebKey) (*verificationKey, error) {
	if jwk.Kid == "" || (jwk.Use != "" && jwk.Use != "sig") {
		return nil, nil
	}
	if len(jwk.KeyOps) > 0 && !slices.Contains(jwk.KeyOps, "verify") {
		return nil, nil
	}
	switch jwk.Kty {
	case "RSA":
		if jwk.Alg != "" && jwk.Alg != algRS256 {
			return nil, nil
		}
		pub, err := parseRSAKey(jwk.N, jwk.E)
		if err != nil {
			return nil, err
		}
		return &verificationKey{kid: jwk.Kid, alg: algRS256, rsa: pub}, nil
	case "EC":
		if jwk.Crv != "P-256" || (jwk.Alg != "" && jwk.Alg != algES256) {
			return nil, nil
		}
		pub, err := parseP256Key(jwk.X, jwk.Y)
		if err != nil {
			return nil, err
		}
		return &verificationKey{kid: jwk.Kid, alg: algES256, ec: pub}, nil
	default:
		return nil, nil
	}
}

func parseRSAKey(n, e string) (*rsa.PublicKey, error) {
	nb, err := base64.RawURLEncoding.DecodeString(n)
	if err != nil || len(nb) == 0 {
		return nil, errors.New(`RSA modulus "n" is not base64url`)
	}
	eb, err := base64.RawURLEncoding.DecodeString(e)
	if err != nil || len(eb) == 0 {
		return nil, errors.New(`RSA exponent "e" is not base64url`)
	}
	modulus := new(big.Int).SetBytes(nb)
	if bits := modulus.BitLen(); bits < minRSABits || bits > maxRSABits {
		return nil, fmt.Errorf("RSA key has %d bits; between %d and %d are accepted", bits, minRSABits, maxRSABits)
	}
	if modulus.Bit(0) == 0 {
		return nil, errors.New("RSA modulus is even")
	}
	exponent := new(big.Int).SetBytes(eb)
	if exponent.BitLen() > 31 || exponent.Int64() < 3 || exponent.Bit(0) == 0 {
		return nil, fmt.Errorf("RSA exponent %s is not an odd number between 3 and 2^31-1", exponent)
	}
	return &rsa.PublicKey{N: modulus, E: int(exponent.Int64())}, nil
}

func parseP256Key(x, y string) (*ecdsa.PublicKey, error) {
	xb, err := base64.RawURLEncoding.DecodeString(x)
	if err != nil || len(xb) != 32 {
		return nil, errors.New(`EC P-256 coordinate "x" is not 32 bytes of base64url`)
	}
	yb, err := base64.RawURLEncoding.DecodeString(y)
	if err != nil || len(yb) != 32 {
		return nil, errors.New(`EC P-256 coordinate "y" is not 32 bytes of base64url`)
	}
	// ParseUncompressedPublicKey rejects points that are not on the curve,
	// which invalid-curve attacks rely on.
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), slices.Concat([]byte{4}, xb, yb))
	if err != nil {
		return nil, errors.New("EC key is not a point on P-256")
	}
	return pub, nil
}

// publicJWK encodes pub (RSA or EC P-256) as a signature JWK whose kid is its
// RFC 7638 thumbprint.
func publicJWK(pub crypto.PublicKey) (jsonWebKey, error) {
	var jwk jsonWebKey
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		jwk = jsonWebKey{
			Kty: "RSA", Use: "sig", Alg: algRS256,
			N: b64(pub.N.Bytes()),
			E: b64(big.NewInt(int64(pub.E)).Bytes()),
		}
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return jsonWebKey{}, errors.New("EC key is not on P-256")
		}
		point, err := pub.Bytes()
		if err != nil {
			return jsonWebKey{}, fmt.Errorf("encode EC key: %w", err)
		}
		jwk = jsonWebKey{
			Kty: "EC", Use: "sig", Alg: algES256, Crv: "P-256",
			X: b64(point[1:33]), Y: b64(point[33:65]),
		}
	default:
		return jsonWebKey{}, fmt.Errorf("unsupported public key type %T", pub)
	}
	jwk.Kid = thumbprint(jwk)
	return jwk, nil
}

// thumbprint is the RFC 7638 JWK thumbprint (SHA-256, base64url): the hash
// of the required members only, in lexicographic order, without whitespace.
func thumbprint(jwk jsonWebKey) string {
	var canonical string
	switch jwk.Kty {
	case "RSA":
		canonical = fmt.Sprintf(`{"e":%q,"kty":"RSA","n":%q}`, jwk.E, jwk.N)
	case "EC":
		canonical = fmt.Sprintf(`{"crv":%q,"kty":"EC","x":%q,"y":%q}`, jwk.Crv, jwk.X, jwk.Y)
	}
	sum := sha256.Sum256([]byte(canonical))
	return b64(sum[:])
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
