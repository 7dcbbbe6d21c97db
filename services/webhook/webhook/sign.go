package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Signatures follow Standard Webhooks (standardwebhooks.com), which Svix
// and others verify with published libraries in every language:
//
//	webhook-id:        the event's id, the same on every retry (deduplicate by it)
//	webhook-timestamp: Unix seconds of this attempt
//	webhook-signature: space-separated "v1,<base64 HMAC-SHA256>" entries
//
// The signed content is "<webhook-id>.<webhook-timestamp>.<body>" and the
// HMAC key is the secret's bytes after its "whsec_" prefix, base64-decoded.
// During a secret rotation a delivery carries one signature per valid
// secret, so a receiver holding either verifies it.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"

	secretPrefix = "whsec_"
	secretBytes  = 32
)

// NewSecret returns a fresh signing secret, "whsec_" and 32 random bytes
// in base64.
func NewSecret() string {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}

func secretKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil || !strings.HasPrefix(secret, secretPrefix) {
		return nil, errors.New("webhook: a secret is whsec_ and base64")
	}
	return key, nil
}

// Sign returns the webhook-signature header value for a delivery of body
// with id at ts, one entry per secret.
func Sign(secrets []string, id string, ts time.Time, body []byte) (string, error) {
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		key, err := secretKey(s)
		if err != nil {
			return "", err
		}
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(mac(key, id, ts.Unix(), body)))
	}
	return strings.Join(sigs, " "), nil
}

func mac(key []byte, id string, ts int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "."))
	h.Write(body)
	return h.Sum(nil)
}

// Tolerance is how far a delivery's timestamp may be from the receiver's
// clock before Verify rejects it as a replay.
const Tolerance = 5 * time.Minute

// Verify checks a received delivery's headers against secret, as a
// receiver does: the timestamp within Tolerance of now and one of the
// v1 signatures matching. It is the reference for integrators (and the
// tests' receiver).
func Verify(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := secretKey(secret)
	if err != nil {
		return err
	}
	id, tsText, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature")
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook: bad webhook-timestamp %q", tsText)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > Tolerance || d < -Tolerance {
		return fmt.Errorf("webhook: timestamp %d is %s from now", ts, d.Round(time.Second))
	}
	want := mac(key, id, ts, body)
	for _, s := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("webhook: no signature matches")
}
