package tenancy

import (
	"context"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
)

// RequireService admits only the platform's service identity (the
// worker's activities, the evaluation's feed readers) to an internal RPC
// that works across dealers: a call without a principal is
// UNAUTHENTICATED, any other caller PERMISSION_DENIED.
func RequireService(ctx context.Context) error {
	p, ok := auth.PrincipalFromContext(ctx)
	if !ok {
		return apperr.Errorf(apperr.EUNAUTHORIZED, "authentication required").Zh("需要登录认证")
	}
	if !p.IsService() {
		return apperr.Errorf(apperr.EFORBIDDEN, "only the platform's service identity may call this").Zh("仅平台服务身份可调用")
	}
	return nil
}
