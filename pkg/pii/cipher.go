// Package pii protects customers' personal data: field encryption with
// rotating keys, blind indexes for equality search on encrypted fields,
// masking for display, and logging that never prints a mobile number or an
// ID number in clear (SPEC: customer archive; STYLE: never log personal data).
package pii

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
)

// formatVersion is the first byte of every ciphertext, so the layout can
// change later without guessing.
const formatVersion byte = 1

var (
	// ErrUnknownKey means a ciphertext names a key id the Cipher was not
	// given: a retired key was removed from PII_KEYS too early.
	ErrUnknownKey = errors.New("pii: ciphertext uses an unknown key id")
	// ErrCiphertext means a ciphertext is truncated, not ours, or was
	// modified (the GCM tag does not match).
	ErrCiphertext = errors.New("pii: ciphertext is corrupt or was tampered with")
)

// Cipher encrypts personal data with AES-256-GCM. Every ciphertext carries
// the id of the key that sealed it, so keys rotate without re-encrypting:
// add a new key, make it current, keep the old ones until every row has been
// rewritten (KeyID finds the rows that still need it).
//
// Layout: version (1 byte) | key id length (1 byte) | key id | nonce (12
// bytes, random) | ciphertext | tag (16 bytes). The header is authenticated
// as additional data.
type Cipher struct {
	aeads   map[string]cipher.AEAD
	current string
}

// NewCipher builds a Cipher from 32-byte keys by id; current is the id used
// to encrypt. Key ids are 1 to 64 letters, digits, '-', '_' or '.'.
func NewCipher(keys map[string][]byte, current string) (*Cipher, error) {
	if len(keys) == 0 {
		return nil, errors.New("pii: no encryption keys")
	}
	c := &Cipher{aeads: make(map[string]cipher.AEAD, len(keys)), current: current}
	for id, key := range keys {
		if !validKeyID(id) {
			return nil, fmt.Errorf("pii: key id %q: use 1 to 64 letters, digits, '-', '_' or '.'", id)
		}
		if len(key) != 32 {
			return nil, fmt.Errorf("pii: key %q has %d bytes, want 32 (AES-256)", id, len(key))
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("pii: key %q: %w", id, err)
		}
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, fmt.Errorf("pii: key %q: %w", id, err)
		}
		c.aeads[id] = aead
	}
	if _, ok := c.aeads[current]; !ok {
		return nil, fmt.Errorf("pii: current key %q is not among the keys", current)
	}
	return c, nil
}

func validKeyID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return false
		}
	}
	return true
}

// Encrypt seals plaintext with the current key. Nonces are random, so equal
// plaintexts give different ciphertexts; use BlindIndex to search. With
// 96-bit random nonces a key should seal fewer than 2^32 values.
func (c *Cipher) Encrypt(plaintext string) ([]byte, error) {
	header := make([]byte, 0, 2+len(c.current))
	header = append(header, formatVersion, byte(len(c.current)))
	header = append(header, c.current...)
	return c.aeads[c.current].Seal(header, nil, []byte(plaintext), header), nil
}

// Decrypt opens a ciphertext sealed with any of the Cipher's keys. It
// returns ErrUnknownKey or ErrCiphertext (wrapped).
func (c *Cipher) Decrypt(ciphertext []byte) (string, error) {
	id, header, err := splitHeader(ciphertext)
	if err != nil {
		return "", err
	}
	aead, ok := c.aeads[id]
	if !ok {
		return "", fmt.Errorf("%w %q", ErrUnknownKey, id)
	}
	plain, err := aead.Open(nil, nil, ciphertext[len(header):], header)
	if err != nil {
		return "", fmt.Errorf("%w (key %q)", ErrCiphertext, id)
	}
	return string(plain), nil
}

// KeyID returns the id of the key that sealed ciphertext, so a rotation job
// can find and rewrite values not yet under the current key.
func KeyID(ciphertext []byte) (string, error) {
	id, _, err := splitHeader(ciphertext)
	return id, err
}

// CurrentKeyID is the id new ciphertexts are sealed with.
func (c *Cipher) CurrentKeyID() string { return c.current }

func splitHeader(ct []byte) (id string, header []byte, err error) {
	if len(ct) < 2 || ct[0] != formatVersion {
		return "", nil, fmt.Errorf("%w: unknown format", ErrCiphertext)
	}
	n := 2 + int(ct[1])
	if ct[1] == 0 || len(ct) < n {
		return "", nil, fmt.Errorf("%w: truncated header", ErrCiphertext)
	}
	return string(ct[2:n]), ct[:n], nil
}
