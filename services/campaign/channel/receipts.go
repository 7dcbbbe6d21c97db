package channel

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// Receipts records delivery receipts (campaign.Service.Receipt).
type Receipts interface {
	Receipt(ctx context.Context, messageID, delivery string, at time.Time) (bool, error)
}

// Receipt is one delivery report a provider posts, keyed by the message id
// it was sent with (out_id, client_msg_id or Message-ID).
type Receipt struct {
	MessageID string    `json:"message_id"`
	Status    string    `json:"status"` // accepted, delivered, undelivered
	Time      time.Time `json:"time"`
}

// ReceiptHandler serves POST /v1/receipts: a JSON array of Receipt,
// signed like the SMS API (X-Timestamp, X-Nonce, X-Signature with secret).
// Unknown message ids are acknowledged and dropped (a provider retries
// only what failed).
func ReceiptHandler(rs Receipts, secret string, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/receipts", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		if err := Verify(secret, r.Method, r.URL.Path, r.Header.Get("X-Timestamp"), r.Header.Get("X-Nonce"),
			r.Header.Get("X-Signature"), body, time.Now(), 5*time.Minute); err != nil {
			http.Error(w, "signature: "+err.Error(), http.StatusUnauthorized)
			return
		}
		var batch []Receipt
		if err := json.Unmarshal(body, &batch); err != nil {
			http.Error(w, "body: not a JSON array of receipts", http.StatusBadRequest)
			return
		}
		known := 0
		for _, rc := range batch {
			ok, err := rs.Receipt(r.Context(), rc.MessageID, rc.Status, rc.Time)
			if err != nil {
				log.Warn("delivery receipt not recorded", "message_id", rc.MessageID, "error", err)
				http.Error(w, "receipt not recorded; retry", http.StatusServiceUnavailable)
				return
			}
			if ok {
				known++
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]int{"accepted": len(batch), "known": known})
	})
	return mux
}
