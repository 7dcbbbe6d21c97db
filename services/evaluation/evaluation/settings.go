package evaluation

import (
	"context"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
)

// RankingSettings are HQ's choices of what dealers see of a ranking.
type RankingSettings struct {
	// DealersSeeNames: dealer staff see the whole ranking with every
	// dealer's name; otherwise only their own place, the count and the
	// median.
	DealersSeeNames bool
	UpdateBy        string
	UpdateTime      time.Time
}

// RankingSettings answers HQ's ranking settings (any signed-in user: a
// dealer may know what it is shown).
func (s *Service) RankingSettings(ctx context.Context) (RankingSettings, error) {
	if _, _, err := s.access.Visible(ctx); err != nil {
		return RankingSettings{}, err
	}
	return s.store.RankingSettings(ctx)
}

// SetRankingSettings stores HQ's ranking settings: HQ admins only
// (EFORBIDDEN for everyone else, regions included).
func (s *Service) SetRankingSettings(ctx context.Context, in RankingSettings) (RankingSettings, error) {
	p, _, err := s.access.Visible(ctx)
	if err != nil {
		return RankingSettings{}, err
	}
	if !p.HasRole(auth.RoleHQAdmin) {
		return RankingSettings{}, apperr.Errorf(apperr.EFORBIDDEN, "only HQ admins change the ranking settings").Zh("只有总部管理员可以修改排名设置")
	}
	in.UpdateBy = p.Subject
	return s.store.SetRankingSettings(ctx, in)
}
