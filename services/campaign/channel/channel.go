// Package channel holds the campaign's message channels behind one
// interface (campaign.Sender): SMS through a signed HTTP gateway API, email
// over SMTP, WeChat template messages, and callback tasks through the
// callback service. Every adapter passes the message id as the provider's
// idempotency key, so a resend after a crash is the same message.
package channel

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/dealercare/dealercare/services/campaign/campaign"
)

// Sign is the request signature of the SMS gateway (and of its delivery
// receipts): hex HMAC-SHA256 over method, path, timestamp, nonce and the
// body's SHA-256, one per line.
func Sign(secret, method, path, timestamp, nonce string, body []byte) string {
	sum := sha256.Sum256(body)
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%s\n%s\n%s\n%s\n%s", method, path, timestamp, nonce, hex.EncodeToString(sum[:]))
	return hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a signature and that the timestamp is within skew of now.
func Verify(secret, method, path, timestamp, nonce, signature string, body []byte, now time.Time, skew time.Duration) error {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("bad timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > skew || d < -skew {
		return errors.New("timestamp outside the allowed skew")
	}
	want := Sign(secret, method, path, timestamp, nonce, body)
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return errors.New("bad signature")
	}
	return nil
}

// httpError classifies a provider's HTTP answer: 4xx (except 408 and 429)
// will not succeed on a retry.
func httpError(resp *http.Response, what string) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	err := fmt.Errorf("%s: HTTP %d: %s", what, resp.StatusCode, body)
	if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests {
		return fmt.Errorf("%w: %w", campaign.ErrPermanent, err)
	}
	return err
}
