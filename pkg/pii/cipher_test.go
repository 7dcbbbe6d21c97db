package pii

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func mustCipher(t *testing.T, keys map[string][]byte, current string) *Cipher {
	t.Helper()
	c, err := NewCipher(keys, current)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCipherRoundTrip(t *testing.T) {
	c := mustCipher(t, map[string][]byte{"k1": testKey(1)}, "k1")
	for _, plain := range []string{"", "110101199003071233", "+8613812345678", "北京市朝阳区建国路88号", strings.Repeat("x", 10000)} {
		ct, err := c.Encrypt(plain)
		if err != nil {
			t.Fatal(err)
		}
		if len(plain) > 3 && bytes.Contains(ct, []byte(plain)) {
			t.Errorf("ciphertext contains the plaintext %q", plain)
		}
		got, err := c.Decrypt(ct)
		if err != nil || got != plain {
			t.Errorf("Decrypt(Encrypt(%.20q)) = %.20q, %v", plain, got, err)
		}
	}
	a, _ := c.Encrypt("same")
	b, _ := c.Encrypt("same")
	if bytes.Equal(a, b) {
		t.Error("equal plaintexts gave equal ciphertexts; nonces are not random")
	}
}

func TestCipherTamperDetection(t *testing.T) {
	c := mustCipher(t, map[string][]byte{"k1": testKey(1), "k2": testKey(2)}, "k1")
	ct, err := c.Encrypt("110101199003071233")
	if err != nil {
		t.Fatal(err)
	}
	// Flipping any bit of header, nonce, body or tag must fail.
	for i := range ct {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(ct)
			bad[i] ^= bit
			if got, err := c.Decrypt(bad); err == nil {
				t.Fatalf("byte %d ^ %#x: decrypted to %q", i, bit, got)
			} else if !errors.Is(err, ErrCiphertext) && !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("byte %d: error %v is neither ErrCiphertext nor ErrUnknownKey", i, err)
			}
		}
	}
	// The key id is authenticated: relabelling a k1 ciphertext as k2 fails
	// even though k2 is known.
	relabelled := bytes.Clone(ct)
	relabelled[3] = '2'
	if _, err := c.Decrypt(relabelled); !errors.Is(err, ErrCiphertext) {
		t.Errorf("relabelled ciphertext: %v, want ErrCiphertext", err)
	}
	for _, bad := range [][]byte{nil, {}, {formatVersion}, {2, 2, 'k', '1'}, {formatVersion, 0}, {formatVersion, 5, 'k'}, ct[:4], ct[:len(ct)-1]} {
		if _, err := c.Decrypt(bad); !errors.Is(err, ErrCiphertext) {
			t.Errorf("Decrypt(%v) = %v, want ErrCiphertext", bad, err)
		}
	}
}

func TestCipherKeyRotation(t *testing.T) {
	old := mustCipher(t, map[string][]byte{"2024-01": testKey(1)}, "2024-01")
	ctOld, _ := old.Encrypt("+8613812345678")

	rotated := mustCipher(t, map[string][]byte{"2024-01": testKey(1), "2025-01": testKey(2)}, "2025-01")
	if got, err := rotated.Decrypt(ctOld); err != nil || got != "+8613812345678" {
		t.Fatalf("old ciphertext after rotation: %q, %v", got, err)
	}
	ctNew, _ := rotated.Encrypt("+8613812345678")
	for ct, want := range map[string]string{string(ctOld): "2024-01", string(ctNew): "2025-01"} {
		if id, err := KeyID([]byte(ct)); err != nil || id != want {
			t.Errorf("KeyID = %q, %v; want %q", id, err, want)
		}
	}
	if rotated.CurrentKeyID() != "2025-01" {
		t.Errorf("CurrentKeyID = %q", rotated.CurrentKeyID())
	}
	// A process that has not got the new key yet cannot read new values,
	// and says which key is missing.
	_, err := old.Decrypt(ctNew)
	if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), `"2025-01"`) {
		t.Errorf("Decrypt with a missing key id: %v", err)
	}
	// The same id with other key material fails authentication.
	impostor := mustCipher(t, map[string][]byte{"2024-01": testKey(9)}, "2024-01")
	if _, err := impostor.Decrypt(ctOld); !errors.Is(err, ErrCiphertext) {
		t.Errorf("Decrypt with the wrong key material: %v, want ErrCiphertext", err)
	}
}

func TestNewCipherErrors(t *testing.T) {
	for _, c := range []struct {
		keys    map[string][]byte
		current string
		want    string
	}{
		{nil, "k1", "no encryption keys"},
		{map[string][]byte{"k1": make([]byte, 16)}, "k1", `key "k1" has 16 bytes, want 32`},
		{map[string][]byte{"k:1": testKey(1)}, "k:1", `key id "k:1"`},
		{map[string][]byte{"": testKey(1)}, "", `key id ""`},
		{map[string][]byte{strings.Repeat("k", 65): testKey(1)}, "k", "1 to 64"},
		{map[string][]byte{"k1": testKey(1)}, "k2", `current key "k2" is not among the keys`},
	} {
		if _, err := NewCipher(c.keys, c.current); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewCipher(%v, %q) = %v, want %q", len(c.keys), c.current, err, c.want)
		}
	}
	if _, err := KeyID([]byte{9}); !errors.Is(err, ErrCiphertext) {
		t.Errorf("KeyID of garbage: %v", err)
	}
}

func TestBlindIndex(t *testing.T) {
	key := testKey(7)
	x, err := NewIndex(key)
	if err != nil {
		t.Fatal(err)
	}
	key[0] = 0 // the Index keeps its own copy
	a1, a2 := x.BlindIndex("110101199003071233"), x.BlindIndex("110101199003071233")
	if !bytes.Equal(a1, a2) || len(a1) != 32 {
		t.Fatalf("same value: %x, %x", a1, a2)
	}
	if bytes.Equal(a1, x.BlindIndex("110101199003071241")) {
		t.Error("different values share an index")
	}
	same, _ := NewIndex(testKey(7))
	if !bytes.Equal(a1, same.BlindIndex("110101199003071233")) {
		t.Error("index depends on the caller's key slice after NewIndex")
	}
	other, _ := NewIndex(testKey(8))
	if bytes.Equal(a1, other.BlindIndex("110101199003071233")) {
		t.Error("index does not depend on the key")
	}
	if _, err := NewIndex(make([]byte, 31)); err == nil {
		t.Error("NewIndex accepted a 31-byte key")
	}
}
