package middleware

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/dealercare/dealercare/pkg/auth"
)

// AccessLog writes one line per request when it ends: method, path, status,
// bytes, duration_ms, request_id, and the principal's subject and dealer
// when known. The query string is left out because list filters may hold
// personal data (a customer's mobile), and so are headers and bodies, which
// hold tokens and personal data. Server errors are logged at error level,
// everything else at info; the logger adds the trace id from the context.
//
// Authentication runs inside AccessLog and puts the principal into a context
// AccessLog never sees, so wrap the authenticated handler with LogPrincipal
// to get subject and dealer into the line.
func AccessLog(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			entry := &logEntry{}
			rec := &responseRecorder{ResponseWriter: w}
			ctx := context.WithValue(r.Context(), logEntryKey{}, entry)
			defer func() {
				p := recover()
				status := rec.status
				switch {
				case p != nil && !rec.wroteHeader():
					status = http.StatusInternalServerError // the server will drop the connection
				case status == 0:
					status = http.StatusOK
				}
				principal := entry.principal.Load()
				if principal == nil {
					principal, _ = auth.PrincipalFromContext(r.Context())
				}
				attrs := []slog.Attr{
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.Int("status", status),
					slog.Int64("bytes", rec.bytes),
					slog.Int64("duration_ms", time.Since(start).Milliseconds()),
					slog.String("request_id", RequestIDFromContext(ctx)),
				}
				if principal != nil {
					attrs = append(attrs, slog.String("subject", principal.Subject))
					if principal.Dealer != "" {
						attrs = append(attrs, slog.String("dealer", principal.Dealer))
					}
				}
				level := slog.LevelInfo
				if status >= 500 {
					level = slog.LevelError
				}
				log.LogAttrs(ctx, level, "http request", attrs...)
				if p != nil {
					panic(p)
				}
			}()
			next.ServeHTTP(rec, r.WithContext(ctx))
		})
	}
}

// LogPrincipal copies the principal that authentication put into the context
// to the line an enclosing AccessLog writes. Wrap the authenticated handler
// with it; without an AccessLog around it, it does nothing.
func LogPrincipal() func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if e, ok := r.Context().Value(logEntryKey{}).(*logEntry); ok {
				if p, ok := auth.PrincipalFromContext(r.Context()); ok {
					e.principal.Store(p)
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

type logEntryKey struct{}

// logEntry is what inner handlers tell AccessLog about the request.
type logEntry struct {
	principal atomic.Pointer[auth.Principal]
}

// responseRecorder notes the status and size of a response. It keeps
// Flush working (grpc-gateway's streaming needs http.Flusher) and unwraps
// for http.ResponseController.
type responseRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (rw *responseRecorder) wroteHeader() bool { return rw.status != 0 }

func (rw *responseRecorder) WriteHeader(code int) {
	// 1xx answers (103 Early Hints) precede the real one; 101 is final.
	if rw.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		rw.status = code
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *responseRecorder) Write(b []byte) (int, error) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	n, err := rw.ResponseWriter.Write(b)
	rw.bytes += int64(n)
	return n, err
}

func (rw *responseRecorder) Flush() {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	_ = http.NewResponseController(rw.ResponseWriter).Flush()
}

func (rw *responseRecorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }
