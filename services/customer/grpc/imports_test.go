package grpc

import (
	"context"
	"testing"
	"time"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/services/customer/archive"
	"github.com/dealercare/dealercare/services/customer/importer"
)

// importStore answers with fixed data; the runner's methods are unused.
type importStore struct {
	importer.Store
	created []byte
}

var finished = time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)

func (s *importStore) CreateImport(_ context.Context, imp *importer.Import, content []byte) (*importer.Import, error) {
	s.created = content
	out := *imp
	out.ID, out.CreateTime = "i1", finished.Add(-time.Minute)
	return &out, nil
}

func (s *importStore) GetImport(_ context.Context, dealer, id string) (*importer.Import, error) {
	if id != "i1" {
		return nil, apperr.NotFound("import", "导入任务", id)
	}
	return &importer.Import{ID: id, Dealer: dealer, Encoding: "gbk", State: importer.StateSucceeded, TotalRows: 4, ProcessedRows: 4,
		Inserted: 1, Updated: 1, Unchanged: 1, Failed: 1, CreateTime: finished.Add(-time.Minute), FinishTime: finished}, nil
}

func (s *importStore) ListImportErrors(context.Context, string, string, archive.Page) ([]importer.RowError, string, error) {
	return []importer.RowError{{Row: 3, Field: "vin", Reason: "bad check digit"}}, "next", nil
}

type anyDealer struct{}

func (anyDealer) CanRead(context.Context, string) (bool, error) { return true, nil }

func TestImportServer(t *testing.T) {
	store := &importStore{}
	srv := NewImportServer(importer.NewService(store, anyDealer{}))
	ctx := auth.NewContextWithPrincipal(context.Background(), &auth.Principal{Subject: "u", Roles: []auth.Role{auth.RoleAgent}, Dealer: "D1"})

	created, err := srv.CreateImport(ctx, &customerv1.CreateImportRequest{Dealer: "D1", FileName: "dms.csv", Content: []byte("x"), Encoding: "gbk"})
	if err != nil {
		t.Fatal(err)
	}
	if created.GetState() != customerv1.ImportState_IMPORT_STATE_RUNNING || created.GetEncoding() != "gbk" || created.GetFinishTime() != nil ||
		created.GetId() != "i1" || string(store.created) != "x" {
		t.Errorf("CreateImport = %v", created)
	}
	got, err := srv.GetImport(ctx, &customerv1.GetImportRequest{Dealer: "D1", Import: "i1"})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetState() != customerv1.ImportState_IMPORT_STATE_SUCCEEDED || got.GetTotalRows() != 4 || got.GetInsertedRows() != 1 ||
		got.GetUpdatedRows() != 1 || got.GetUnchangedRows() != 1 || got.GetFailedRows() != 1 || !got.GetFinishTime().AsTime().Equal(finished) {
		t.Errorf("GetImport = %v", got)
	}
	if _, err := srv.GetImport(ctx, &customerv1.GetImportRequest{Dealer: "D1", Import: "nope"}); apperr.Code(err) != apperr.ENOTFOUND {
		t.Errorf("GetImport of a missing import: %v", err)
	}
	errs, err := srv.ListImportErrors(ctx, &customerv1.ListImportErrorsRequest{Dealer: "D1", Import: "i1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(errs.GetErrors()) != 1 || errs.GetErrors()[0].GetRow() != 3 || errs.GetErrors()[0].GetField() != "vin" || errs.GetNextPageToken() != "next" {
		t.Errorf("ListImportErrors = %v", errs)
	}
}
