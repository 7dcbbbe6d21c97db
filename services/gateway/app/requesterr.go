package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/grpcserver"
	"github.com/dealercare/dealercare/services/gateway/middleware"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Requests grpc-gateway cannot turn into a call (a body that is not the
// method's JSON, a query parameter of the wrong type) fail in the gateway
// itself, as a bare InvalidArgument status carrying the decoder's text:
// "proto: (line 1:39): invalid value for int32 field rating: 3.5". Every
// call that reaches a service answers bad input with a field violation and
// a message in the caller's language; errorHandler gives the gateway's own
// failures the same shape, naming the field by its path in the body as
// sent (answers[0].rating) or the query parameter.

// errorHandler is grpc-gateway's error writer with the gateway's own
// InvalidArgument errors (those without details: every service error has
// them) translated by requestError, and a body over its limit answered 413
// as the idempotency middleware answers it.
func errorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	st, ok := status.FromError(err)
	limit, body := middleware.RequestBody(r.Context())
	if ok && st.Code() == codes.InvalidArgument && strings.Contains(st.Message(), "http: request body too large") {
		middleware.WriteTooLarge(w, r, limit)
		return
	}
	if ok && st.Code() == codes.InvalidArgument && len(st.Proto().GetDetails()) == 0 {
		err = grpcserver.ToLocalizedStatus(requestError(st.Message(), body), apperr.ParseAcceptLanguage(r.Header.Get("Accept-Language"))).Err()
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}

var (
	// protojson: "proto: (line 1:39): <what>", "proto: syntax error (line
	// 1:1): <what>". The space after "proto:" is a no-break space in some
	// builds: protobuf-go picks one per binary, against parsing its errors.
	protoAt = regexp.MustCompile(`^proto:[ \x{00a0}](?:syntax error )?\(line (\d+):(\d+)\): (.*)$`)
	// <what>:
	invalidValue = regexp.MustCompile(`^invalid value for (\w+) field (\w+): (.*)$`)
	invalidWKT   = regexp.MustCompile(`^invalid google\.protobuf\.(\w+) value (.*)$`)
	namedField   = regexp.MustCompile(`^(unknown|duplicate) field "(.*)"$`)
	unexpected   = regexp.MustCompile(`^unexpected token (.*)$`)
	// grpc-gateway's query parameters: `parsing field "page_size": <why>`.
	queryParam = regexp.MustCompile(`^parsing field "([^"]+)": (.*)$`)
)

// requestError describes a decoder's message (msg) about body as an
// invalid-argument error naming the field.
func requestError(msg string, body []byte) *apperr.Error {
	if m := queryParam.FindStringSubmatch(msg); m != nil {
		en, zh := paramReason(m[2])
		return apperr.Invalid(m[1], en).ZhReason(zh)
	}
	m := protoAt.FindStringSubmatch(msg)
	if m == nil {
		// encoding/json's own errors ("unexpected EOF", "invalid character
		// 'o' in literal null"): the body is not JSON at all.
		return apperr.Invalid("body", "is not valid JSON ("+msg+")").ZhReason("不是合法的 JSON（" + msg + "）")
	}
	line, _ := strconv.Atoi(m[1])
	col, _ := strconv.Atoi(m[2])
	// Positions count from the JSON value, after any leading whitespace.
	body = bytes.TrimLeft(body, " \t\r\n")
	path := pathAt(body, offsetOf(body, line, col))
	what := m[3]
	field := func(leaf string) string {
		if path != "" {
			return path
		}
		if leaf != "" {
			return leaf
		}
		return "body"
	}
	switch {
	case invalidValue.MatchString(what):
		v := invalidValue.FindStringSubmatch(what)
		en, zh := valueReason(v[1], v[3])
		return apperr.Invalid(field(v[2]), en).ZhReason(zh)
	case invalidWKT.MatchString(what):
		v := invalidWKT.FindStringSubmatch(what)
		en, zh := wktReason(v[1], v[2])
		return apperr.Invalid(field(""), en).ZhReason(zh)
	case namedField.MatchString(what):
		v := namedField.FindStringSubmatch(what)
		if v[1] == "unknown" {
			return apperr.Invalid(field(v[2]), "is not a field of this request").ZhReason("不是此请求的字段")
		}
		return apperr.Invalid(field(v[2]), "appears more than once").ZhReason("出现了不止一次")
	case unexpected.MatchString(what):
		tok := unexpected.FindStringSubmatch(what)[1]
		if path == "" {
			return apperr.Invalid("body", "must be a JSON object, not "+tok).ZhReason("须为 JSON 对象，而不是 " + tok)
		}
		return apperr.Invalid(path, "cannot be "+tok+" (see the method's schema in /openapi.json)").
			ZhReason("不能是 " + tok + "（字段格式见 /openapi.json）")
	}
	return apperr.Invalid(field(""), what).ZhReason(what)
}

// valueReason says what a field of the protobuf kind accepts.
func valueReason(kind, value string) (en, zh string) {
	switch kind {
	case "int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64", "sfixed32", "sfixed64":
		return "must be a whole number within the field's range, not " + value, "须为取值范围内的整数，而不是 " + value
	case "float", "double":
		return "must be a number, not " + value, "须为数字，而不是 " + value
	case "bool":
		return "must be true or false, not " + value, "须为 true 或 false，而不是 " + value
	case "string":
		return "must be a string, not " + value, "须为字符串，而不是 " + value
	case "bytes":
		return "must be base64-encoded, not " + value, "须为 base64 编码，而不是 " + value
	case "enum":
		return value + " is not one of its values (see /openapi.json)", value + " 不是可选值之一（见 /openapi.json）"
	}
	return "has an invalid value " + value, "的值 " + value + " 无效"
}

// wktReason says what a well-known type's JSON form is.
func wktReason(typ, value string) (en, zh string) {
	switch typ {
	case "Timestamp":
		return "must be an RFC 3339 time such as 2026-11-23T09:30:00+08:00, not " + value,
			"须为 RFC 3339 时间，如 2026-11-23T09:30:00+08:00，而不是 " + value
	case "Duration":
		return "must be a duration in seconds such as 3600s, not " + value, "须为以秒计的时长，如 3600s，而不是 " + value
	case "FieldMask":
		return "must be comma-separated field names, not " + value, "须为逗号分隔的字段名，而不是 " + value
	}
	return "has an invalid value " + value, "的值 " + value + " 无效"
}

// paramReason says what a query parameter accepts, from grpc-gateway's
// parse error.
func paramReason(why string) (en, zh string) {
	switch {
	case strings.Contains(why, "value out of range"):
		return "is out of range", "超出取值范围"
	case strings.HasPrefix(why, "strconv.ParseInt"), strings.HasPrefix(why, "strconv.ParseUint"):
		return "must be a whole number", "须为整数"
	case strings.HasPrefix(why, "strconv.ParseFloat"):
		return "must be a number", "须为数字"
	case strings.HasPrefix(why, "strconv.ParseBool"):
		return "must be true or false", "须为 true 或 false"
	case strings.HasSuffix(why, " is not a valid value"):
		v := strings.TrimSuffix(why, " is not a valid value")
		return v + " is not one of its values (see /openapi.json)", v + " 不是可选值之一（见 /openapi.json）"
	}
	return "has an invalid value (" + why + ")", "的值无效（" + why + "）"
}

// offsetOf is the byte offset of protojson's 1-based line and column
// (counted in runes) in body, or -1.
func offsetOf(body []byte, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(body[off:], '\n')
		if i < 0 {
			return -1
		}
		off += i + 1
	}
	for c := 1; c < col; c++ {
		if off >= len(body) {
			return -1
		}
		_, size := utf8.DecodeRune(body[off:])
		off += size
	}
	return off
}

// pathAt is the path (answers[0].rating) of the member name or value that
// starts at byte offset at of body, or "" at the top level or when body
// does not parse that far.
func pathAt(body []byte, at int) string {
	if at < 0 {
		return ""
	}
	type frame struct {
		array   bool
		index   int    // array: the current element
		key     string // object: the current member
		wantKey bool   // object: the next string is a member name
	}
	var stack []frame
	path := func() string {
		var b strings.Builder
		for _, f := range stack {
			switch {
			case f.array && f.index >= 0:
				fmt.Fprintf(&b, "[%d]", f.index)
			case !f.array && !f.wantKey && f.key != "":
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			}
		}
		return b.String()
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return path()
		}
		past := int(dec.InputOffset()) > at
		top := len(stack) - 1
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:top]
			if past {
				return path()
			}
			if top > 0 && !stack[top-1].array {
				stack[top-1].wantKey = true
			}
			continue
		}
		if top >= 0 && !stack[top].array && stack[top].wantKey {
			stack[top].key, _ = tok.(string)
			stack[top].wantKey = false
			if past {
				return path()
			}
			continue
		}
		if top >= 0 && stack[top].array {
			stack[top].index++
		}
		if past {
			return path()
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{wantKey: true})
		case json.Delim('['):
			stack = append(stack, frame{array: true, index: -1})
		default:
			if top >= 0 && !stack[top].array {
				stack[top].wantKey = true
			}
		}
	}
}
