package temporal

import (
	"fmt"
	"slices"

	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ServiceError turns a failed gRPC call made by an activity into the
// activity's error. A status code listed in permanent (one a retry cannot
// fix: a bad request, a missing object, a missing role) becomes a
// non-retryable application error whose type is the code's name, e.g.
// "NotFound", so workflows can tell the cases apart; any other error is
// wrapped and left to the activity's retry policy.
func ServiceError(err error, permanent []codes.Code, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	code := status.Code(err)
	if !slices.Contains(permanent, code) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %s", what, status.Convert(err).Message()), code.String(), err)
}
