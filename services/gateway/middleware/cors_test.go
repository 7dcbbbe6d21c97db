package middleware

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/config"
	"google.golang.org/grpc/codes"
)

func TestCORS(t *testing.T) {
	exact := CORSConfig{AllowedOrigins: []string{"https://cs.example.com", "http://localhost:5173"}, MaxAge: 10 * time.Minute}
	wildcard := CORSConfig{AllowedOrigins: []string{"*"}, MaxAge: time.Hour}
	tests := []struct {
		name       string
		cfg        CORSConfig
		method     string
		header     map[string]string
		wantStatus int
		wantNext   bool
		wantHeader map[string]string // "" means: must be absent
		wantCode   codes.Code        // Status body code when not 0
	}{
		{
			name: "preflight from an allowed origin", cfg: exact, method: http.MethodOptions,
			header:     map[string]string{"Origin": "https://cs.example.com", "Access-Control-Request-Method": "PATCH", "Access-Control-Request-Headers": "authorization, idempotency-key"},
			wantStatus: http.StatusNoContent,
			wantHeader: map[string]string{
				"Access-Control-Allow-Origin":      "https://cs.example.com",
				"Access-Control-Allow-Methods":     "GET, POST, PUT, PATCH, DELETE, OPTIONS",
				"Access-Control-Allow-Headers":     "Authorization, Content-Type, Idempotency-Key, Accept-Language, X-Request-Id",
				"Access-Control-Max-Age":           "600",
				"Vary":                             "Origin, Access-Control-Request-Method",
				"Access-Control-Allow-Credentials": "",
			},
		},
		{
			name: "preflight origins compare case-insensitively", cfg: exact, method: http.MethodOptions,
			header:     map[string]string{"Origin": "http://LOCALHOST:5173", "Access-Control-Request-Method": "GET"},
			wantStatus: http.StatusNoContent,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": "http://LOCALHOST:5173"},
		},
		{
			name: "preflight from another origin", cfg: exact, method: http.MethodOptions,
			header:     map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "DELETE"},
			wantStatus: http.StatusForbidden, wantCode: codes.PermissionDenied,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": "", "Vary": "Origin, Access-Control-Request-Method"},
		},
		{
			name: "preflight from a look-alike origin", cfg: exact, method: http.MethodOptions,
			header:     map[string]string{"Origin": "https://cs.example.com.evil.example", "Access-Control-Request-Method": "GET"},
			wantStatus: http.StatusForbidden, wantCode: codes.PermissionDenied,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": ""},
		},
		{
			name: "preflight from the null origin", cfg: exact, method: http.MethodOptions,
			header:     map[string]string{"Origin": "null", "Access-Control-Request-Method": "GET"},
			wantStatus: http.StatusForbidden, wantCode: codes.PermissionDenied,
		},
		{
			name: "preflight for a method not allowed", cfg: exact, method: http.MethodOptions,
			header:     map[string]string{"Origin": "https://cs.example.com", "Access-Control-Request-Method": "TRACE"},
			wantStatus: http.StatusForbidden, wantCode: codes.PermissionDenied,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": ""},
		},
		{
			name: "wildcard preflight sends * and no credentials", cfg: wildcard, method: http.MethodOptions,
			header:     map[string]string{"Origin": "https://anyone.example", "Access-Control-Request-Method": "POST"},
			wantStatus: http.StatusNoContent,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Max-Age": "3600", "Access-Control-Allow-Credentials": ""},
		},
		{
			name: "simple request from an allowed origin", cfg: exact, method: http.MethodGet,
			header:     map[string]string{"Origin": "https://cs.example.com"},
			wantStatus: http.StatusOK, wantNext: true,
			wantHeader: map[string]string{
				"Access-Control-Allow-Origin":      "https://cs.example.com",
				"Access-Control-Expose-Headers":    "X-Request-Id, Retry-After, Idempotent-Replayed, X-RateLimit-Limit, X-RateLimit-Remaining",
				"Vary":                             "Origin",
				"Access-Control-Allow-Methods":     "",
				"Access-Control-Allow-Credentials": "",
			},
		},
		{
			name: "wildcard simple request", cfg: wildcard, method: http.MethodPost,
			header:     map[string]string{"Origin": "https://anyone.example"},
			wantStatus: http.StatusOK, wantNext: true,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": ""},
		},
		{
			name: "request from another origin passes without CORS headers", cfg: exact, method: http.MethodGet,
			header:     map[string]string{"Origin": "https://evil.example"},
			wantStatus: http.StatusOK, wantNext: true,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Expose-Headers": "", "Vary": "Origin"},
		},
		{
			name: "same-origin or non-browser request", cfg: exact, method: http.MethodGet,
			wantStatus: http.StatusOK, wantNext: true,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": "", "Vary": "Origin"},
		},
		{
			name: "OPTIONS that is not a preflight goes on", cfg: exact, method: http.MethodOptions,
			header:     map[string]string{"Origin": "https://cs.example.com"},
			wantStatus: http.StatusOK, wantNext: true,
		},
		{
			name: "disabled: no CORS headers at all", cfg: CORSConfig{}, method: http.MethodGet,
			header:     map[string]string{"Origin": "https://cs.example.com"},
			wantStatus: http.StatusOK, wantNext: true,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Expose-Headers": "", "Vary": ""},
		},
		{
			name: "disabled: preflight goes on to the routes", cfg: CORSConfig{}, method: http.MethodOptions,
			header:     map[string]string{"Origin": "https://cs.example.com", "Access-Control-Request-Method": "GET"},
			wantStatus: http.StatusOK, wantNext: true,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": "", "Vary": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := &okHandler{}
			r := httptest.NewRequest(tt.method, "/v1/dealers/SH001/complaints", nil)
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			CORS(tt.cfg)(next).ServeHTTP(rec, r)

			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if ran := next.calls > 0; ran != tt.wantNext {
				t.Errorf("next handler ran: %v, want %v", ran, tt.wantNext)
			}
			for k, want := range tt.wantHeader {
				if got := strings.Join(rec.Header().Values(k), ", "); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if tt.wantCode != 0 {
				if st := decodeStatus(t, rec); st.Code != tt.wantCode || st.Message == "" {
					t.Errorf("body = %+v, want code %d with a message", st, tt.wantCode)
				}
			}
		})
	}
}

func TestLoadCORSConfig(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		wantOrigins []string
		wantMaxAge  time.Duration
		wantErr     string
	}{
		{name: "off by default", wantMaxAge: 10 * time.Minute},
		{name: "list", env: map[string]string{"GATEWAY_CORS_ORIGINS": " https://cs.example.com , http://localhost:5173,", "GATEWAY_CORS_MAX_AGE": "2h"},
			wantOrigins: []string{"https://cs.example.com", "http://localhost:5173"}, wantMaxAge: 2 * time.Hour},
		{name: "wildcard", env: map[string]string{"GATEWAY_CORS_ORIGINS": "*"}, wantOrigins: []string{"*"}, wantMaxAge: 10 * time.Minute},
		{name: "a path is not an origin", env: map[string]string{"GATEWAY_CORS_ORIGINS": "https://cs.example.com/app"},
			wantErr: `GATEWAY_CORS_ORIGINS: "https://cs.example.com/app" is not an origin`},
		{name: "a bare host is not an origin", env: map[string]string{"GATEWAY_CORS_ORIGINS": "cs.example.com"},
			wantErr: `GATEWAY_CORS_ORIGINS: "cs.example.com" is not an origin`},
		{name: "bad max age", env: map[string]string{"GATEWAY_CORS_ORIGINS": "*", "GATEWAY_CORS_MAX_AGE": "10"},
			wantErr: "GATEWAY_CORS_MAX_AGE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := config.FromMap(tt.env)
			got := LoadCORSConfig(l)
			err := l.Err()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got.AllowedOrigins, " ") != strings.Join(tt.wantOrigins, " ") || got.MaxAge != tt.wantMaxAge {
				t.Fatalf("got %+v, want origins %q and max age %s", got, tt.wantOrigins, tt.wantMaxAge)
			}
			if err := got.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if got.Enabled() != (len(tt.wantOrigins) > 0) {
				t.Fatalf("Enabled() = %v", got.Enabled())
			}
		})
	}
}
