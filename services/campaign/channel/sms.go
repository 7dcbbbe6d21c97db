package channel

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/dealercare/dealercare/services/campaign/campaign"
)

// SMS sends through an SMS gateway's signed HTTP API:
//
//	POST {BaseURL}/v1/sms/send
//	X-Api-Key, X-Timestamp (unix seconds), X-Nonce, X-Signature (Sign)
//	Idempotency-Key: <message id>
//	{"phone": "+86...", "sign_name": "...", "text": "...", "out_id": "<message id>"}
//	→ 200 {"code": "OK", "message_id": "..."}
//
// The gateway answers a repeated out_id with the message it already has.
type SMS struct {
	BaseURL, APIKey, Secret, SignName string
	Client                            *http.Client
	Now                               func() time.Time
}

type smsRequest struct {
	Phone    string `json:"phone"`
	SignName string `json:"sign_name"`
	Text     string `json:"text"`
	OutID    string `json:"out_id"`
}

type smsResponse struct {
	Code      string `json:"code"`
	MessageID string `json:"message_id"`
	Message   string `json:"message"`
}

// Send implements campaign.Sender.
func (s *SMS) Send(ctx context.Context, m campaign.Message) (string, error) {
	body, _ := json.Marshal(smsRequest{Phone: m.To, SignName: s.SignName, Text: m.Body, OutID: m.ID})
	const path = "/v1/sms/send"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("%w: sms request: %w", campaign.ErrPermanent, err)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	ts := strconv.FormatInt(now().Unix(), 10)
	var nb [8]byte
	_, _ = rand.Read(nb[:])
	nonce := hex.EncodeToString(nb[:])
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Api-Key", s.APIKey)
	req.Header.Set("X-Timestamp", ts)
	req.Header.Set("X-Nonce", nonce)
	req.Header.Set("X-Signature", Sign(s.Secret, http.MethodPost, path, ts, nonce, body))
	req.Header.Set("Idempotency-Key", m.ID)
	resp, err := client(s.Client).Do(req)
	if err != nil {
		return "", fmt.Errorf("sms gateway: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", httpError(resp, "sms gateway")
	}
	var out smsResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", fmt.Errorf("sms gateway answer: %w", err)
	}
	if out.Code != "OK" {
		return "", fmt.Errorf("%w: sms gateway refused: %s %s", campaign.ErrPermanent, out.Code, out.Message)
	}
	return out.MessageID, nil
}

func client(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return defaultClient
}

// defaultClient keeps as many idle connections per provider host as
// sends can be in flight (a batch's SendConcurrency times the workflow's
// parallel batches): net/http's default keeps 2, so most of a campaign's
// connections were closed after one message and dialled again, leaving a
// socket in TIME_WAIT per message.
var defaultClient = &http.Client{Timeout: 15 * time.Second, Transport: idleTransport(256)}

func idleTransport(perHost int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = perHost, perHost
	return t
}
