package grpc

import (
	"context"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/pbconv"
	"github.com/dealercare/dealercare/services/customer/importer"
)

// ImportServer implements customerv1.ImportServiceServer.
type ImportServer struct {
	customerv1.UnimplementedImportServiceServer
	svc *importer.Service
}

// NewImportServer returns the gRPC server of DMS imports.
func NewImportServer(svc *importer.Service) *ImportServer { return &ImportServer{svc: svc} }

var importStates = map[string]customerv1.ImportState{
	importer.StateRunning:   customerv1.ImportState_IMPORT_STATE_RUNNING,
	importer.StateSucceeded: customerv1.ImportState_IMPORT_STATE_SUCCEEDED,
	importer.StateFailed:    customerv1.ImportState_IMPORT_STATE_FAILED,
}

func importToProto(i *importer.Import) *customerv1.Import {
	return &customerv1.Import{
		Id: i.ID, Dealer: i.Dealer, FileName: i.FileName, Encoding: i.Encoding, State: importStates[i.State],
		TotalRows: int32(i.TotalRows), ProcessedRows: int32(i.ProcessedRows), InsertedRows: int32(i.Inserted),
		UpdatedRows: int32(i.Updated), UnchangedRows: int32(i.Unchanged), FailedRows: int32(i.Failed),
		Failure: i.Failure, CreateTime: pbconv.Timestamp(i.CreateTime), FinishTime: pbconv.Timestamp(i.FinishTime),
	}
}

// CreateImport implements the RPC.
func (s *ImportServer) CreateImport(ctx context.Context, req *customerv1.CreateImportRequest) (*customerv1.Import, error) {
	i, err := s.svc.CreateImport(ctx, req.GetDealer(), req.GetFileName(), req.GetContent(), req.GetEncoding())
	if err != nil {
		return nil, err
	}
	return importToProto(i), nil
}

// GetImport implements the RPC.
func (s *ImportServer) GetImport(ctx context.Context, req *customerv1.GetImportRequest) (*customerv1.Import, error) {
	i, err := s.svc.GetImport(ctx, req.GetDealer(), req.GetImport())
	if err != nil {
		return nil, err
	}
	return importToProto(i), nil
}

// ListImports implements the RPC.
func (s *ImportServer) ListImports(ctx context.Context, req *customerv1.ListImportsRequest) (*customerv1.ListImportsResponse, error) {
	is, next, err := s.svc.ListImports(ctx, req.GetDealer(), page(req.GetPageToken(), req.GetPageSize()))
	if err != nil {
		return nil, err
	}
	out := &customerv1.ListImportsResponse{Imports: make([]*customerv1.Import, 0, len(is)), NextPageToken: next}
	for i := range is {
		out.Imports = append(out.Imports, importToProto(&is[i]))
	}
	return out, nil
}

// ListImportErrors implements the RPC.
func (s *ImportServer) ListImportErrors(ctx context.Context, req *customerv1.ListImportErrorsRequest) (*customerv1.ListImportErrorsResponse, error) {
	es, next, err := s.svc.ListImportErrors(ctx, req.GetDealer(), req.GetImport(), page(req.GetPageToken(), req.GetPageSize()))
	if err != nil {
		return nil, err
	}
	out := &customerv1.ListImportErrorsResponse{Errors: make([]*customerv1.ImportError, 0, len(es)), NextPageToken: next}
	for _, e := range es {
		out.Errors = append(out.Errors, &customerv1.ImportError{Row: int32(e.Row), Field: e.Field, Reason: e.Reason})
	}
	return out, nil
}
