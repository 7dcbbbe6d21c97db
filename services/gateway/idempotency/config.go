package idempotency

import (
	"log/slog"
	"time"

	"github.com/dealercare/dealercare/pkg/config"
)

// Config is the gateway's idempotency configuration, from the environment.
type Config struct {
	// TTL is how long a key is remembered (IDEMPOTENCY_TTL, default 24h).
	TTL time.Duration
	// InFlightTimeout bounds a keyed request and the lease of its claim
	// (IDEMPOTENCY_IN_FLIGHT_TIMEOUT, default 1m).
	InFlightTimeout time.Duration
	// MaxStoredBodyBytes caps a stored response body
	// (IDEMPOTENCY_MAX_STORED_BODY_BYTES, default 1 MiB).
	MaxStoredBodyBytes int
	// SweepInterval is how often expired keys are deleted
	// (IDEMPOTENCY_SWEEP_INTERVAL, default 10m).
	SweepInterval time.Duration
}

// DefaultSweepInterval is Config.SweepInterval's default.
const DefaultSweepInterval = 10 * time.Minute

// LoadConfig reads the IDEMPOTENCY_* variables; problems are recorded in l.
func LoadConfig(l *config.Loader) Config {
	c := Config{
		TTL:                l.Duration("IDEMPOTENCY_TTL", DefaultTTL),
		InFlightTimeout:    l.Duration("IDEMPOTENCY_IN_FLIGHT_TIMEOUT", DefaultInFlightTimeout),
		MaxStoredBodyBytes: l.Int("IDEMPOTENCY_MAX_STORED_BODY_BYTES", DefaultMaxStoredBodyBytes),
		SweepInterval:      l.Duration("IDEMPOTENCY_SWEEP_INTERVAL", DefaultSweepInterval),
	}
	l.Check(c.TTL > 0, "IDEMPOTENCY_TTL", "must be positive")
	l.Check(c.InFlightTimeout > 0, "IDEMPOTENCY_IN_FLIGHT_TIMEOUT", "must be positive")
	l.Check(c.InFlightTimeout <= c.TTL, "IDEMPOTENCY_IN_FLIGHT_TIMEOUT", "must not exceed IDEMPOTENCY_TTL (%s)", c.TTL)
	l.Check(c.MaxStoredBodyBytes > 0, "IDEMPOTENCY_MAX_STORED_BODY_BYTES", "must be positive")
	l.Check(c.SweepInterval > 0, "IDEMPOTENCY_SWEEP_INTERVAL", "must be positive")
	return c
}

// Options returns the middleware options of c, logging to log.
func (c Config) Options(log *slog.Logger) Options {
	return Options{TTL: c.TTL, InFlightTimeout: c.InFlightTimeout, MaxStoredBodyBytes: c.MaxStoredBodyBytes, Log: log}
}
