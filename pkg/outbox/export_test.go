package outbox

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// SetAfterSignal installs the crash hook (see Relay.afterSignal).
func SetAfterSignal(r *Relay, f func(Event) error) { r.afterSignal = f }

// Claim runs the relay's claim query in tx and returns the claimed ids.
func Claim(ctx context.Context, tx pgx.Tx, r *Relay) ([]string, error) {
	s, err := r.settings()
	if err != nil {
		return nil, err
	}
	events, err := r.claim(ctx, tx, s, &runState{window: 1})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	return ids, nil
}

// Purge runs the relay's purge of expired delivered events once.
func Purge(ctx context.Context, r *Relay) (int64, error) {
	s, err := r.settings()
	if err != nil {
		return 0, err
	}
	return r.purge(ctx, s)
}

// Backoff is the relay's delay after n consecutive failures.
func Backoff(minBackoff, maxBackoff time.Duration, n int) time.Duration {
	return settings{minBackoff: minBackoff, maxBackoff: maxBackoff}.backoff(n)
}

// OutageWait is the relay's delay before retrying a failed batch or
// listener after n consecutive failures.
func OutageWait(minBackoff, maxBackoff time.Duration, n int) time.Duration {
	return settings{minBackoff: minBackoff, maxBackoff: maxBackoff}.outageWait(n)
}
