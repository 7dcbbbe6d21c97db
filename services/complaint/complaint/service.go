package complaint

import (
	"context"
	"slices"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	pg "github.com/dealercare/dealercare/pkg/postgres"
)

// Network answers which dealers exist and which the caller may see; the
// customer service owns that rule.
type Network interface {
	// VisibleDealers lists the dealers the caller (its token in ctx) sees.
	VisibleDealers(ctx context.Context) ([]string, error)
	// DealerExists asks with the service's own identity.
	DealerExists(ctx context.Context, dealer string) (bool, error)
}

// Access decides what a caller may do with a dealer's complaints.
type Access struct {
	Network Network
}

// Scope returns the caller's principal and row-level-security scope for
// dealer's complaints; a dealer the caller may not see is ENOTFOUND.
func (a Access) Scope(ctx context.Context, dealer string) (*auth.Principal, pg.Scope, error) {
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
		if slices.Contains(visible, dealer) {
			return p, pg.Dealers(visible...), nil
		}
	case p.IsDealer() && p.Dealer == dealer:
		return p, pg.Dealers(dealer), nil
	}
	return nil, pg.Scope{}, apperr.NotFound("dealer", "经销商", dealer)
}

// CanAct reports whether p may change complaints owned by dealer: its
// staff, its region manager (escalation handling) and HQ admins.
func CanAct(p *auth.Principal, dealer string) bool {
	return p.HasRole(auth.RoleHQAdmin) || p.IsRegion() || (p.IsDealer() && p.Dealer == dealer)
}

// CanTransfer: the owner's managers, region managers and HQ admins.
func CanTransfer(p *auth.Principal, dealer string) bool {
	return p.HasRole(auth.RoleHQAdmin) || p.IsRegion() ||
		(p.Dealer == dealer && p.HasRole(auth.RoleDealerManager, auth.RoleDealerGM, auth.RoleServiceManager))
}

// Now is the service's clock; tests replace it.
var Now = time.Now
