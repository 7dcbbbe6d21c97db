package app

import (
	"context"
	"fmt"
	"os"
	"strings"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/dealerlist"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// network asks the customer service, which owns the dealer network.
type network struct {
	client    customerv1.DealerNetworkServiceClient
	tokenFile string // the service's own token, for questions not the caller's
}

// VisibleDealers lists the dealers the caller sees, with the caller's own
// token: the customer service applies its visibility rule.
func (n network) VisibleDealers(ctx context.Context) ([]string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	out := metadata.NewOutgoingContext(ctx, metadata.Pairs("authorization", strings.Join(md.Get("authorization"), "")))
	return dealerlist.Codes(out, n.client)
}

// DealerExists asks with the service's own identity.
func (n network) DealerExists(ctx context.Context, dealer string) (bool, error) {
	raw, err := os.ReadFile(n.tokenFile)
	if err != nil {
		return false, fmt.Errorf("read SERVICE_TOKEN_FILE: %w", err)
	}
	_, err = n.client.GetDealer(auth.WithToken(ctx, strings.TrimSpace(string(raw))), &customerv1.GetDealerRequest{Dealer: dealer})
	switch status.Code(err) {
	case codes.OK:
		return true, nil
	case codes.NotFound:
		return false, nil
	}
	return false, fmt.Errorf("look up dealer %s: %w", dealer, err)
}
