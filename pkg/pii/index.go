package pii

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
)

// Index computes blind indexes: keyed hashes of a value that can be stored
// next to its ciphertext and searched by equality ("find the customer with
// this ID number") without decrypting every row.
//
// Its key is separate from the encryption keys and, unlike them, cannot
// rotate without recomputing every stored index; it must not leak, or
// low-entropy values (mobiles, ID numbers) can be found by brute force.
type Index struct {
	key []byte
}

// NewIndex builds an Index from a 32-byte key.
func NewIndex(key []byte) (*Index, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("pii: index key has %d bytes, want 32", len(key))
	}
	return &Index{key: append([]byte(nil), key...)}, nil
}

// BlindIndex returns HMAC-SHA256(key, value), 32 bytes. It is deterministic,
// so pass the normalized value (validate.IDNumber, validate.Mobile): "+86
// 138..." and "138..." would otherwise index differently.
func (x *Index) BlindIndex(value string) []byte {
	mac := hmac.New(sha256.New, x.key)
	mac.Write([]byte(value))
	return mac.Sum(nil)
}
