// Package network holds activities over the dealer network that workflows
// in other packages share: a workflow never reads the database; it asks the
// owning service through an activity and computes on the result
// deterministically (pkg/calendar has no clock and no I/O).
package network

import (
	"context"
	"fmt"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/calendar"
	"github.com/dealercare/dealercare/pkg/calendar/calendarpb"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Activities calls the customer service, which owns the dealer network.
type Activities struct {
	Network customerv1.DealerNetworkServiceClient
}

// DealerCalendar is a dealer's time zone and calendar, as workflows use it.
type DealerCalendar struct {
	Dealer string
	Spec   calendar.Spec
}

// ErrTypeDealerNotFound marks a non-retryable failure: the dealer does not
// exist, so retrying cannot help.
const ErrTypeDealerNotFound = "DealerNotFound"

// LoadBusinessCalendar fetches a dealer's calendar. A missing dealer is a
// non-retryable business failure; anything else is retried by Temporal.
func (a *Activities) LoadBusinessCalendar(ctx context.Context, dealer string) (*DealerCalendar, error) {
	c, err := a.Network.GetBusinessCalendar(ctx, &customerv1.GetBusinessCalendarRequest{Dealer: dealer})
	if status.Code(err) == codes.NotFound {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("dealer %s not found", dealer), ErrTypeDealerNotFound, err)
	}
	if err != nil {
		return nil, fmt.Errorf("get calendar of dealer %s: %w", dealer, err)
	}
	spec, err := calendarpb.FromProto(c)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("calendar of dealer %s is invalid: %v", dealer, err), "InvalidCalendar", err)
	}
	return &DealerCalendar{Dealer: dealer, Spec: spec}, nil
}
