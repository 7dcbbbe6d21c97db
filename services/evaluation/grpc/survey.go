package grpc

import (
	"context"

	evaluationv1 "github.com/dealercare/dealercare/gen/go/dealercare/evaluation/v1"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
)

// SurveyServer implements evaluationv1.SurveyAnalysisServiceServer.
type SurveyServer struct {
	evaluationv1.UnimplementedSurveyAnalysisServiceServer
	surveys *evaluation.Surveys
}

// NewSurveyServer returns the survey analysis API.
func NewSurveyServer(surveys *evaluation.Surveys) *SurveyServer {
	return &SurveyServer{surveys: surveys}
}

func surveyToProto(a *evaluation.SurveyAnalysis) *evaluationv1.SurveyAnalysis {
	out := &evaluationv1.SurveyAnalysis{Scope: a.Scope, Granularity: granularityValue(a.Granularity)}
	for _, p := range a.Periods {
		sp := &evaluationv1.SurveyPeriod{StartDate: day(p.Start), EndDate: day(p.End)}
		for _, q := range p.Questions {
			qa := &evaluationv1.QuestionAnalysis{Kind: q.Kind, QuestionnaireVersion: int32(q.Version), DealerQuestion: q.DealerQuestion,
				Question: q.Question, Type: q.Type, Scale: int32(q.Scale), Responses: q.Responses, RatingSum: q.RatingSum,
				LowScoreMax: int32(q.LowMax), LowCount: q.LowCount}
			if m, ok := q.Mean(); ok {
				qa.Mean = &m
			}
			if l, ok := q.LowShare(); ok {
				qa.LowShare = &l
			}
			for _, d := range q.Distribution {
				qa.Distribution = append(qa.Distribution, &evaluationv1.AnswerCount{Answer: d.Answer, Count: d.Count})
			}
			if q.NPS != nil {
				score, _ := q.NPS.Score()
				qa.Nps = &evaluationv1.NetPromoterScore{Promoters: q.NPS.Promoters, Passives: q.NPS.Passives, Detractors: q.NPS.Detractors,
					Responses: q.NPS.Responses, Score: score}
			}
			sp.Questions = append(sp.Questions, qa)
		}
		out.Periods = append(out.Periods, sp)
	}
	return out
}

// surveyRequest is what the three analysis requests share.
type surveyRequest interface {
	GetKind() string
	GetQuestionnaireVersion() int32
	GetQuestion() string
}

func surveyFilter(r surveyRequest) evaluation.SurveyFilter {
	return evaluation.SurveyFilter{Kind: r.GetKind(), Version: int(r.GetQuestionnaireVersion()), Question: r.GetQuestion()}
}

// GetDealerSurveyAnalysis implements the RPC.
func (s *SurveyServer) GetDealerSurveyAnalysis(ctx context.Context, req *evaluationv1.GetDealerSurveyAnalysisRequest) (*evaluationv1.SurveyAnalysis, error) {
	a, err := s.surveys.Dealer(ctx, req.GetDealer(), surveyFilter(req), query(req.GetQuery()))
	if err != nil {
		return nil, err
	}
	return surveyToProto(a), nil
}

// GetRegionSurveyAnalysis implements the RPC.
func (s *SurveyServer) GetRegionSurveyAnalysis(ctx context.Context, req *evaluationv1.GetRegionSurveyAnalysisRequest) (*evaluationv1.SurveyAnalysis, error) {
	a, err := s.surveys.Region(ctx, req.GetRegion(), surveyFilter(req), query(req.GetQuery()))
	if err != nil {
		return nil, err
	}
	return surveyToProto(a), nil
}

// GetNetworkSurveyAnalysis implements the RPC.
func (s *SurveyServer) GetNetworkSurveyAnalysis(ctx context.Context, req *evaluationv1.GetNetworkSurveyAnalysisRequest) (*evaluationv1.SurveyAnalysis, error) {
	a, err := s.surveys.Network(ctx, surveyFilter(req), query(req.GetQuery()))
	if err != nil {
		return nil, err
	}
	return surveyToProto(a), nil
}
