package middleware

import (
	"net/http"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
)

// UTF8 answers 400 naming the parameter when the decoded path, or a query
// parameter's name or value, is not UTF-8 text: protobuf strings must be,
// so such a request would otherwise fail as a 500 when the gateway
// marshals it for a service.
func UTF8() func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if bad := notUTF8(r); bad != "" {
				WriteStatus(w, http.StatusBadRequest, codes.InvalidArgument,
					localized(r, bad+": must be UTF-8 text (percent-encode its UTF-8 bytes)", bad+": 须为 UTF-8 文本（按 UTF-8 字节做百分号编码）"))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// notUTF8 names the first part of r's URL that is not UTF-8 text: "path",
// "query parameter name" or the parameter whose value is not; "" when all
// are.
func notUTF8(r *http.Request) string {
	if !utf8.ValidString(r.URL.Path) {
		return "path"
	}
	for name, values := range r.URL.Query() {
		if !utf8.ValidString(name) {
			return "query parameter name"
		}
		for _, v := range values {
			if !utf8.ValidString(v) {
				return name
			}
		}
	}
	return ""
}
