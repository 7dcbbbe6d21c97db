// Package apperr is the one application error type of dealercare. Domain code
// returns *Error with a code; the gRPC server maps codes to status codes in
// exactly one place (pkg/grpcserver), so internal details never reach callers.
package apperr

import (
	"errors"
	"fmt"
)

// Application error codes.
const (
	EINVALID       = "invalid"      // bad input; names the field
	ENOTFOUND      = "not_found"    // missing, or another dealer's object
	ECONFLICT      = "conflict"     // already exists, or an illegal state transition
	EUNAUTHORIZED  = "unauthorized" // no or bad credentials
	EFORBIDDEN     = "forbidden"    // authenticated but the role may not do this
	EUNAVAILABLE   = "unavailable"  // a dependency is down; retry later
	EFAILEDPRECOND = "failed_precondition"
	EINTERNAL      = "internal"
)

// FieldViolation names one bad field, in the request's field path syntax
// (e.g. `dealer.time_zone`, `weekly[2].intervals[0]`).
type FieldViolation struct {
	Field    string
	Reason   string
	ReasonZh string // optional Chinese reason (zh-CN)
}

// Error is an application error safe to show to the caller.
type Error struct {
	Code       string
	Message    string // English
	MessageZh  string // optional Chinese (zh-CN); see Zh and ZhReason
	Violations []FieldViolation
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf builds an application error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports one bad field. The message names the field so a caller
// can fix the request without reading the code.
func Invalid(field, reason string) *Error {
	return &Error{
		Code:       EINVALID,
		Message:    fmt.Sprintf("%s: %s", field, reason),
		Violations: []FieldViolation{{Field: field, Reason: reason}},
	}
}

// NotFound reports a missing object, or one the caller may not see; kindZh
// names the kind in Chinese.
func NotFound(kind, kindZh, id string) *Error {
	return Errorf(ENOTFOUND, "%s %q not found", kind, id).Zh(fmt.Sprintf("%s“%s”不存在", kindZh, id))
}

// Code returns the code of the first *Error in err's chain, EINTERNAL for any
// other non-nil error, and "" for nil.
func Code(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// As returns the first *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
