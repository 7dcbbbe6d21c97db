package callback

import (
	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
)

// Who may do what beyond reading (reading is pkg/tenancy's rule: a dealer
// the caller does not see is not found).

// CanWork: the dealer's agents and CS managers call customers (claim,
// record attempts, complete).
func CanWork(p *auth.Principal, dealer string) bool {
	return p.Dealer == dealer && p.HasRole(auth.RoleAgent, auth.RoleDealerManager)
}

// CanManage: the dealer's CS manager, or an HQ admin, assigns, cancels,
// keeps the agents' rotation, the dealer's policy override and its own
// questions.
func CanManage(p *auth.Principal, dealer string) bool {
	return p.HasRole(auth.RoleHQAdmin) || (p.Dealer == dealer && p.HasRole(auth.RoleDealerManager))
}

// CanInstruct: the dealer's service or sales manager, GM or CS manager
// record instructions and rectifications.
func CanInstruct(p *auth.Principal, dealer string) bool {
	return p.Dealer == dealer && p.HasRole(auth.RoleServiceManager, auth.RoleSalesManager, auth.RoleDealerGM, auth.RoleDealerManager)
}

// CanSetStandards: HQ admins publish questionnaires and the default
// policy.
func CanSetStandards(p *auth.Principal) bool { return p.HasRole(auth.RoleHQAdmin) }

// Forbidden is the error of a role that may read but not do this.
func Forbidden(what, whatZh string) error {
	return apperr.Errorf(apperr.EFORBIDDEN, "your role may not %s", what).Zh("您的角色不能" + whatZh)
}
