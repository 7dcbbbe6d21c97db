package pii

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
)

// NewRandomKeys returns fresh random keys (one encryption key "k1" and an
// index key), for tests and for the development stack, which keeps them in
// .run/keys so its data stays readable across runs.
func NewRandomKeys() Keys {
	enc, idx := make([]byte, 32), make([]byte, 32)
	_, _ = rand.Read(enc) // never fails since Go 1.24
	_, _ = rand.Read(idx)
	return Keys{Encryption: map[string][]byte{"k1": enc}, Current: "k1", IndexKey: idx}
}

// Env renders the keys as the PII_* variables LoadKeys reads.
func (k Keys) Env() []string {
	ids := k.ids()
	entries := make([]string, 0, len(ids))
	for _, id := range ids {
		entries = append(entries, id+":"+base64.StdEncoding.EncodeToString(k.Encryption[id]))
	}
	return []string{
		"PII_KEYS=" + strings.Join(entries, ","),
		"PII_CURRENT_KEY=" + k.Current,
		"PII_INDEX_KEY=" + base64.StdEncoding.EncodeToString(k.IndexKey),
	}
}
