package complaint

import (
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/tenancy"
)

// Access decides what a caller may see of a dealer's complaints: the
// platform's one rule (pkg/tenancy).
type Access = tenancy.Access

// CanAct reports whether p may change complaints owned by dealer: its
// staff, its region manager (escalation handling), HQ admins, and the
// platform's workflows (a callback opens, closes or reopens complaints).
func CanAct(p *auth.Principal, dealer string) bool {
	return p.HasRole(auth.RoleHQAdmin) || p.IsRegion() || p.IsService() || (p.IsDealer() && p.Dealer == dealer)
}

// CanTransfer: the owner's managers, region managers and HQ admins.
func CanTransfer(p *auth.Principal, dealer string) bool {
	return p.HasRole(auth.RoleHQAdmin) || p.IsRegion() ||
		(p.Dealer == dealer && p.HasRole(auth.RoleDealerManager, auth.RoleDealerGM, auth.RoleServiceManager))
}
