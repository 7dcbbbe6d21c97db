package grpc

import (
	"context"

	evaluationv1 "github.com/dealercare/dealercare/gen/go/dealercare/evaluation/v1"
	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
	"github.com/dealercare/dealercare/services/evaluation/export"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc/metadata"
)

// ExportServer implements evaluationv1.KpiExportServiceServer: the same
// answers as Server's, through the same Service (so the same access
// rules), written as CSV or XLSX.
type ExportServer struct {
	evaluationv1.UnimplementedKpiExportServiceServer
	svc *evaluation.Service
}

// NewExportServer returns the export API over svc.
func NewExportServer(svc *evaluation.Service) *ExportServer { return &ExportServer{svc: svc} }

func format(f evaluationv1.ExportFormat) export.Format {
	if f == evaluationv1.ExportFormat_EXPORT_FORMAT_XLSX {
		return export.XLSX
	}
	return export.CSV
}

// fileLang is the language of a file's headers: the caller's
// Accept-Language, zh-CN without one (the product's users are Chinese
// dealers; the API's error messages default to English instead).
func fileLang(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, k := range []string{"accept-language", "grpcgateway-accept-language"} {
		if v := md.Get(k); len(v) > 0 && v[0] != "" {
			return apperr.ParseAcceptLanguage(v[0])
		}
	}
	return apperr.LangZH
}

func file(f evaluationv1.ExportFormat, s export.Sheet) (*httpbody.HttpBody, error) {
	ff := format(f)
	b, err := export.Write(ff, s)
	if err != nil {
		return nil, err
	}
	return &httpbody.HttpBody{ContentType: ff.ContentType(), Data: b}, nil
}

// ExportDealerKpis implements the RPC.
func (s *ExportServer) ExportDealerKpis(ctx context.Context, req *evaluationv1.ExportDealerKpisRequest) (*httpbody.HttpBody, error) {
	t, err := s.svc.DealerKpis(ctx, req.GetDealer(), query(req.GetQuery()))
	if err != nil {
		return nil, err
	}
	return file(req.GetFormat(), export.KPITable(t, fileLang(ctx)))
}

// ExportRegionKpis implements the RPC.
func (s *ExportServer) ExportRegionKpis(ctx context.Context, req *evaluationv1.ExportRegionKpisRequest) (*httpbody.HttpBody, error) {
	t, err := s.svc.RegionKpis(ctx, req.GetRegion(), query(req.GetQuery()))
	if err != nil {
		return nil, err
	}
	return file(req.GetFormat(), export.KPITable(t, fileLang(ctx)))
}

// ExportNetworkKpis implements the RPC.
func (s *ExportServer) ExportNetworkKpis(ctx context.Context, req *evaluationv1.ExportNetworkKpisRequest) (*httpbody.HttpBody, error) {
	t, err := s.svc.NetworkKpis(ctx, query(req.GetQuery()))
	if err != nil {
		return nil, err
	}
	return file(req.GetFormat(), export.KPITable(t, fileLang(ctx)))
}

// ExportRanking implements the RPC.
func (s *ExportServer) ExportRanking(ctx context.Context, req *evaluationv1.ExportRankingRequest) (*httpbody.HttpBody, error) {
	r, err := s.svc.Rank(ctx, query(req.GetQuery()), req.GetRegion())
	if err != nil {
		return nil, err
	}
	return file(req.GetFormat(), export.Ranking(r, fileLang(ctx)))
}
