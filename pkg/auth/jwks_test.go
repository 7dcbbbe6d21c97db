package auth

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

func TestParseJWKS(t *testing.T) {
	rsaJWK, err := publicJWK(rsaTestKey(t).priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	ecJWK, err := publicJWK(ecTestKey(t).priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	set := func(edits ...func(rsa, ec *map[string]any)) string {
		r, e := toMap(t, rsaJWK), toMap(t, ecJWK)
		for _, edit := range edits {
			edit(&r, &e)
		}
		return string(mustJSON(t, map[string]any{"keys": []any{r, e}}))
	}
	tests := []struct {
		name     string
		jwks     string
		wantKids []string // usable kids, in any order
		wantErr  string
	}{
		{name: "RSA and EC", jwks: set(), wantKids: []string{rsaJWK.Kid, ecJWK.Kid}},
		{name: "without use and alg", jwks: set(func(r, e *map[string]any) {
			delete(*r, "use")
			delete(*r, "alg")
			delete(*e, "use")
			delete(*e, "alg")
		}), wantKids: []string{rsaJWK.Kid, ecJWK.Kid}},
		{name: "encryption key skipped", jwks: set(func(r, _ *map[string]any) { (*r)["use"] = "enc" }), wantKids: []string{ecJWK.Kid}},
		{name: "key_ops without verify skipped", jwks: set(func(r, _ *map[string]any) { (*r)["key_ops"] = []string{"encrypt"} }), wantKids: []string{ecJWK.Kid}},
		{name: "RSA key for RS512 skipped", jwks: set(func(r, _ *map[string]any) { (*r)["alg"] = "RS512" }), wantKids: []string{ecJWK.Kid}},
		{name: "key without kid skipped", jwks: set(func(_, e *map[string]any) { delete(*e, "kid") }), wantKids: []string{rsaJWK.Kid}},
		{name: "P-384 key skipped", jwks: set(func(_, e *map[string]any) { (*e)["crv"] = "P-384" }), wantKids: []string{rsaJWK.Kid}},
		{name: "symmetric and OKP keys skipped", jwks: `{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"},{"kty":"OKP","kid":"o","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},` + strings.TrimPrefix(set(), `{"keys":[`),
			wantKids: []string{rsaJWK.Kid, ecJWK.Kid}},
		{name: "not JSON", jwks: `keys`, wantErr: "JWKS is not valid JSON"},
		{name: "no keys member", jwks: `{"kty":"RSA"}`, wantErr: `JWKS has no "keys" array`},
		{name: "empty", jwks: `{"keys":[]}`, wantErr: "JWKS has no usable signing key"},
		{name: "only unusable keys", jwks: `{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}`, wantErr: "JWKS has no usable signing key"},
		{name: "private key material", jwks: set(func(_, e *map[string]any) { (*e)["d"] = "c2VjcmV0" }), wantErr: "contains private key material"},
		{name: "duplicate kid", jwks: set(func(r, e *map[string]any) { (*e)["kid"] = (*r)["kid"] }), wantErr: "two signing keys with kid"},
		{name: "RSA modulus too short", jwks: set(func(r, _ *map[string]any) { (*r)["n"] = b64(make([]byte, 128)) }), wantErr: "RSA key has 0 bits"},
		{name: "RSA 1024 bits", jwks: set(func(r, _ *map[string]any) {
			n := make([]byte, 128)
			n[0], n[127] = 0x80, 1
			(*r)["n"] = b64(n)
		}), wantErr: "RSA key has 1024 bits; between 2048 and 8192 are accepted"},
		{name: "RSA exponent 1", jwks: set(func(r, _ *map[string]any) { (*r)["e"] = "AQ" }), wantErr: "RSA exponent 1 is not an odd number"},
		{name: "RSA exponent even", jwks: set(func(r, _ *map[string]any) { (*r)["e"] = "AQAA" }), wantErr: "RSA exponent 65536 is not an odd number"},
		{name: "RSA modulus not base64url", jwks: set(func(r, _ *map[string]any) { (*r)["n"] = "a+b/" }), wantErr: `RSA modulus "n" is not base64url`},
		{name: "EC point not on the curve", jwks: set(func(_, e *map[string]any) {
			y, err := base64.RawURLEncoding.DecodeString((*e)["y"].(string))
			if err != nil {
				t.Fatal(err)
			}
			y[31] ^= 1
			(*e)["y"] = b64(y)
		}), wantErr: "EC key is not a point on P-256"},
		{name: "EC coordinate short", jwks: set(func(_, e *map[string]any) { (*e)["x"] = b64(make([]byte, 31)) }), wantErr: `coordinate "x" is not 32 bytes`},
		{name: "key member of the wrong type", jwks: set(func(_, e *map[string]any) { (*e)["x"] = 5 }), wantErr: "JWKS key #1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := parseJWKS([]byte(tt.jwks))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseJWKS() error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseJWKS() error = %v", err)
			}
			if len(keys) != len(tt.wantKids) {
				t.Fatalf("parseJWKS() = %d keys, want %v", len(keys), tt.wantKids)
			}
			for _, kid := range tt.wantKids {
				if keys[kid] == nil {
					t.Errorf("parseJWKS() has no key %q", kid)
				}
			}
		})
	}
}

func toMap(t *testing.T, jwk jsonWebKey) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(mustJSON(t, jwk), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestThumbprint checks known thumbprints and that publicJWK
// round-trips through parseJWKS under the thumbprint kid.
func TestThumbprint(t *testing.T) {
	rfc := jsonWebKey{
		Kty: "RSA",
		E:   "AQAB",
		N:   "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
		Kid: "2011-04-29", Alg: "RS256", Use: "sig", // optional members do not count
	}
	if got, want := thumbprint(rfc), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Fatalf("thumbprint(RFC 7638 example) = %s, want %s", got, want)
	}
	// The EC example key of RFC 7517 appendix A.1; the expected value is
	// the one other JOSE libraries compute for it.
	ec := jsonWebKey{Kty: "EC", Crv: "P-256", X: "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4", Y: "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM", Kid: "1", Use: "enc"}
	if got, want := thumbprint(ec), "cn-I_WNMClehiVp51i_0VpOENW1upEerA8sEam5hn-s"; got != want {
		t.Fatalf("thumbprint(RFC 7517 EC example) = %s, want %s", got, want)
	}
	pub, err := parseRSAKey(rfc.N, rfc.E)
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := publicJWK(pub)
	if err != nil {
		t.Fatal(err)
	}
	if jwk.Kid != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Fatalf("publicJWK(RFC 7638 example).Kid = %s", jwk.Kid)
	}

	for _, k := range []testKey{rsaTestKey(t), ecTestKey(t)} {
		jwk, err := publicJWK(k.priv.Public())
		if err != nil {
			t.Fatal(err)
		}
		keys, err := parseJWKS(mustJSON(t, jsonWebKeySet{Keys: []jsonWebKey{jwk}}))
		if err != nil {
			t.Fatal(err)
		}
		got := keys[jwk.Kid]
		if got == nil || got.alg != k.method.Alg() {
			t.Fatalf("parseJWKS(publicJWK(%s key)) = %v, want a %s key under kid %s", k.method.Alg(), keys, k.method.Alg(), jwk.Kid)
		}
	}
}
