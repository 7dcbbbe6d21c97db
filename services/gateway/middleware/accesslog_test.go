package middleware

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dealercare/dealercare/pkg/auth"
	"google.golang.org/grpc/codes"
)

// fakeAuth stands in for Authenticate: "Bearer good-token"
// runs as dealerA, anything else is 401.
func fakeAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer good-token" {
			WriteStatus(w, http.StatusUnauthorized, codes.Unauthenticated, "missing bearer token")
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.NewContextWithPrincipal(r.Context(), dealerA)))
	})
}

// chain wraps h the way the gateway does.
func chain(log *slog.Logger, h http.Handler) http.Handler {
	h = RateLimit(RateLimitConfig{RequestsPerSecond: 10, Burst: 10, MaxTenants: 10})(h)
	h = fakeAuth(LogPrincipal()(h))
	h = CORS(CORSConfig{AllowedOrigins: []string{"https://cs.example.com"}})(h)
	h = Recover(log)(h)
	h = AccessLog(log)(h)
	return RequestID()(h)
}

func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

func TestAccessLog(t *testing.T) {
	const mobile = "13800138000"
	tests := []struct {
		name    string
		target  string
		header  map[string]string
		handler http.HandlerFunc
		want    map[string]any // fields of the access line; nil value: absent
		wantLvl string
	}{
		{
			name:   "authenticated request",
			target: "/v1/dealers/SH001/customers?filter=mobile%3D%22" + mobile + "%22&page_size=10",
			header: map[string]string{"Authorization": "Bearer good-token", "X-Request-Id": "req-42", "Cookie": "session=" + mobile},
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusCreated)
				_, _ = w.Write([]byte(`{"name":"customer of ` + mobile + `"}`))
			},
			want: map[string]any{
				"msg": "http request", "method": "GET", "path": "/v1/dealers/SH001/customers", "status": 201.0,
				"bytes": float64(len(`{"name":"customer of ` + mobile + `"}`)), "request_id": "req-42",
				"subject": "agent-a1", "dealer": "SH001",
			},
			wantLvl: "INFO",
		},
		{
			name:   "rejected by authentication",
			target: "/v1/dealers/SH001/customers?filter=mobile%3D" + mobile,
			header: map[string]string{"Authorization": "Bearer wrong-token", "X-Request-Id": "req-43"},
			want: map[string]any{
				"path": "/v1/dealers/SH001/customers", "status": 401.0, "request_id": "req-43",
				"subject": nil, "dealer": nil,
			},
			wantLvl: "INFO",
		},
		{
			name:    "handler that writes nothing",
			target:  "/v1/kpis:rank?q=" + mobile,
			header:  map[string]string{"Authorization": "Bearer good-token"},
			handler: func(w http.ResponseWriter, r *http.Request) {},
			want:    map[string]any{"path": "/v1/kpis:rank", "status": 200.0, "bytes": 0.0, "subject": "agent-a1"},
			wantLvl: "INFO",
		},
		{
			name:   "panic",
			target: "/v1/dealers/SH001/complaints?mobile=" + mobile,
			header: map[string]string{"Authorization": "Bearer good-token"},
			handler: func(w http.ResponseWriter, r *http.Request) {
				panic("boom")
			},
			want:    map[string]any{"path": "/v1/dealers/SH001/complaints", "status": 500.0, "subject": "agent-a1"},
			wantLvl: "ERROR",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&buf, nil))
			h := tt.handler
			if h == nil {
				h = func(w http.ResponseWriter, r *http.Request) { t.Error("handler ran for a rejected request") }
			}
			r := httptest.NewRequest(http.MethodGet, tt.target, nil)
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			chain(log, h).ServeHTTP(rec, r)

			lines := logLines(t, &buf)
			var access map[string]any
			for _, l := range lines {
				if l["msg"] == "http request" {
					if access != nil {
						t.Fatal("more than one access line")
					}
					access = l
				}
			}
			if access == nil {
				t.Fatalf("no access line in %s", buf.String())
			}
			for k, want := range tt.want {
				got, ok := access[k]
				if want == nil && ok {
					t.Errorf("%s = %v, want absent", k, got)
				}
				if want != nil && got != want {
					t.Errorf("%s = %v (%T), want %v", k, got, got, want)
				}
			}
			if access["level"] != tt.wantLvl {
				t.Errorf("level = %v, want %s", access["level"], tt.wantLvl)
			}
			if id, _ := access["request_id"].(string); id == "" || id != rec.Header().Get(RequestIDHeader) {
				t.Errorf("request_id %q, response id %q", id, rec.Header().Get(RequestIDHeader))
			}
			if _, ok := access["duration_ms"].(float64); !ok {
				t.Errorf("duration_ms missing: %v", access)
			}
			// Nothing of the query, the headers or the body reaches the log.
			for _, secret := range []string{mobile, "filter", "page_size", "good-token", "wrong-token", "Bearer", "Authorization", "session=", "customer of"} {
				if strings.Contains(buf.String(), secret) {
					t.Errorf("log holds %q: %s", secret, buf.String())
				}
			}
		})
	}
}

// TestLogPrincipalWithoutAccessLog: LogPrincipal alone is harmless.
func TestLogPrincipalWithoutAccessLog(t *testing.T) {
	next := &okHandler{}
	rec := httptest.NewRecorder()
	LogPrincipal()(next).ServeHTTP(rec, request(dealerA, ""))
	if next.calls != 1 || rec.Code != 200 {
		t.Fatalf("calls %d, status %d", next.calls, rec.Code)
	}
}

func TestRecover(t *testing.T) {
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		lang      string
		wantPanic any // what escapes Recover
		wantLog   bool
		wantMsg   string
	}{
		{
			name: "panic before writing is a 500",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "999")
				w.Header().Set("Content-Type", "text/csv")
				panic("nil map in handler")
			},
			wantLog: true, wantMsg: "internal error",
		},
		{
			name:    "in Chinese",
			handler: func(w http.ResponseWriter, r *http.Request) { panic(errors.New("db password is hunter2")) },
			lang:    "zh-CN", wantLog: true, wantMsg: "内部错误",
		},
		{
			name: "panic after writing aborts the connection",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(`{"items":[`))
				panic("half way")
			},
			wantPanic: http.ErrAbortHandler, wantLog: true,
		},
		{
			name:      "a deliberate abort passes through unlogged",
			handler:   func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) },
			wantPanic: http.ErrAbortHandler,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&buf, nil))
			r := httptest.NewRequest(http.MethodPost, "/v1/dealers/SH001/complaints", nil)
			if tt.lang != "" {
				r.Header.Set("Accept-Language", tt.lang)
			}
			rec := httptest.NewRecorder()
			var escaped any
			func() {
				defer func() { escaped = recover() }()
				RequestID()(Recover(log)(tt.handler)).ServeHTTP(rec, r)
			}()
			if escaped != tt.wantPanic {
				t.Fatalf("panic escaping Recover = %v, want %v", escaped, tt.wantPanic)
			}

			lines := logLines(t, &buf)
			if !tt.wantLog {
				if len(lines) != 0 {
					t.Fatalf("logged %v", lines)
				}
				return
			}
			if len(lines) != 1 || lines[0]["msg"] != "panic in http handler" || lines[0]["level"] != "ERROR" {
				t.Fatalf("log = %v, want one error line", lines)
			}
			if stack, _ := lines[0]["stack"].(string); !strings.Contains(stack, "TestRecover") {
				t.Errorf("stack does not show the handler: %q", stack)
			}
			if lines[0]["request_id"] != rec.Header().Get(RequestIDHeader) || lines[0]["panic"] == "" {
				t.Errorf("log line %v lacks request_id or panic", lines[0])
			}
			if tt.wantPanic != nil {
				return
			}
			if rec.Code != http.StatusInternalServerError {
				t.Fatalf("status %d, want 500", rec.Code)
			}
			if cl := rec.Header().Get("Content-Length"); cl != "" {
				t.Errorf("stale Content-Length %q kept", cl)
			}
			st := decodeStatus(t, rec)
			if st.Code != codes.Internal || st.Message != tt.wantMsg {
				t.Errorf("body = %+v, want code 13 %q", st, tt.wantMsg)
			}
			if strings.Contains(rec.Body.String(), "hunter2") || strings.Contains(rec.Body.String(), "nil map") {
				t.Errorf("panic detail reached the caller: %s", rec.Body.String())
			}
		})
	}
}

// TestResponseRecorderFlush: grpc-gateway's streaming asserts http.Flusher
// on the writer it gets.
func TestResponseRecorderFlush(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	rec := httptest.NewRecorder()
	h := AccessLog(log)(Recover(log)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := w.(http.Flusher)
		if !ok {
			t.Fatal("writer is not an http.Flusher")
		}
		_, _ = w.Write([]byte("chunk"))
		f.Flush()
	})))
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/stream", nil))
	if !rec.Flushed {
		t.Fatal("Flush did not reach the underlying writer")
	}
}
