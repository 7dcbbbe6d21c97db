package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
	"github.com/jackc/pgx/v5"
)

var _ evaluation.RankingCache = (*Store)(nil)

// bumpGeneration moves the ranking inputs' generation on, in the
// transaction of a write that changes what a ranking reads (a rollup, a
// target set, a dealer): every kept ranking and period read is stale from
// its commit on. A new input of the composite must call it too.
func bumpGeneration(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `UPDATE rollup_generation SET generation = generation + 1 WHERE id = 1`)
	return err
}

// CachedRanking returns the ranking of k kept in kpi_rankings at the
// current generation (nil when there is none) and the generation. It is
// one statement; the decoded ranking is also kept in memory, so the row's
// body is read only once per generation and process.
func (s *Store) CachedRanking(ctx context.Context, k evaluation.RankingKey) (*evaluation.FinishedRanking, int64, error) {
	memo, memoGen := s.rankings.get(k)
	var gen int64
	var stored *int64
	var body []byte
	err := pg.InReadOnlyTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT g.generation, r.generation, CASE WHEN r.generation = g.generation AND r.generation <> $4 THEN r.ranking END
			FROM rollup_generation g LEFT JOIN kpi_rankings r ON r.granularity = $1 AND r.period_start = $2 AND r.region = $3
			WHERE g.id = 1`, string(k.Granularity), k.Start, k.Region, memoGen).Scan(&gen, &stored, &body)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("read the kept ranking: %w", err)
	}
	switch {
	case memo != nil && memoGen == gen:
		return memo, gen, nil
	case stored == nil || *stored != gen || body == nil:
		return nil, gen, nil
	}
	var r storedRanking
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, 0, fmt.Errorf("decode the kept ranking: %w", err)
	}
	fin := r.finished()
	s.rankings.put(k, gen, fin)
	return fin, gen, nil
}

// StoreRanking keeps r as k's ranking of generation gen, unless a newer
// generation's is already kept.
func (s *Store) StoreRanking(ctx context.Context, k evaluation.RankingKey, gen int64, r *evaluation.FinishedRanking) error {
	body, err := json.Marshal(toStored(r))
	if err != nil {
		return err
	}
	version := 0
	if r.Targets != nil {
		version = r.Targets.Version
	}
	err = pg.InTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO kpi_rankings (granularity, period_start, region, generation, target_version, ranking)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (granularity, period_start, region) DO UPDATE SET generation = excluded.generation,
				target_version = excluded.target_version, ranking = excluded.ranking, update_time = now()
			WHERE kpi_rankings.generation < excluded.generation`,
			string(k.Granularity), k.Start, k.Region, gen, version, string(body))
		return err
	})
	if err != nil {
		return fmt.Errorf("store the ranking: %w", err)
	}
	s.rankings.put(k, gen, r)
	return nil
}

// storedRanking is kpi_rankings.ranking: short names, each figure a
// [numerator, denominator] pair (a network's month is some megabytes).
type storedRanking struct {
	RegionKnown bool                  `json:"known"`
	Targets     *evaluation.TargetSet `json:"targets,omitempty"`
	Ranks       []storedRank          `json:"ranks"`
}

type storedRank struct {
	Dealer       string              `json:"d"`
	Name         string              `json:"n,omitempty"`
	Region       string              `json:"g,omitempty"`
	Score        float64             `json:"s"`
	Rank         int                 `json:"r"`
	Percentile   float64             `json:"p"`
	PreviousRank int                 `json:"pr,omitempty"`
	Movement     int                 `json:"m,omitempty"`
	Figures      map[string][2]int64 `json:"f"`
}

func toStored(r *evaluation.FinishedRanking) storedRanking {
	out := storedRanking{RegionKnown: r.RegionKnown, Targets: r.Targets, Ranks: make([]storedRank, len(r.Ranks))}
	for i, x := range r.Ranks {
		f := make(map[string][2]int64, len(x.Figures))
		for kpi, v := range x.Figures {
			f[kpi] = [2]int64{v.Numerator, v.Denominator}
		}
		out.Ranks[i] = storedRank{Dealer: x.Dealer, Name: x.Name, Region: x.Region, Score: x.Score, Rank: x.Rank,
			Percentile: x.Percentile, PreviousRank: x.PreviousRank, Movement: x.Movement, Figures: f}
	}
	return out
}

func (r storedRanking) finished() *evaluation.FinishedRanking {
	out := &evaluation.FinishedRanking{RegionKnown: r.RegionKnown, Targets: r.Targets, Ranks: make([]evaluation.Rank, len(r.Ranks))}
	for i, x := range r.Ranks {
		f := make(evaluation.Figures, len(x.Figures))
		for kpi, v := range x.Figures {
			f[kpi] = evaluation.Figure{Numerator: v[0], Denominator: v[1]}
		}
		out.Ranks[i] = evaluation.Rank{Dealer: x.Dealer, Name: x.Name, Region: x.Region, Score: x.Score, Rank: x.Rank,
			Percentile: x.Percentile, PreviousRank: x.PreviousRank, Movement: x.Movement, Figures: f}
	}
	return out
}

// rankingMemo keeps decoded rankings by key and generation.
type rankingMemo struct {
	mu sync.Mutex
	m  map[evaluation.RankingKey]memoRanking
}

type memoRanking struct {
	gen int64
	r   *evaluation.FinishedRanking
}

// maxMemoRankings bounds the memo: a network and its regions for the
// periods being read. A decoded network ranking at 5,000 dealers is a few
// MB, so the bound keeps the memo to tens of MB.
const maxMemoRankings = 24

func (m *rankingMemo) get(k evaluation.RankingKey) (*evaluation.FinishedRanking, int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.m[k]; ok {
		return e.r, e.gen
	}
	return nil, -1
}

func (m *rankingMemo) put(k evaluation.RankingKey, gen int64, r *evaluation.FinishedRanking) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.m[k]; ok && e.gen > gen {
		return
	}
	if m.m == nil || len(m.m) >= maxMemoRankings {
		m.m = map[evaluation.RankingKey]memoRanking{}
	}
	m.m[k] = memoRanking{gen, r}
}
