// Package dealerlist asks the customer service, which owns the dealer
// network, which dealers a caller may see: other services and the gateway
// apply that one rule instead of re-implementing it.
package dealerlist

import (
	"context"
	"fmt"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
)

// Codes lists the codes of every dealer visible to the token in ctx's
// outgoing metadata, all pages.
func Codes(ctx context.Context, client customerv1.DealerNetworkServiceClient) ([]string, error) {
	dealers, err := Dealers(ctx, client)
	if err != nil {
		return nil, err
	}
	codes := make([]string, 0, len(dealers))
	for _, d := range dealers {
		codes = append(codes, d.GetCode())
	}
	return codes, nil
}

// Dealers lists every dealer visible to the token in ctx's outgoing
// metadata, all pages.
func Dealers(ctx context.Context, client customerv1.DealerNetworkServiceClient) ([]*customerv1.Dealer, error) {
	var dealers []*customerv1.Dealer
	tok := ""
	for {
		resp, err := client.ListDealers(ctx, &customerv1.ListDealersRequest{PageSize: 1000, PageToken: tok})
		if err != nil {
			return nil, fmt.Errorf("list visible dealers: %w", err)
		}
		dealers = append(dealers, resp.GetDealers()...)
		if tok = resp.GetNextPageToken(); tok == "" {
			return dealers, nil
		}
	}
}
