package tenancy_test

import (
	"context"
	"testing"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/tenancy"
)

func TestRequireService(t *testing.T) {
	for _, tc := range []struct {
		name string
		ctx  context.Context
		code string
	}{
		{"no principal", context.Background(), apperr.EUNAUTHORIZED},
		{"HQ admin", auth.NewContextWithPrincipal(context.Background(), &auth.Principal{Subject: "u1", Roles: []auth.Role{auth.RoleHQAdmin}}), apperr.EFORBIDDEN},
		{"service", auth.NewContextWithPrincipal(context.Background(), &auth.Principal{Subject: "worker", Roles: []auth.Role{auth.RoleService}}), ""},
	} {
		err := tenancy.RequireService(tc.ctx)
		if got := apperr.Code(err); got != tc.code {
			t.Errorf("%s: %v (%s), want %q", tc.name, err, got, tc.code)
		}
	}
}
