package pii

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/dealercare/dealercare/pkg/config"
)

// Keys is the key material read from the environment.
type Keys struct {
	Encryption map[string][]byte // by id; PII_KEYS
	Current    string            // id that encrypts; PII_CURRENT_KEY
	IndexKey   []byte            // blind index key; PII_INDEX_KEY
}

// LoadKeys reads PII_KEYS (comma-separated id:base64key, 32-byte keys),
// PII_CURRENT_KEY (one of those ids) and PII_INDEX_KEY (base64, 32 bytes,
// different from every encryption key). All three are required: a default
// key would encrypt production data with a published secret. Problems are
// recorded in l and name the variable, never the key material; check
// l.Err() before using the result.
func LoadKeys(l *config.Loader) Keys {
	k := Keys{Encryption: map[string][]byte{}}
	if l.Required("PII_KEYS") != "" {
		for i, entry := range l.List("PII_KEYS", nil) {
			id, b64, ok := strings.Cut(entry, ":")
			id = strings.TrimSpace(id)
			switch key, err := decodeKey(b64); {
			case !ok:
				l.Check(false, "PII_KEYS", "entry %d must be written id:base64key", i+1)
			case !validKeyID(id):
				l.Check(false, "PII_KEYS", "key id %q must be 1 to 64 letters, digits, '-', '_' or '.'", id)
			case k.Encryption[id] != nil:
				l.Check(false, "PII_KEYS", "key id %q appears twice", id)
			case err != nil:
				l.Check(false, "PII_KEYS", "key %q is not valid base64", id)
			case len(key) != 32:
				l.Check(false, "PII_KEYS", "key %q has %d bytes, want 32 (AES-256)", id, len(key))
			default:
				k.Encryption[id] = key
			}
		}
	}
	k.Current = l.Required("PII_CURRENT_KEY")
	if k.Current != "" && len(k.Encryption) > 0 {
		l.Check(k.Encryption[k.Current] != nil, "PII_CURRENT_KEY", "%q is not a key id in PII_KEYS", k.Current)
	}
	if v := l.Required("PII_INDEX_KEY"); v != "" {
		key, err := decodeKey(v)
		switch {
		case err != nil:
			l.Check(false, "PII_INDEX_KEY", "is not valid base64")
		case len(key) != 32:
			l.Check(false, "PII_INDEX_KEY", "has %d bytes, want 32", len(key))
		default:
			for id, ek := range k.Encryption {
				l.Check(!bytes.Equal(ek, key), "PII_INDEX_KEY", "must differ from key %q in PII_KEYS", id)
			}
			k.IndexKey = key
		}
	}
	return k
}

// decodeKey accepts standard or URL-safe base64, padded or not.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		var b []byte
		if b, err = enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, err
}

// Cipher builds the Cipher of these keys.
func (k Keys) Cipher() (*Cipher, error) { return NewCipher(k.Encryption, k.Current) }

// Index builds the blind Index of these keys.
func (k Keys) Index() (*Index, error) { return NewIndex(k.IndexKey) }

// String names the key ids only, so printing or logging Keys by mistake
// does not leak key material.
func (k Keys) String() string {
	return fmt.Sprintf("pii.Keys{ids: %v, current: %q}", k.ids(), k.Current)
}

// GoString is String, for %#v.
func (k Keys) GoString() string { return k.String() }

// LogValue names the key ids only.
func (k Keys) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("ids", k.ids()), slog.String("current", k.Current))
}

func (k Keys) ids() []string {
	ids := make([]string, 0, len(k.Encryption))
	for id := range k.Encryption {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
