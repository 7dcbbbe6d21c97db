package importer

import (
	"context"
	"testing"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/services/customer/archive"
)

// memStore keeps imports in memory; the runner's methods are not needed.
type memStore struct {
	Store
	imports map[string]*Import
}

func (m *memStore) CreateImport(_ context.Context, imp *Import, _ []byte) (*Import, error) {
	imp.ID = "i1"
	m.imports[imp.Dealer+"/"+imp.ID] = imp
	return imp, nil
}

func (m *memStore) GetImport(_ context.Context, dealer, id string) (*Import, error) {
	if imp, ok := m.imports[dealer+"/"+id]; ok {
		return imp, nil
	}
	return nil, apperr.NotFound("import", "导入任务", id)
}

func (m *memStore) ListImportErrors(context.Context, string, string, archive.Page) ([]RowError, string, error) {
	return []RowError{{Row: 2, Field: "vin", Reason: "bad"}}, "", nil
}

type readsOwnDealer struct{}

func (readsOwnDealer) CanRead(ctx context.Context, dealer string) (bool, error) {
	p, _ := auth.PrincipalFromContext(ctx)
	return p.IsHQ() || p.Dealer == dealer, nil
}

func TestServiceAccess(t *testing.T) {
	svc := NewService(&memStore{imports: map[string]*Import{}}, readsOwnDealer{})
	ctx := func(dealer string, roles ...auth.Role) context.Context {
		return auth.NewContextWithPrincipal(context.Background(), &auth.Principal{Subject: "u", Roles: roles, Dealer: dealer})
	}
	file := []byte("dms_customer_id\nC1\n")
	for _, tc := range []struct {
		name     string
		ctx      context.Context
		encoding string
		content  []byte
		want     string
	}{
		{"own agent", ctx("D1", auth.RoleAgent), "", file, ""},
		{"own manager, GBK spelled cp936", ctx("D1", auth.RoleDealerManager), "CP936", file, ""},
		{"another dealer", ctx("D2", auth.RoleAgent), "", file, apperr.ENOTFOUND},
		{"HQ admin", ctx("", auth.RoleHQAdmin), "", file, apperr.EFORBIDDEN},
		{"anonymous", context.Background(), "", file, apperr.EUNAUTHORIZED},
		{"empty file", ctx("D1", auth.RoleAgent), "", nil, apperr.EINVALID},
		{"unknown encoding", ctx("D1", auth.RoleAgent), "big5", file, apperr.EINVALID},
	} {
		imp, err := svc.CreateImport(tc.ctx, "D1", " x.csv ", tc.content, tc.encoding)
		if apperr.Code(err) != tc.want {
			t.Errorf("%s: error %v, want code %q", tc.name, err, tc.want)
			continue
		}
		if err == nil && (imp.State != StateRunning || imp.FileName != "x.csv" || imp.Creator != "u") {
			t.Errorf("%s: import %+v", tc.name, imp)
		}
	}
	if imp, _ := svc.GetImport(ctx("", auth.RoleHQAnalyst), "D1", "i1"); imp == nil || imp.Encoding != EncodingGBK {
		t.Errorf("HQ reads the import: %+v", imp)
	}
	if _, err := svc.GetImport(ctx("D2", auth.RoleAgent), "D1", "i1"); apperr.Code(err) != apperr.ENOTFOUND {
		t.Errorf("another dealer reads the import: %v", err)
	}
	if _, _, err := svc.ListImportErrors(ctx("D1", auth.RoleAgent), "D1", "nope", archive.Page{}); apperr.Code(err) != apperr.ENOTFOUND {
		t.Errorf("errors of a missing import: %v", err)
	}
	if es, _, err := svc.ListImportErrors(ctx("D1", auth.RoleAgent), "D1", "i1", archive.Page{}); err != nil || len(es) != 1 {
		t.Errorf("errors = %v, %v", es, err)
	}
}
