package pii

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/dealercare/dealercare/pkg/config"
)

var (
	b64k1    = base64.StdEncoding.EncodeToString(testKey(1))
	b64k2    = base64.RawURLEncoding.EncodeToString(testKey(2))
	b64index = base64.StdEncoding.EncodeToString(testKey(3))
)

func TestLoadKeys(t *testing.T) {
	l := config.FromMap(map[string]string{
		"PII_KEYS":        "2024-01:" + b64k1 + ", 2025-01:" + b64k2,
		"PII_CURRENT_KEY": "2025-01",
		"PII_INDEX_KEY":   b64index,
	})
	k := LoadKeys(l)
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	c, err := k.Cipher()
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := c.Encrypt("x")
	if id, _ := KeyID(ct); id != "2025-01" {
		t.Errorf("current key id %q", id)
	}
	if _, err := k.Index(); err != nil {
		t.Fatal(err)
	}
	// Printing or logging the keys shows ids, never key material.
	var log strings.Builder
	slog.New(slog.NewTextHandler(&log, nil)).Info("keys", "keys", k)
	for _, out := range []string{fmt.Sprint(k), fmt.Sprintf("%+v", k), fmt.Sprintf("%#v", k), log.String()} {
		if !strings.Contains(out, "2025-01") || strings.Contains(out, b64k1) || strings.Contains(out, "[1 1 1") ||
			strings.Contains(out, "\x01") {
			t.Errorf("keys printed as %q", out)
		}
	}
}

func TestLoadKeysErrors(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{}, []string{"PII_KEYS is required", "PII_CURRENT_KEY is required", "PII_INDEX_KEY is required"}},
		{map[string]string{"PII_KEYS": b64k1, "PII_CURRENT_KEY": "k1", "PII_INDEX_KEY": b64index},
			[]string{"PII_KEYS: entry 1 must be written id:base64key"}},
		{map[string]string{"PII_KEYS": "k1:not base64!", "PII_CURRENT_KEY": "k1", "PII_INDEX_KEY": b64index},
			[]string{`PII_KEYS: key "k1" is not valid base64`}},
		{map[string]string{"PII_KEYS": "k1:" + base64.StdEncoding.EncodeToString(make([]byte, 16)), "PII_CURRENT_KEY": "k1", "PII_INDEX_KEY": b64index},
			[]string{`PII_KEYS: key "k1" has 16 bytes, want 32`}},
		{map[string]string{"PII_KEYS": "k 1:" + b64k1, "PII_CURRENT_KEY": "k 1", "PII_INDEX_KEY": b64index},
			[]string{`PII_KEYS: key id "k 1" must be`}},
		{map[string]string{"PII_KEYS": "k1:" + b64k1 + ",k1:" + b64k2, "PII_CURRENT_KEY": "k1", "PII_INDEX_KEY": b64index},
			[]string{`PII_KEYS: key id "k1" appears twice`}},
		{map[string]string{"PII_KEYS": "k1:" + b64k1, "PII_CURRENT_KEY": "k2", "PII_INDEX_KEY": b64index},
			[]string{`PII_CURRENT_KEY: "k2" is not a key id in PII_KEYS`}},
		{map[string]string{"PII_KEYS": "k1:" + b64k1, "PII_CURRENT_KEY": "k1", "PII_INDEX_KEY": "%%%"},
			[]string{"PII_INDEX_KEY: is not valid base64"}},
		{map[string]string{"PII_KEYS": "k1:" + b64k1, "PII_CURRENT_KEY": "k1", "PII_INDEX_KEY": base64.StdEncoding.EncodeToString(make([]byte, 8))},
			[]string{"PII_INDEX_KEY: has 8 bytes, want 32"}},
		{map[string]string{"PII_KEYS": "k1:" + b64k1, "PII_CURRENT_KEY": "k1", "PII_INDEX_KEY": b64k1},
			[]string{`PII_INDEX_KEY: must differ from key "k1"`}},
	} {
		l := config.FromMap(c.env)
		LoadKeys(l)
		err := l.Err()
		if err == nil {
			t.Errorf("%v: no error", c.env)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not contain %q", err, w)
			}
		}
		for _, secret := range []string{b64k1, b64k2, b64index} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q shows key material", err)
			}
		}
	}
}
