package evaluation

import (
	"context"
	"log/slog"

	pg "github.com/dealercare/dealercare/pkg/postgres"
)

// RankingKey names one finished ranking: a period of a granularity,
// network-wide (Region "") or within a region.
type RankingKey struct {
	Granularity Granularity
	Start       Date
	Region      string
}

// FinishedRanking is every ranked dealer's place in one period, with
// names, before the cut of what a caller may see (Service.Rank).
type FinishedRanking struct {
	// RegionKnown: the key's region has dealers (always true network-wide).
	RegionKnown bool
	Ranks       []Rank
	// Targets are the version in force (nil without targets).
	Targets *TargetSet
}

// RankingCache is a Store that keeps finished rankings by the generation
// of everything a ranking reads (the rollups, the target sets, the
// dealers): a read at an unchanged generation is one row, and any write
// to those inputs moves the generation on, so a stale ranking is never
// answered. A store without it has every ranking computed on each read.
type RankingCache interface {
	// CachedRanking returns the ranking of k stored at the current
	// generation, or nil; and the current generation.
	CachedRanking(ctx context.Context, k RankingKey) (*FinishedRanking, int64, error)
	// StoreRanking keeps r as k's ranking computed from the inputs of
	// generation gen (read before them); an older one never replaces a
	// newer one. The caller must not change r afterwards.
	StoreRanking(ctx context.Context, k RankingKey, gen int64, r *FinishedRanking) error
}

// finishedRanking is k's ranking, from the cache when the store has one
// and it is current, else computed (and kept).
func (s *Service) finishedRanking(ctx context.Context, k RankingKey) (*FinishedRanking, error) {
	cache, ok := s.store.(RankingCache)
	if !ok {
		return s.computeRanking(ctx, k)
	}
	r, gen, err := cache.CachedRanking(ctx, k)
	if err != nil || r != nil {
		return r, err
	}
	if r, err = s.computeRanking(ctx, k); err != nil {
		return nil, err
	}
	if !r.RegionKnown {
		// Nothing to keep: any caller may ask for any region name, and a
		// row per made-up name would be a write anyone drives.
		return r, nil
	}
	if err := cache.StoreRanking(ctx, k, gen, r); err != nil {
		// The ranking is right; keeping it is only an optimisation, so a
		// failed write (a timeout under load) does not fail the read.
		slog.WarnContext(ctx, "keep the ranking", "granularity", string(k.Granularity), "region", k.Region, "error", err)
	}
	return r, nil
}

// computeRanking ranks k's dealers from the rollups: every dealer of the
// network (or region), a dealer's place depending on the others, with the
// movement since the period before.
func (s *Service) computeRanking(ctx context.Context, k RankingKey) (*FinishedRanking, error) {
	all := pg.AllDealers()
	dealers, err := s.store.Dealers(ctx, all)
	if err != nil {
		return nil, err
	}
	out := &FinishedRanking{RegionKnown: k.Region == "" || regionKnown(dealers, k.Region)}
	if !out.RegionKnown {
		return out, nil
	}
	sets, err := s.store.TargetSets(ctx)
	if err != nil {
		return nil, err
	}
	rank := func(start Date, previous []Rank) ([]Rank, *TargetSet, error) {
		figs, err := s.store.DealerFigures(ctx, all, k.Granularity, start)
		if err != nil {
			return nil, nil, err
		}
		var standings []Standing
		for _, d := range dealers {
			if k.Region != "" && d.Region != k.Region {
				continue
			}
			f := figs[d.Code]
			if f == nil {
				f = Figures{}
			}
			standings = append(standings, Standing{Dealer: d.Code, Region: d.Region, Figures: f})
		}
		set := InForce(sets, start)
		return Ranking(standings, set, previous), set, nil
	}
	prev, _, err := rank(PreviousStart(k.Granularity, k.Start), nil)
	if err != nil {
		return nil, err
	}
	if out.Ranks, out.Targets, err = rank(k.Start, prev); err != nil {
		return nil, err
	}
	nameOf := map[string]string{}
	for _, d := range dealers {
		nameOf[d.Code] = d.Name
	}
	// Dealer names are the companies', not personal data: who sees them
	// is Service.Rank's cut.
	for i := range out.Ranks {
		out.Ranks[i].Name = nameOf[out.Ranks[i].Dealer]
	}
	return out, nil
}
