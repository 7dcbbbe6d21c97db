package middleware

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestUTF8(t *testing.T) {
	h := UTF8()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	for target, want := range map[string]string{
		"/v1/dealers/SH001/customers?query=%E5%BC%A0": "",
		"/v1/dealers/SH001/customers?query=%FF":       "query: must be UTF-8 text",
		"/v1/dealers/SH001/customers?a=1&q%FF=1":      "query parameter name: must be UTF-8 text",
		"/v1/dealers/SH%FF/customers":                 "path: must be UTF-8 text",
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if want == "" {
			if rec.Code != http.StatusNoContent {
				t.Errorf("%s: %d %s", target, rec.Code, rec.Body)
			}
			continue
		}
		var body statusBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusBadRequest || body.Code != 3 || !strings.HasPrefix(body.Message, want) {
			t.Errorf("%s: %d %s (%v), want 400 %q", target, rec.Code, rec.Body, err, want)
		}
	}
}
