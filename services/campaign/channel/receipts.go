package channel

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/services/campaign/campaign"
)

// Receipts records delivery receipts (campaign.Service.Receipts).
type Receipts interface {
	Receipts(ctx context.Context, rs []campaign.Receipt) (int, error)
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
		got := make([]campaign.Receipt, len(batch))
		for i, rc := range batch {
			got[i] = campaign.Receipt{MessageID: rc.MessageID, Delivery: rc.Status, Time: rc.Time}
		}
		known, err := rs.Receipts(r.Context(), got)
		if apperr.Code(err) == apperr.EINVALID {
			// Retrying would not help: the provider must fix the batch.
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err != nil {
			log.Warn("delivery receipts not recorded", "receipts", len(batch), "error", err)
			http.Error(w, "receipts not recorded; retry", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]int{"accepted": len(batch), "known": known})
	})
	return mux
}
