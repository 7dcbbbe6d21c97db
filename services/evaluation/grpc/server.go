// Package grpc is the evaluation service's gRPC port: the REST-facing
// KpiService and the workflow-only EvaluationWorkflowService, converting
// between the protos and the domain. Errors are apperr's; pkg/grpcserver
// maps them to status codes.
package grpc

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	evaluationv1 "github.com/dealercare/dealercare/gen/go/dealercare/evaluation/v1"
	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/pbconv"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
)

// Server implements evaluationv1.KpiServiceServer.
type Server struct {
	evaluationv1.UnimplementedKpiServiceServer
	svc *evaluation.Service
}

// NewServer returns the KPI API over svc.
func NewServer(svc *evaluation.Service) *Server { return &Server{svc: svc} }

func query(q *evaluationv1.PeriodQuery) evaluation.Query {
	return evaluation.Query{Granularity: granularity(q.GetGranularity()), Date: q.GetDate(), Periods: int(q.GetPeriods())}
}

func granularity(g evaluationv1.Granularity) evaluation.Granularity {
	return evaluation.Granularity(pbconv.EnumName(g.String(), "GRANULARITY_"))
}

func granularityValue(g evaluation.Granularity) evaluationv1.Granularity {
	return evaluationv1.Granularity(pbconv.EnumValue(string(g), "GRANULARITY_", evaluationv1.Granularity_value))
}

func ratingValue(r evaluation.Rating) evaluationv1.Rating {
	return evaluationv1.Rating(pbconv.EnumValue(string(r), "RATING_", evaluationv1.Rating_value))
}

// values answers every KPI of f, rated against set.
func values(f evaluation.Figures, set *evaluation.TargetSet) []*evaluationv1.KpiValue {
	out := make([]*evaluationv1.KpiValue, 0, len(evaluation.KPIs))
	for _, k := range evaluation.KPIs {
		fig := f[k]
		v := &evaluationv1.KpiValue{Kpi: k, Numerator: evaluation.NumeratorValue(k, fig), Denominator: fig.Denominator}
		val, ok := evaluation.Value(k, fig)
		if ok {
			v.Value = &val
		}
		if t, has := set.Target(k); has {
			target := t.Target
			v.Target = &target
			if ok {
				v.Rating = ratingValue(evaluation.Rate(k, val, t))
			}
		}
		out = append(out, v)
	}
	return out
}

func day(d evaluation.Date) string { return d.Format(time.DateOnly) }

func tableToProto(t *evaluation.Table) *evaluationv1.KpiTable {
	out := &evaluationv1.KpiTable{Scope: t.Scope, Granularity: granularityValue(t.Granularity)}
	for _, p := range t.Periods {
		kp := &evaluationv1.KpiPeriod{StartDate: day(p.Start), EndDate: day(p.End), Values: values(p.Figures, p.Targets)}
		if score, ok := evaluation.Composite(p.Figures, p.Targets); ok {
			kp.CompositeScore = &score
		}
		out.Periods = append(out.Periods, kp)
	}
	return out
}

// GetDealerKpis implements the RPC.
func (s *Server) GetDealerKpis(ctx context.Context, req *evaluationv1.GetDealerKpisRequest) (*evaluationv1.KpiTable, error) {
	t, err := s.svc.DealerKpis(ctx, req.GetDealer(), query(req.GetQuery()))
	if err != nil {
		return nil, err
	}
	return tableToProto(t), nil
}

// GetRegionKpis implements the RPC.
func (s *Server) GetRegionKpis(ctx context.Context, req *evaluationv1.GetRegionKpisRequest) (*evaluationv1.KpiTable, error) {
	t, err := s.svc.RegionKpis(ctx, req.GetRegion(), query(req.GetQuery()))
	if err != nil {
		return nil, err
	}
	return tableToProto(t), nil
}

// GetNetworkKpis implements the RPC.
func (s *Server) GetNetworkKpis(ctx context.Context, req *evaluationv1.GetNetworkKpisRequest) (*evaluationv1.KpiTable, error) {
	t, err := s.svc.NetworkKpis(ctx, query(req.GetQuery()))
	if err != nil {
		return nil, err
	}
	return tableToProto(t), nil
}

// RankDealers implements the RPC.
func (s *Server) RankDealers(ctx context.Context, req *evaluationv1.RankDealersRequest) (*evaluationv1.Ranking, error) {
	offset, err := rankOffset(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	r, err := s.svc.Rank(ctx, query(req.GetQuery()), req.GetRegion())
	if err != nil {
		return nil, err
	}
	next := ""
	if size := int(req.GetPageSize()); size > 0 || offset > 0 {
		r.Ranks = r.Ranks[min(offset, len(r.Ranks)):]
		if size > 0 && len(r.Ranks) > size {
			r.Ranks, next = r.Ranks[:size], rankToken(offset+size)
		}
	}
	out := &evaluationv1.Ranking{Granularity: granularityValue(r.Granularity), StartDate: day(r.Start), EndDate: day(r.End),
		Region: r.Region, DealerCount: int32(r.DealerCount), MedianScore: r.Median, TargetVersion: int32(r.TargetVersion), NextPageToken: next}
	set := r.Targets
	for _, rank := range r.Ranks {
		out.Ranks = append(out.Ranks, &evaluationv1.DealerRank{Dealer: rank.Dealer, DealerName: rank.Name, Region: rank.Region, CompositeScore: rank.Score,
			Rank: int32(rank.Rank), Percentile: rank.Percentile, PreviousRank: int32(rank.PreviousRank), Movement: int32(rank.Movement),
			Values: values(rank.Figures, set)})
	}
	return out, nil
}

// A ranking's page token is the offset of its first rank.
const rankTokenPrefix = "rank:"

func rankToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(rankTokenPrefix + strconv.Itoa(offset)))
}

func rankOffset(token string) (int, error) {
	if token == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	n, convErr := strconv.Atoi(strings.TrimPrefix(string(raw), rankTokenPrefix))
	if err != nil || convErr != nil || !strings.HasPrefix(string(raw), rankTokenPrefix) || n < 0 {
		return 0, apperr.Invalid("page_token", "is not a token returned by a previous call").ZhReason("不是上一次调用返回的分页令牌")
	}
	return n, nil
}

func targetSetToProto(t evaluation.TargetSet) *evaluationv1.KpiTargetSet {
	out := &evaluationv1.KpiTargetSet{Version: int32(t.Version), EffectiveMonth: t.EffectiveMonth.Format("2006-01"),
		CreateBy: t.CreateBy, CreateTime: pbconv.Timestamp(t.CreateTime)}
	for _, x := range t.Targets {
		out.Targets = append(out.Targets, &evaluationv1.KpiTarget{Kpi: x.KPI, Target: x.Target, Weight: x.Weight, AmberRatio: x.AmberRatio})
	}
	return out
}

// ListKpiTargetSets implements the RPC.
func (s *Server) ListKpiTargetSets(ctx context.Context, _ *evaluationv1.ListKpiTargetSetsRequest) (*evaluationv1.ListKpiTargetSetsResponse, error) {
	sets, err := s.svc.TargetSets(ctx)
	if err != nil {
		return nil, err
	}
	out := &evaluationv1.ListKpiTargetSetsResponse{}
	for _, t := range sets {
		out.TargetSets = append(out.TargetSets, targetSetToProto(t))
	}
	return out, nil
}

// CreateKpiTargetSet implements the RPC.
func (s *Server) CreateKpiTargetSet(ctx context.Context, req *evaluationv1.CreateKpiTargetSetRequest) (*evaluationv1.KpiTargetSet, error) {
	in := req.GetTargetSet()
	month, err := time.Parse("2006-01", in.GetEffectiveMonth())
	if err != nil {
		return nil, apperr.Invalid("target_set.effective_month", "must be a month YYYY-MM").ZhReason("须为月份 YYYY-MM")
	}
	set := evaluation.TargetSet{EffectiveMonth: month}
	for _, t := range in.GetTargets() {
		set.Targets = append(set.Targets, evaluation.Target{KPI: t.GetKpi(), Target: t.GetTarget(), Weight: t.GetWeight(), AmberRatio: t.GetAmberRatio()})
	}
	created, err := s.svc.CreateTargetSet(ctx, set)
	if err != nil {
		return nil, err
	}
	return targetSetToProto(*created), nil
}
