package chaos

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// client calls the REST API as a real client does: every mutating call
// carries an Idempotency-Key, and a call that fails in a way that says
// "try again" (no answer, 5xx, 408, 429, or 409 ABORTED for a key still in
// flight) is sent again with the same key, with backoff, until it gets an
// answer or RetryFor passes.
type client struct {
	base     string
	http     *http.Client
	retryFor time.Duration

	requests atomic.Int64 // HTTP requests sent
	retried  atomic.Int64 // calls that needed more than one request
	resent   atomic.Int64 // requests that were retries
}

func newClient(base string) *client {
	return &client{
		base:     base,
		http:     &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		retryFor: 4 * time.Minute,
	}
}

// apiError is a final, non-retryable answer.
type apiError struct {
	Status int
	Body   string
}

func (e *apiError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body) }

func newKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var marshal = protojson.MarshalOptions{}
var unmarshal = protojson.UnmarshalOptions{DiscardUnknown: true}

// call sends method path with body (a proto message, or nil) as token and
// decodes a 200 answer into out (or ignores it when out is nil).
func (c *client) call(ctx context.Context, method, path, token string, body proto.Message, out proto.Message) error {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = marshal.Marshal(body); err != nil {
			return err
		}
	}
	key := ""
	if method != http.MethodGet {
		key = newKey()
	}
	deadline := time.Now().Add(c.retryFor)
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		status, answer, err := c.send(ctx, method, path, token, key, raw)
		if err == nil && status == http.StatusOK {
			if attempt > 1 {
				c.retried.Add(1)
			}
			if out == nil {
				return nil
			}
			return unmarshal.Unmarshal(answer, out)
		}
		if err == nil && !retryable(status, answer) {
			return &apiError{Status: status, Body: string(answer)}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("%s %s: no answer after %s: %w", method, path, c.retryFor, err)
			}
			return fmt.Errorf("%s %s: still HTTP %d after %s: %s", method, path, status, c.retryFor, answer)
		}
		c.resent.Add(1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, 2*time.Second)
	}
}

func retryable(status int, body []byte) bool {
	switch {
	case status >= 500, status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
		return true
	case status == http.StatusConflict:
		// ABORTED: the key is still in flight (a gateway may have died
		// holding it); the lease runs out and the retry takes it over.
		return bytes.Contains(body, []byte(`"code":10`)) || bytes.Contains(body, []byte("ABORTED")) || bytes.Contains(body, []byte("still in progress"))
	}
	return false
}

func (c *client) send(ctx context.Context, method, path, token, key string, body []byte) (int, []byte, error) {
	c.requests.Add(1)
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, answer, nil
}

func isStatus(err error, status int) bool {
	var e *apiError
	return errors.As(err, &e) && e.Status == status
}
