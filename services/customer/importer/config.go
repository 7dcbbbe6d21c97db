package importer

// The runner's configuration: the IMPORT_* variables and their defaults.

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"github.com/dealercare/dealercare/pkg/config"
)

// Runner defaults, used for zero fields of RunnerConfig.
const (
	DefaultBatchSize    = 5000
	DefaultPollInterval = time.Second
	DefaultLease        = 2 * time.Minute
	DefaultMaxBackoff   = 5 * time.Minute
	DefaultWriters      = 2
	MaxWriters          = 16
)

// RunnerConfig configures a Runner; zero fields take the defaults.
type RunnerConfig struct {
	// BatchSize is the number of rows written per transaction
	// (IMPORT_BATCH_SIZE).
	BatchSize int
	// Workers is the number of imports one process runs at a time
	// (IMPORT_WORKERS, default 1).
	Workers int
	// Writers is the number of database sessions one import writes with
	// at once (IMPORT_WRITERS, default 2): its rows are split into that
	// many lanes by customer. An import keeps the number it started with
	// when another runner resumes it. Index maintenance, most of an
	// import's cost, then runs on that many of the database's cores.
	Writers int
	// PollInterval is how often an idle worker looks for imports
	// (IMPORT_POLL_INTERVAL).
	PollInterval time.Duration
	// Lease is how long an import stays with a runner that stopped
	// renewing it (it renews with every batch) before another runner
	// resumes it (IMPORT_LEASE). A runner that stops cleanly gives its
	// import up at once.
	Lease time.Duration
	// MaxBackoff caps the wait before a failed batch is retried.
	MaxBackoff time.Duration
	// Owner names this runner in leases; default host-pid-random.
	Owner string
}

// LoadRunnerConfig reads the IMPORT_* variables.
func LoadRunnerConfig(l *config.Loader) RunnerConfig {
	c := RunnerConfig{
		BatchSize:    l.Int("IMPORT_BATCH_SIZE", DefaultBatchSize),
		Workers:      l.Int("IMPORT_WORKERS", 1),
		Writers:      l.Int("IMPORT_WRITERS", DefaultWriters),
		PollInterval: l.Duration("IMPORT_POLL_INTERVAL", DefaultPollInterval),
		Lease:        l.Duration("IMPORT_LEASE", DefaultLease),
	}
	l.Check(c.BatchSize > 0 && c.BatchSize <= 50000, "IMPORT_BATCH_SIZE", "must be between 1 and 50000, got %d", c.BatchSize)
	l.Check(c.Workers > 0 && c.Workers <= 16, "IMPORT_WORKERS", "must be between 1 and 16, got %d", c.Workers)
	l.Check(c.Writers > 0 && c.Writers <= MaxWriters, "IMPORT_WRITERS", "must be between 1 and %d, got %d", MaxWriters, c.Writers)
	l.Check(c.Lease >= 10*time.Second, "IMPORT_LEASE", "must be at least 10s, got %s", c.Lease)
	return c
}

// Validate rejects negative values.
func (c RunnerConfig) Validate() error {
	if c.Writers > MaxWriters {
		return fmt.Errorf("importer: runner config has %d writers, at most %d", c.Writers, MaxWriters)
	}
	if c.BatchSize < 0 || c.Workers < 0 || c.Writers < 0 || c.PollInterval < 0 || c.Lease < 0 || c.MaxBackoff < 0 {
		return fmt.Errorf("importer: runner config has a negative value: %+v", c)
	}
	return nil
}

func (c RunnerConfig) withDefaults() RunnerConfig {
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.Workers == 0 {
		c.Workers = 1
	}
	if c.Writers == 0 {
		c.Writers = DefaultWriters
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.Lease == 0 {
		c.Lease = DefaultLease
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.Owner == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		c.Owner = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	return c
}
