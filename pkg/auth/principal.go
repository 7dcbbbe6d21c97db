// Package auth is the identity layer shared by the REST gateway and every
// gRPC service: the roles of the spec's user table, the Principal a request
// runs as, verification of the identity provider's JWTs against its JWKS,
// gRPC interceptors, and the dev key used by `make run` and `make token`.
//
// The gateway does not trust itself to authenticate for the services: it
// forwards the caller's bearer token and each service verifies it again, so a
// service reached directly (port-forward, a compromised neighbour) is just as
// protected as one reached through the gateway.
package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Role is a value of the JWT "roles" claim.
type Role string

// The roles of the spec's user table. The string values are the claim values
// the identity provider issues.
const (
	RoleAgent          Role = "agent"
	RoleDealerManager  Role = "dealer_manager"
	RoleServiceManager Role = "service_manager"
	RoleSalesManager   Role = "sales_manager"
	RoleDealerGM       Role = "dealer_gm"
	RoleRegionManager  Role = "region_manager"
	RoleHQAnalyst      Role = "hq_analyst"
	RoleHQAdmin        Role = "hq_admin"
	// RoleService is a platform process (the workflow worker) calling a
	// service's internal methods across dealers; people never hold it.
	RoleService Role = "service"
)

// knownRoles lists every role in the order of the spec's user table, which is
// also the order error messages list them in.
var knownRoles = []Role{
	RoleAgent, RoleDealerManager, RoleServiceManager, RoleSalesManager, RoleDealerGM,
	RoleRegionManager, RoleHQAnalyst, RoleHQAdmin, RoleService,
}

// dealerRoles are the roles whose scope is one dealership.
var dealerRoles = []Role{RoleAgent, RoleDealerManager, RoleServiceManager, RoleSalesManager, RoleDealerGM}

// KnownRoles returns every role this package understands.
func KnownRoles() []Role { return slices.Clone(knownRoles) }

// Known reports whether r is one of the roles of the spec.
func (r Role) Known() bool { return slices.Contains(knownRoles, r) }

// IsDealerRole reports whether r is scoped to a single dealership.
func (r Role) IsDealerRole() bool { return slices.Contains(dealerRoles, r) }

// Principal is the verified identity a request runs as.
type Principal struct {
	Subject string
	Roles   []Role
	// Dealer is the dealer code of a dealer-level user, "" otherwise.
	Dealer string
	// Region is the region code of a region manager, "" otherwise.
	Region string
}

// ErrInvalidPrincipal is wrapped by every error of Principal.Validate.
var ErrInvalidPrincipal = errors.New("invalid principal")

// HasRole reports whether p holds at least one of roles.
func (p *Principal) HasRole(roles ...Role) bool {
	for _, r := range roles {
		if slices.Contains(p.Roles, r) {
			return true
		}
	}
	return false
}

// IsHQ reports whether p works at headquarters (hq_analyst or hq_admin) and
// so reads across all dealers.
func (p *Principal) IsHQ() bool { return p.HasRole(RoleHQAnalyst, RoleHQAdmin) }

// IsRegion reports whether p is a region manager, who reads the dealers of
// p.Region.
func (p *Principal) IsRegion() bool { return p.HasRole(RoleRegionManager) }

// IsService reports whether p is a platform process (the worker).
func (p *Principal) IsService() bool { return p.HasRole(RoleService) }

// IsDealer reports whether p holds a role scoped to the dealership p.Dealer.
func (p *Principal) IsDealer() bool { return p.HasRole(dealerRoles...) }

// CanSeePersonalData reports whether p may see customers' personal data
// (mobile, ID number, name) in clear. Dealer staff work with their own
// customers and hq_admin needs it for escalations; hq_analyst and
// region_manager see aggregates and masked values only.
func (p *Principal) CanSeePersonalData() bool {
	return p.IsDealer() || p.HasRole(RoleHQAdmin)
}

// Validate checks that p is complete enough to scope queries: a subject, at
// least one role, only known roles, a dealer for dealer roles and a region
// for region_manager. Errors wrap ErrInvalidPrincipal and read as claim
// problems, because the claims are where they have to be fixed.
func (p *Principal) Validate() error {
	if strings.TrimSpace(p.Subject) == "" {
		return invalidPrincipal(`missing subject ("sub" claim)`)
	}
	if len(p.Roles) == 0 {
		return invalidPrincipal(`no roles ("roles" claim): at least one of %s is required`, roleList())
	}
	for _, r := range p.Roles {
		if !r.Known() {
			return invalidPrincipal("unknown role %q (known roles: %s)", string(r), roleList())
		}
	}
	for _, r := range p.Roles {
		if r.IsDealerRole() && strings.TrimSpace(p.Dealer) == "" {
			return invalidPrincipal(`role %q requires a "dealer" claim`, string(r))
		}
	}
	if p.IsRegion() && strings.TrimSpace(p.Region) == "" {
		return invalidPrincipal(`role %q requires a "region" claim`, string(RoleRegionManager))
	}
	return nil
}

// principalError keeps the reason apart so Verify can word it as a claim
// problem of the token without repeating "invalid principal".
type principalError struct{ reason string }

func (e *principalError) Error() string { return ErrInvalidPrincipal.Error() + ": " + e.reason }
func (e *principalError) Unwrap() error { return ErrInvalidPrincipal }

func invalidPrincipal(format string, args ...any) error {
	return &principalError{reason: fmt.Sprintf(format, args...)}
}

func roleList() string {
	names := make([]string, len(knownRoles))
	for i, r := range knownRoles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

// principalKey is the context key of the request's Principal; unexported so
// only this package can set it.
type principalKey struct{}

// NewContextWithPrincipal returns a copy of ctx carrying p.
func NewContextWithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFromContext returns the Principal stored by
// NewContextWithPrincipal, and false when there is none.
func PrincipalFromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}
