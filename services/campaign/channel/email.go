package channel

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"github.com/dealercare/dealercare/services/campaign/campaign"
)

// Email sends over SMTP (net/smtp), one message per connection. The
// message id becomes the Message-ID header, by which the relay (and the
// recording server) recognises a resend.
type Email struct {
	// Addr is the relay's host:port.
	Addr     string
	From     string
	Username string
	Password string
}

// Send implements campaign.Sender.
func (e *Email) Send(ctx context.Context, m campaign.Message) (string, error) {
	if strings.ContainsAny(m.To, "\r\n") || strings.ContainsAny(m.Title, "\r\n") {
		return "", fmt.Errorf("%w: header injection in address or subject", campaign.ErrPermanent)
	}
	msgID := "<" + m.ID + "@dealercare.campaign>"
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: %s\r\nDate: %s\r\n", e.From, m.To,
		mime.QEncoding.Encode("utf-8", m.Title), msgID, time.Now().UTC().Format(time.RFC1123Z))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(m.Body, "\n", "\r\n"))
	b.WriteString("\r\n")
	var auth smtp.Auth
	if e.Username != "" {
		host, _, _ := strings.Cut(e.Addr, ":")
		auth = smtp.PlainAuth("", e.Username, e.Password, host)
	}
	done := make(chan error, 1)
	go func() { done <- smtp.SendMail(e.Addr, auth, e.From, []string{m.To}, []byte(b.String())) }()
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case err := <-done:
		var te *textproto.Error
		if errors.As(err, &te) && te.Code >= 500 {
			return "", fmt.Errorf("%w: smtp: %w", campaign.ErrPermanent, err)
		}
		if err != nil {
			return "", fmt.Errorf("smtp: %w", err)
		}
	}
	return msgID, nil
}
