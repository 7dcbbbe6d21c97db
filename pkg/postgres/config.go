package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Environment variables read by [ConfigFromEnv]; error messages name them so
// an operator knows which chart value to fix.
const (
	EnvURL             = "DATABASE_URL"
	EnvMaxConns        = "DATABASE_MAX_CONNS"
	EnvMinConns        = "DATABASE_MIN_CONNS"
	EnvMaxConnLifetime = "DATABASE_MAX_CONN_LIFETIME"
	EnvMaxConnIdleTime = "DATABASE_MAX_CONN_IDLE_TIME"
	EnvConnectTimeout  = "DATABASE_CONNECT_TIMEOUT"
)

// DefaultConnectTimeout bounds the start-up ping when Config.ConnectTimeout
// is zero.
const DefaultConnectTimeout = 5 * time.Second

// Config configures the service's connection pool. Zero values keep pgx's
// defaults.
type Config struct {
	// URL is a postgres:// URL (or key=value string) for the service role,
	// never the owner or a superuser. From DATABASE_URL.
	URL string
	// MaxConns caps the pool (pgx default: max(4, GOMAXPROCS)).
	MaxConns int32
	// MinConns keeps this many connections open.
	MinConns int32
	// MaxConnLifetime recycles connections, e.g. to follow a failover.
	MaxConnLifetime time.Duration
	// MaxConnIdleTime closes connections idle for this long.
	MaxConnIdleTime time.Duration
	// ConnectTimeout bounds the ping in Open (default DefaultConnectTimeout).
	ConnectTimeout time.Duration
	// ApplicationName shows in pg_stat_activity unless the URL sets
	// application_name itself.
	ApplicationName string
	// SearchPath is the service's schema, so its queries name tables
	// unqualified; set by the service, not the environment.
	SearchPath string
}

// ConfigFromEnv reads the DATABASE_* variables through getenv (os.Getenv in
// main, a map in tests) and validates the result.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{URL: getenv(EnvURL)}
	var errs []error
	for _, v := range []struct {
		name string
		dst  *int32
	}{{EnvMaxConns, &c.MaxConns}, {EnvMinConns, &c.MinConns}} {
		if s := getenv(v.name); s != "" {
			n, err := strconv.ParseInt(s, 10, 32)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not an integer", v.name, s))
				continue
			}
			*v.dst = int32(n)
		}
	}
	for _, v := range []struct {
		name string
		dst  *time.Duration
	}{{EnvMaxConnLifetime, &c.MaxConnLifetime}, {EnvMaxConnIdleTime, &c.MaxConnIdleTime}, {EnvConnectTimeout, &c.ConnectTimeout}} {
		if s := getenv(v.name); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not a duration such as 30s or 1h", v.name, s))
				continue
			}
			*v.dst = d
		}
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("postgres config: %w", errors.Join(errs...))
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate reports every problem at once, naming the environment variable
// that feeds each field. It never echoes a password.
func (c Config) Validate() error {
	_, err := c.poolConfig()
	return err
}

// poolConfig validates c and turns it into a pgxpool configuration.
func (c Config) poolConfig() (*pgxpool.Config, error) {
	var errs []error
	var pc *pgxpool.Config
	if c.URL == "" {
		errs = append(errs, fmt.Errorf("%s is required", EnvURL))
	} else {
		var err error
		// pgconn redacts the password in parse errors.
		if pc, err = pgxpool.ParseConfig(c.URL); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", EnvURL, err))
		}
	}
	if c.MaxConns < 0 {
		errs = append(errs, fmt.Errorf("%s must not be negative, got %d", EnvMaxConns, c.MaxConns))
	}
	if c.MinConns < 0 {
		errs = append(errs, fmt.Errorf("%s must not be negative, got %d", EnvMinConns, c.MinConns))
	}
	if c.MaxConns > 0 && c.MinConns > c.MaxConns {
		errs = append(errs, fmt.Errorf("%s (%d) must not exceed %s (%d)", EnvMinConns, c.MinConns, EnvMaxConns, c.MaxConns))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{EnvMaxConnLifetime, c.MaxConnLifetime}, {EnvMaxConnIdleTime, c.MaxConnIdleTime}, {EnvConnectTimeout, c.ConnectTimeout}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %s", d.name, d.v))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("postgres config: %w", errors.Join(errs...))
	}

	if c.MaxConns > 0 {
		pc.MaxConns = c.MaxConns
	}
	if c.MinConns > 0 {
		pc.MinConns = c.MinConns
	}
	if c.MaxConnLifetime > 0 {
		pc.MaxConnLifetime = c.MaxConnLifetime
	}
	if c.MaxConnIdleTime > 0 {
		pc.MaxConnIdleTime = c.MaxConnIdleTime
	}
	if _, ok := pc.ConnConfig.RuntimeParams["application_name"]; !ok && c.ApplicationName != "" {
		pc.ConnConfig.RuntimeParams["application_name"] = c.ApplicationName
	}
	if c.SearchPath != "" {
		pc.ConnConfig.RuntimeParams["search_path"] = c.SearchPath
	}
	return pc, nil
}

// Open validates cfg, opens a pool traced with the global OpenTelemetry
// provider, and pings once so a wrong URL or password fails start-up rather
// than the first request. The caller closes the pool.
func Open(ctx context.Context, cfg Config) (*pgxpool.Pool, error) {
	pc, err := cfg.poolConfig()
	if err != nil {
		return nil, err
	}
	// Spans carry the SQL text but never the arguments, which may hold
	// personal data.
	pc.ConnConfig.Tracer = otelpgx.NewTracer()
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres: open pool for %s: %w", describe(pc), err)
	}
	timeout := cfg.ConnectTimeout
	if timeout == 0 {
		timeout = DefaultConnectTimeout
	}
	pingCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: cannot reach %s (check %s): %w", describe(pc), EnvURL, err)
	}
	return pool, nil
}

// describe names the target of a pool without its password.
func describe(pc *pgxpool.Config) string {
	cc := pc.ConnConfig
	return fmt.Sprintf("database %q on %s:%d as %q", cc.Database, cc.Host, cc.Port, cc.User)
}
