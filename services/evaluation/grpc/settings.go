package grpc

import (
	"context"

	evaluationv1 "github.com/dealercare/dealercare/gen/go/dealercare/evaluation/v1"
	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/pbconv"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
)

// SettingsServer implements evaluationv1.RankingSettingsServiceServer.
type SettingsServer struct {
	evaluationv1.UnimplementedRankingSettingsServiceServer
	svc *evaluation.Service
}

// NewSettingsServer returns the ranking settings API over svc.
func NewSettingsServer(svc *evaluation.Service) *SettingsServer { return &SettingsServer{svc: svc} }

func settingsToProto(s evaluation.RankingSettings) *evaluationv1.RankingSettings {
	return &evaluationv1.RankingSettings{DealersSeeNames: s.DealersSeeNames, UpdateBy: s.UpdateBy, UpdateTime: pbconv.Timestamp(s.UpdateTime)}
}

// GetRankingSettings implements the RPC.
func (s *SettingsServer) GetRankingSettings(ctx context.Context, _ *evaluationv1.GetRankingSettingsRequest) (*evaluationv1.RankingSettings, error) {
	out, err := s.svc.RankingSettings(ctx)
	if err != nil {
		return nil, err
	}
	return settingsToProto(out), nil
}

// UpdateRankingSettings implements the RPC: the mask names the fields to
// change (all when empty); an unknown one is EINVALID on update_mask.
func (s *SettingsServer) UpdateRankingSettings(ctx context.Context, req *evaluationv1.UpdateRankingSettingsRequest) (*evaluationv1.RankingSettings, error) {
	cur, err := s.svc.RankingSettings(ctx)
	if err != nil {
		return nil, err
	}
	in := req.GetSettings()
	mask := req.GetUpdateMask().GetPaths()
	if len(mask) == 0 {
		mask = []string{"dealers_see_names"}
	}
	for _, f := range mask {
		switch f {
		case "dealers_see_names", "dealersSeeNames":
			cur.DealersSeeNames = in.GetDealersSeeNames()
		default:
			return nil, apperr.Invalid("update_mask", "cannot update field "+f).ZhReason("不能修改字段 " + f)
		}
	}
	out, err := s.svc.SetRankingSettings(ctx, cur)
	if err != nil {
		return nil, err
	}
	return settingsToProto(out), nil
}
