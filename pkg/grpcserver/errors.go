package grpcserver

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"buf.build/go/protovalidate"
	"github.com/dealercare/dealercare/pkg/apperr"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var codeOf = map[string]codes.Code{
	apperr.EINVALID:       codes.InvalidArgument,
	apperr.ENOTFOUND:      codes.NotFound,
	apperr.ECONFLICT:      codes.AlreadyExists,
	apperr.EUNAUTHORIZED:  codes.Unauthenticated,
	apperr.EFORBIDDEN:     codes.PermissionDenied,
	apperr.EUNAVAILABLE:   codes.Unavailable,
	apperr.EFAILEDPRECOND: codes.FailedPrecondition,
	apperr.EINTERNAL:      codes.Internal,
}

// ToStatus is the one place application errors become gRPC statuses. An
// error that is neither an *apperr.Error nor already a status becomes a
// generic internal error: its text may hold internals and is only logged.
func ToStatus(err error) *status.Status {
	if err == nil {
		return status.New(codes.OK, "")
	}
	if e, ok := apperr.As(err); ok {
		code, known := codeOf[e.Code]
		if !known || code == codes.Internal {
			return status.New(codes.Internal, "internal error")
		}
		st := status.New(code, e.Message)
		if len(e.Violations) > 0 {
			br := &errdetails.BadRequest{}
			for _, v := range e.Violations {
				br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Reason})
			}
			if withDetails, err := st.WithDetails(br); err == nil {
				st = withDetails
			}
		}
		return st
	}
	if st, ok := status.FromError(err); ok {
		return st
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.New(codes.Canceled, "request cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.New(codes.DeadlineExceeded, "deadline exceeded")
	}
	return status.New(codes.Internal, "internal error")
}

// validationError turns protovalidate violations into an INVALID_ARGUMENT
// whose message names every bad field.
func validationError(err error) error {
	var verr *protovalidate.ValidationError
	if !errors.As(err, &verr) {
		return status.Error(codes.InvalidArgument, "invalid request")
	}
	e := &apperr.Error{Code: apperr.EINVALID}
	var msgs []string
	for _, v := range verr.Violations {
		field := protovalidate.FieldPathString(v.Proto.GetField())
		reason := v.Proto.GetMessage()
		e.Violations = append(e.Violations, apperr.FieldViolation{Field: field, Reason: reason})
		msgs = append(msgs, fmt.Sprintf("%s: %s", field, reason))
	}
	e.Message = strings.Join(msgs, "; ")
	return ToStatus(e).Err()
}
