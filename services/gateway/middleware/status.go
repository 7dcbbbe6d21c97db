// Package middleware holds the gateway's HTTP middleware: request ids, access
// logging, panic recovery, CORS, bearer-token authentication, the dealer
// path guard, per-tenant rate limiting and body limits. Each constructor
// returns a plain func(http.Handler) http.Handler.
//
// The intended order, outermost first:
//
//	otelhttp → RequestID → AccessLog → Recover → CORS → routes
//	/v1/ routes: Authenticate → LogPrincipal → UTF8 → RateLimit →
//	             DealerPathGuard → BodyLimit → idempotency → grpc-gateway
//
// RequestID sits inside otelhttp so a generated id can reuse the trace id and
// outside AccessLog and Recover so both log it; Recover sits inside AccessLog
// so the line of a panicking request says 500; CORS sits outside
// authentication because preflights carry no token, and so 401 and 429
// answers carry the CORS headers a browser needs to read them.
//
// Every error body written here is a google.rpc.Status JSON object, like the
// ones grpc-gateway writes, in English or Chinese by Accept-Language.
package middleware

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/dealercare/dealercare/pkg/apperr"
	"google.golang.org/grpc/codes"
)

// statusBody is google.rpc.Status in its JSON form; the field order matches
// grpc-gateway's error bodies.
type statusBody struct {
	Code    codes.Code `json:"code"`
	Message string     `json:"message"`
	Details []any      `json:"details"`
}

// WriteStatus answers with a google.rpc.Status body; every error the
// gateway itself writes goes through it.
func WriteStatus(w http.ResponseWriter, httpCode int, code codes.Code, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(httpCode)
	_ = json.NewEncoder(w).Encode(statusBody{Code: code, Message: msg, Details: []any{}})
}

// WriteTooLarge answers 413 for a request body over limit bytes.
func WriteTooLarge(w http.ResponseWriter, r *http.Request, limit int64) {
	WriteStatus(w, http.StatusRequestEntityTooLarge, codes.InvalidArgument, localized(r,
		fmt.Sprintf("request body is larger than the limit of %d bytes", limit),
		fmt.Sprintf("请求体超过 %d 字节的上限", limit)))
}

// localized picks the caller's language from Accept-Language (SPEC: zh-CN and
// en, English by default).
func localized(r *http.Request, en, zh string) string {
	if apperr.ParseAcceptLanguage(r.Header.Get("Accept-Language")) == apperr.LangZH {
		return zh
	}
	return en
}
