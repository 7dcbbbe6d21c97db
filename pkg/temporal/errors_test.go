package temporal

import (
	"errors"
	"testing"

	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestServiceError(t *testing.T) {
	permanent := []codes.Code{codes.NotFound, codes.InvalidArgument}
	for _, c := range []struct {
		code      codes.Code
		permanent bool
	}{
		{codes.NotFound, true}, {codes.InvalidArgument, true},
		{codes.Unavailable, false}, {codes.PermissionDenied, false}, {codes.DeadlineExceeded, false},
	} {
		err := ServiceError(status.Error(c.code, "no"), permanent, "get %s", "x")
		var app *temporal.ApplicationError
		isApp := errors.As(err, &app)
		if isApp != c.permanent {
			t.Errorf("%v: application error %v, want %v (%v)", c.code, isApp, c.permanent, err)
			continue
		}
		if isApp && (!app.NonRetryable() || app.Type() != c.code.String() || app.Message() != "get x: no") {
			t.Errorf("%v: %v (type %q, non-retryable %v)", c.code, app, app.Type(), app.NonRetryable())
		}
		if !isApp && status.Code(errors.Unwrap(err)) != c.code {
			t.Errorf("%v: the retryable error does not wrap the status: %v", c.code, err)
		}
	}
}
