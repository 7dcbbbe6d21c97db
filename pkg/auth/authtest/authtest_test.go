package authtest

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/dealercare/dealercare/pkg/auth"
)

func TestIssuedTokensVerify(t *testing.T) {
	i := New(t)
	v, err := auth.NewVerifier(context.Background(), i.Config)
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(context.Background(), i.Token(t, auth.Principal{Subject: "a", Roles: []auth.Role{auth.RoleAgent}, Dealer: "SH001"}))
	if err != nil || p.Subject != "a" || p.Dealer != "SH001" {
		t.Fatalf("agent token: %+v, %v", p, err)
	}
	raw, err := os.ReadFile(i.ServiceTokenFile)
	if err != nil {
		t.Fatal(err)
	}
	p, err = v.Verify(context.Background(), strings.TrimSpace(string(raw)))
	if err != nil || !p.IsService() {
		t.Fatalf("service token: %+v, %v", p, err)
	}
}
