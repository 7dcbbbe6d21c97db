package grpc

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	evaluationv1 "github.com/dealercare/dealercare/gen/go/dealercare/evaluation/v1"
	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/pbconv"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
)

// FactServer implements evaluationv1.KpiFactServiceServer.
type FactServer struct {
	evaluationv1.UnimplementedKpiFactServiceServer
	svc   *evaluation.Service
	facts evaluation.FactStore
}

// NewFactServer returns the drill-down API over svc and the facts.
func NewFactServer(svc *evaluation.Service, facts evaluation.FactStore) *FactServer {
	return &FactServer{svc: svc, facts: facts}
}

// factToken continues after a fact: its time and id. The ids are the
// source services' (not all UUIDs), so pg.EncodePageToken's UUID check
// does not fit.
func factToken(f evaluation.KPIFact) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(f.Time.UnixNano(), 10) + "|" + f.ID))
}

func parseFactToken(tok string) (time.Time, string, error) {
	if tok == "" {
		return time.Time{}, "", nil
	}
	bad := apperr.Invalid("page_token", "is not a token returned by a previous call").ZhReason("不是上一次调用返回的分页令牌")
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || !utf8.Valid(raw) || strings.ContainsRune(string(raw), 0) {
		return time.Time{}, "", bad
	}
	ns, id, ok := strings.Cut(string(raw), "|")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || id == "" || len(id) > 200 {
		return time.Time{}, "", bad
	}
	return time.Unix(0, n), id, nil
}

// ListKpiFacts implements the RPC.
func (s *FactServer) ListKpiFacts(ctx context.Context, req *evaluationv1.ListKpiFactsRequest) (*evaluationv1.ListKpiFactsResponse, error) {
	after, afterID, err := parseFactToken(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	q := evaluation.FactQuery{Dealer: req.GetDealer(), KPI: req.GetKpi(), MissedOnly: req.GetMissedOnly(),
		AfterTime: after, AfterID: afterID, Limit: int(req.GetPageSize())}
	page, err := s.svc.KPIFacts(ctx, s.facts, q, query(req.GetQuery()))
	if err != nil {
		return nil, err
	}
	out := &evaluationv1.ListKpiFactsResponse{StartDate: day(page.Start), EndDate: day(page.End)}
	for _, f := range page.Facts {
		out.Facts = append(out.Facts, &evaluationv1.KpiFact{Kind: f.Kind, Id: f.ID, Time: pbconv.Timestamp(f.Time), Counted: f.Counted,
			Status: f.Status, Score: f.Score, DueTime: pbconv.Timestamp(f.DueTime), Deadline: pbconv.Timestamp(f.Deadline),
			CompleteTime: pbconv.Timestamp(f.CompleteTime)})
	}
	if page.More {
		out.NextPageToken = factToken(page.Facts[len(page.Facts)-1])
	}
	return out, nil
}
