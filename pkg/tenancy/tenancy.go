// Package tenancy is the one access rule of the dealer-owned services: which
// dealers a caller sees (asked of the customer service, which owns the
// dealer network) and the row-level-security scope that follows from it.
// A dealer the caller may not see is "not found", never "forbidden", so its
// existence does not leak.
package tenancy

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/dealerlist"
	"github.com/dealercare/dealercare/pkg/grpcclient"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Network answers which dealers exist and which the caller may see; the
// customer service owns that rule.
type Network interface {
	// VisibleDealers lists the dealers the caller (its token in ctx) sees.
	VisibleDealers(ctx context.Context) ([]string, error)
	// DealerExists asks with the service's own identity.
	DealerExists(ctx context.Context, dealer string) (bool, error)
	// TimeZone is the dealer's IANA time zone, asked with the service's
	// own identity; an unknown dealer is ENOTFOUND.
	TimeZone(ctx context.Context, dealer string) (string, error)
}

// Access decides which dealers' rows a caller reaches.
type Access struct {
	Network Network
}

// Scope returns the caller's principal and row-level-security scope for
// dealer's data: HQ and the service role see every dealer, a region
// manager the region's dealers, dealer staff their own. A dealer the caller
// may not see is ENOTFOUND; no principal is EUNAUTHORIZED.
func (a Access) Scope(ctx context.Context, dealer string) (*auth.Principal, pg.Scope, error) {
	p, scope, err := a.Visible(ctx)
	if err != nil {
		return nil, pg.Scope{}, err
	}
	if !scope.All() && !slices.Contains(scope.DealerCodes(), dealer) {
		return nil, pg.Scope{}, apperr.NotFound("dealer", "经销商", dealer)
	}
	return p, scope, nil
}

// AnyDealer in a collection's dealer (/v1/dealers/-/complaints) reads
// across every dealer the caller sees (AIP-159).
const AnyDealer = "-"

// Visible returns the caller's principal and the row-level-security scope
// of every dealer it sees, for reads across dealers (AnyDealer): all of them
// for HQ and the service role, the region's for a region manager, the own
// dealer for dealer staff, none for anyone else. The scope's DealerCodes
// are those dealers.
func (a Access) Visible(ctx context.Context) (*auth.Principal, pg.Scope, error) {
	p, ok := auth.PrincipalFromContext(ctx)
	if !ok {
		return nil, pg.Scope{}, apperr.Errorf(apperr.EUNAUTHORIZED, "authentication required").Zh("需要登录认证")
	}
	switch {
	case p.IsHQ() || p.IsService():
		return p, pg.AllDealers(), nil
	case p.IsRegion():
		visible, err := a.Network.VisibleDealers(ctx)
		if err != nil {
			return nil, pg.Scope{}, err
		}
		return p, pg.Dealers(visible...), nil
	case p.IsDealer():
		return p, pg.Dealers(p.Dealer), nil
	}
	return p, pg.Dealers(), nil
}

// NetworkClient is the Network over the customer service's gRPC API.
type NetworkClient struct {
	Client customerv1.DealerNetworkServiceClient
	// TokenFile holds the service's own token, for questions that are not
	// the caller's (SERVICE_TOKEN_FILE).
	TokenFile string
}

// DialNetwork connects to the customer service at target
// (CUSTOMER_GRPC_TARGET) lazily; close the returned connection when done.
func DialNetwork(target, tokenFile string) (NetworkClient, *grpc.ClientConn, error) {
	conn, err := grpcclient.Dial(target)
	if err != nil {
		return NetworkClient{}, nil, fmt.Errorf("CUSTOMER_GRPC_TARGET: %w", err)
	}
	return NetworkClient{Client: customerv1.NewDealerNetworkServiceClient(conn), TokenFile: tokenFile}, conn, nil
}

// VisibleDealers lists the dealers the caller sees, with the caller's own
// token: the customer service applies its visibility rule.
func (n NetworkClient) VisibleDealers(ctx context.Context) ([]string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	out := metadata.NewOutgoingContext(ctx, metadata.Pairs("authorization", strings.Join(md.Get("authorization"), "")))
	return dealerlist.Codes(out, n.Client)
}

// DealerExists asks with the service's own identity.
func (n NetworkClient) DealerExists(ctx context.Context, dealer string) (bool, error) {
	_, err := n.dealer(ctx, dealer)
	switch status.Code(err) {
	case codes.OK:
		return true, nil
	case codes.NotFound:
		return false, nil
	}
	return false, err
}

// TimeZone returns the dealer's IANA time zone (Asia/Shanghai when the
// network leaves it empty). An unknown dealer is ENOTFOUND.
func (n NetworkClient) TimeZone(ctx context.Context, dealer string) (string, error) {
	d, err := n.dealer(ctx, dealer)
	if status.Code(err) == codes.NotFound {
		return "", apperr.NotFound("dealer", "经销商", dealer)
	}
	if err != nil {
		return "", err
	}
	if d.GetTimeZone() == "" {
		return DefaultTimeZone, nil
	}
	return d.GetTimeZone(), nil
}

// DefaultTimeZone is the network's default (SPEC: dealer network).
const DefaultTimeZone = "Asia/Shanghai"

func (n NetworkClient) dealer(ctx context.Context, dealer string) (*customerv1.Dealer, error) {
	raw, err := os.ReadFile(n.TokenFile)
	if err != nil {
		return nil, fmt.Errorf("read SERVICE_TOKEN_FILE: %w", err)
	}
	d, err := n.Client.GetDealer(auth.WithToken(ctx, strings.TrimSpace(string(raw))), &customerv1.GetDealerRequest{Dealer: dealer})
	if err != nil && status.Code(err) != codes.NotFound {
		return nil, fmt.Errorf("look up dealer %s: %w", dealer, err)
	}
	return d, err
}
