package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestPrincipalRoles(t *testing.T) {
	tests := []struct {
		name                                    string
		p                                       Principal
		wantHQ, wantRegion, wantDealer, wantPII bool
	}{
		{"agent", Principal{Roles: []Role{RoleAgent}, Dealer: "D001"}, false, false, true, true},
		{"dealer manager", Principal{Roles: []Role{RoleDealerManager}, Dealer: "D001"}, false, false, true, true},
		{"service manager", Principal{Roles: []Role{RoleServiceManager}, Dealer: "D001"}, false, false, true, true},
		{"sales manager", Principal{Roles: []Role{RoleSalesManager}, Dealer: "D001"}, false, false, true, true},
		{"dealer gm", Principal{Roles: []Role{RoleDealerGM}, Dealer: "D001"}, false, false, true, true},
		{"region manager", Principal{Roles: []Role{RoleRegionManager}, Region: "EAST"}, false, true, false, false},
		{"hq analyst", Principal{Roles: []Role{RoleHQAnalyst}}, true, false, false, false},
		{"hq admin", Principal{Roles: []Role{RoleHQAdmin}}, true, false, false, true},
		{"analyst and admin", Principal{Roles: []Role{RoleHQAnalyst, RoleHQAdmin}}, true, false, false, true},
		{"no roles", Principal{}, false, false, false, false},
		{"unknown role only", Principal{Roles: []Role{"superuser"}}, false, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.IsHQ(); got != tt.wantHQ {
				t.Errorf("IsHQ() = %v, want %v", got, tt.wantHQ)
			}
			if got := tt.p.IsRegion(); got != tt.wantRegion {
				t.Errorf("IsRegion() = %v, want %v", got, tt.wantRegion)
			}
			if got := tt.p.IsDealer(); got != tt.wantDealer {
				t.Errorf("IsDealer() = %v, want %v", got, tt.wantDealer)
			}
			if got := tt.p.CanSeePersonalData(); got != tt.wantPII {
				t.Errorf("CanSeePersonalData() = %v, want %v", got, tt.wantPII)
			}
		})
	}
}

func TestPrincipalHasRole(t *testing.T) {
	p := Principal{Roles: []Role{RoleAgent, RoleDealerManager}}
	tests := []struct {
		roles []Role
		want  bool
	}{
		{[]Role{RoleAgent}, true},
		{[]Role{RoleHQAdmin, RoleDealerManager}, true},
		{[]Role{RoleHQAdmin}, false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := p.HasRole(tt.roles...); got != tt.want {
			t.Errorf("HasRole(%v) = %v, want %v", tt.roles, got, tt.want)
		}
	}
}

func TestPrincipalValidate(t *testing.T) {
	tests := []struct {
		name    string
		p       Principal
		wantErr string // "" means valid
	}{
		{"agent with dealer", Principal{Subject: "u1", Roles: []Role{RoleAgent}, Dealer: "D001"}, ""},
		{"region manager with region", Principal{Subject: "u1", Roles: []Role{RoleRegionManager}, Region: "EAST"}, ""},
		{"hq analyst without dealer or region", Principal{Subject: "u1", Roles: []Role{RoleHQAnalyst}}, ""},
		{"hq admin", Principal{Subject: "u1", Roles: []Role{RoleHQAdmin}}, ""},
		{"gm and manager of one dealer", Principal{Subject: "u1", Roles: []Role{RoleDealerGM, RoleDealerManager}, Dealer: "D001"}, ""},
		{"no subject", Principal{Roles: []Role{RoleHQAdmin}}, `missing subject ("sub" claim)`},
		{"blank subject", Principal{Subject: "  ", Roles: []Role{RoleHQAdmin}}, `missing subject ("sub" claim)`},
		{"no roles", Principal{Subject: "u1"}, `no roles ("roles" claim): at least one of agent, dealer_manager, service_manager, sales_manager, dealer_gm, region_manager, hq_analyst, hq_admin, service is required`},
		{"unknown role", Principal{Subject: "u1", Roles: []Role{RoleHQAdmin, "superuser"}}, `unknown role "superuser" (known roles: agent, dealer_manager, service_manager, sales_manager, dealer_gm, region_manager, hq_analyst, hq_admin, service)`},
		{"role differing in case", Principal{Subject: "u1", Roles: []Role{"HQ_ADMIN"}}, `unknown role "HQ_ADMIN"`},
		{"agent without dealer", Principal{Subject: "u1", Roles: []Role{RoleAgent}}, `role "agent" requires a "dealer" claim`},
		{"gm without dealer", Principal{Subject: "u1", Roles: []Role{RoleDealerGM}, Region: "EAST"}, `role "dealer_gm" requires a "dealer" claim`},
		{"region manager without region", Principal{Subject: "u1", Roles: []Role{RoleRegionManager}, Dealer: "D001"}, `role "region_manager" requires a "region" claim`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want error containing %q", tt.wantErr)
			}
			if !errors.Is(err, ErrInvalidPrincipal) {
				t.Errorf("Validate() = %v, does not wrap ErrInvalidPrincipal", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Validate() = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestPrincipalContext(t *testing.T) {
	if p, ok := PrincipalFromContext(context.Background()); ok || p != nil {
		t.Fatalf("PrincipalFromContext(empty) = %v, %v; want nil, false", p, ok)
	}
	if p, ok := PrincipalFromContext(NewContextWithPrincipal(context.Background(), nil)); ok || p != nil {
		t.Fatalf("PrincipalFromContext(nil principal) = %v, %v; want nil, false", p, ok)
	}
	want := &Principal{Subject: "u1", Roles: []Role{RoleHQAdmin}}
	got, ok := PrincipalFromContext(NewContextWithPrincipal(context.Background(), want))
	if !ok || got != want {
		t.Fatalf("PrincipalFromContext() = %v, %v; want %v, true", got, ok, want)
	}
}
