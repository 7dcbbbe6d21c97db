package postgres

import (
	"context"
	"time"

	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/campaign/campaign"
	"github.com/jackc/pgx/v5"
)

// DealerPolicies reads the dealers' overrides.
func (s *Store) DealerPolicies(ctx context.Context, scope campaign.Scope, dealers []string) (map[string]campaign.DealerPolicy, error) {
	out := map[string]campaign.DealerPolicy{}
	err := pg.InReadOnlyTx(ctx, s.pool, scopeOf(scope), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT dealer_id, quiet_start, quiet_end, frequency_cap, frequency_window_s, update_time
			FROM dealer_messaging_policies WHERE dealer_id = ANY($1)`, dealers)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d campaign.DealerPolicy
			var window *int64
			if err := rows.Scan(&d.Dealer, &d.QuietStart, &d.QuietEnd, &d.FrequencyCap, &window, &d.UpdateTime); err != nil {
				return err
			}
			if window != nil {
				w := time.Duration(*window) * time.Second
				d.FrequencyWindow = &w
			}
			out[d.Dealer] = d
		}
		return rows.Err()
	})
	return out, err
}

// PutDealerPolicy stores a dealer's override.
func (s *Store) PutDealerPolicy(ctx context.Context, scope campaign.Scope, d campaign.DealerPolicy) error {
	var window *int64
	if d.FrequencyWindow != nil {
		w := int64(*d.FrequencyWindow / time.Second)
		window = &w
	}
	return pg.InTx(ctx, s.pool, scopeOf(scope), func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO dealer_messaging_policies (dealer_id, quiet_start, quiet_end, frequency_cap, frequency_window_s, update_time)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dealer_id) DO UPDATE SET quiet_start = $2, quiet_end = $3, frequency_cap = $4,
			frequency_window_s = $5, update_time = $6`, d.Dealer, d.QuietStart, d.QuietEnd, d.FrequencyCap, window, d.UpdateTime)
		return mapError(err, "messaging policy")
	})
}
