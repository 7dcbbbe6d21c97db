package program

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dealercare/dealercare/pkg/config"
	"github.com/dealercare/dealercare/pkg/telemetry"
)

type proc struct{ opened, ran, closed *bool }

func (p proc) Open(context.Context) error { *p.opened = true; return nil }
func (p proc) Run(context.Context) error  { *p.ran = true; return nil }
func (p proc) Close() error               { *p.closed = true; return nil }

func testProgram(opened, ran, closed *bool, migrated *string) Program[string] {
	return Program[string]{
		Name:       "svc",
		LoadConfig: func(*config.Loader) (string, error) { return "cfg", nil },
		Telemetry:  func(string) telemetry.Config { return telemetry.Config{ServiceName: "svc"} },
		New:        func(string) Process { return proc{opened, ran, closed} },
		Migrate: func(_ context.Context, owner, role string) error {
			*migrated = owner + " as " + role
			return nil
		},
	}
}

func TestRun(t *testing.T) {
	var opened, ran, closed bool
	var migrated string
	p := testProgram(&opened, &ran, &closed, &migrated)
	if err := p.Run(context.Background(), nil); err != nil || !opened || !ran || !closed {
		t.Fatalf("serve: %v, opened %v ran %v closed %v", err, opened, ran, closed)
	}

	err := p.Run(context.Background(), []string{"dance"})
	if err == nil || !strings.Contains(err.Error(), `unknown command "dance"; usage: svc [serve|migrate]`) {
		t.Errorf("unknown command: %v", err)
	}

	t.Setenv("MIGRATE_DATABASE_URL", "")
	if err := p.Run(context.Background(), []string{"migrate"}); err == nil || !strings.Contains(err.Error(), "MIGRATE_DATABASE_URL") || migrated != "" {
		t.Errorf("migrate without MIGRATE_DATABASE_URL: %v (migrated %q)", err, migrated)
	}
	t.Setenv("MIGRATE_DATABASE_URL", "postgres://owner@db/x")
	t.Setenv("DATABASE_APP_ROLE", "app")
	if err := p.Run(context.Background(), []string{"migrate"}); err != nil || migrated != "postgres://owner@db/x as app" {
		t.Errorf("migrate: %v (migrated %q)", err, migrated)
	}

	// Without a schema the program takes no command: it serves.
	opened, ran, closed = false, false, false
	p.Migrate = nil
	if err := p.Run(context.Background(), []string{"migrate"}); err != nil || !ran {
		t.Errorf("schema-less program: %v, ran %v", err, ran)
	}

	p.LoadConfig = func(*config.Loader) (string, error) { return "", errors.New("FOO: is required") }
	if err := p.Run(context.Background(), nil); err == nil || err.Error() != "FOO: is required" {
		t.Errorf("config error: %v", err)
	}
}

func TestHelp(t *testing.T) {
	var opened, ran, closed bool
	var migrated string
	p := testProgram(&opened, &ran, &closed, &migrated)
	p.LoadConfig = func(l *config.Loader) (string, error) {
		l.String("SVC_ADDR", "127.0.0.1:9")
		l.Required("SVC_TOKEN")
		return "", l.Err()
	}
	var b strings.Builder
	p.help(&b)
	out := b.String()
	for _, want := range []string{"usage: svc [serve|migrate]", "environment (serve):", "SVC_ADDR", "default 127.0.0.1:9", "SVC_TOKEN", "required", "environment (migrate):", "MIGRATE_DATABASE_URL", "DATABASE_APP_ROLE"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q:\n%s", want, out)
		}
	}
	if err := p.Run(context.Background(), []string{"--help"}); err != nil || opened || migrated != "" {
		t.Errorf("--help: %v, opened %v, migrated %q", err, opened, migrated)
	}
}
