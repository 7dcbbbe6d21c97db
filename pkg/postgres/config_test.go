package postgres

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	const url = "postgres://app:s3cret@db:5432/dealercare"
	tests := []struct {
		name    string
		cfg     Config
		wantErr []string // substrings; nil means valid
	}{
		{name: "minimal", cfg: Config{URL: url}},
		{name: "tuned", cfg: Config{URL: url, MaxConns: 10, MinConns: 2, MaxConnLifetime: time.Hour, ConnectTimeout: time.Second}},
		{name: "missing URL", cfg: Config{}, wantErr: []string{"DATABASE_URL is required"}},
		{name: "bad URL", cfg: Config{URL: "postgres://app:s3cret@db:notaport/x"}, wantErr: []string{"DATABASE_URL"}},
		{name: "negative max", cfg: Config{URL: url, MaxConns: -1}, wantErr: []string{"DATABASE_MAX_CONNS"}},
		{name: "min above max", cfg: Config{URL: url, MaxConns: 2, MinConns: 3}, wantErr: []string{"DATABASE_MIN_CONNS (3) must not exceed DATABASE_MAX_CONNS (2)"}},
		{name: "all problems at once", cfg: Config{MaxConnIdleTime: -time.Second, ConnectTimeout: -time.Second},
			wantErr: []string{"DATABASE_URL is required", "DATABASE_MAX_CONN_IDLE_TIME", "DATABASE_CONNECT_TIMEOUT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate() = nil, want error")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate() = %q, want it to contain %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("Validate() = %q leaks the password", err)
			}
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		EnvURL:             "postgres://app@db/dealercare",
		EnvMaxConns:        "8",
		EnvMaxConnLifetime: "30m",
	}
	cfg, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxConns != 8 || cfg.MaxConnLifetime != 30*time.Minute || cfg.URL != env[EnvURL] {
		t.Errorf("ConfigFromEnv() = %+v", cfg)
	}

	env[EnvMaxConns] = "eight"
	env[EnvConnectTimeout] = "5"
	_, err = ConfigFromEnv(func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), EnvMaxConns) || !strings.Contains(err.Error(), EnvConnectTimeout) {
		t.Errorf("ConfigFromEnv() error = %v, want both bad variables named", err)
	}
}

func TestOpenUnreachable(t *testing.T) {
	// Port 1 on loopback refuses at once; the error must say what to fix
	// without the password.
	_, err := Open(context.Background(), Config{URL: "postgres://app:s3cret@127.0.0.1:1/x?connect_timeout=1", ConnectTimeout: 2 * time.Second})
	if err == nil {
		t.Fatal("Open() = nil error for an unreachable server")
	}
	if !strings.Contains(err.Error(), "DATABASE_URL") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Open() error = %q, want it to name DATABASE_URL and hide the password", err)
	}
}
