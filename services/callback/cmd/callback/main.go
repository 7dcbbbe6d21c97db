// Command callback runs the callback service (回访: tasks, attempts,
// questionnaires, reports; the callback workflows run in the worker).
//
//	callback           serve gRPC (default)
//	callback migrate   apply the schema's migrations as the owner and exit
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/dealercare/dealercare/pkg/config"
	"github.com/dealercare/dealercare/pkg/telemetry"
	"github.com/dealercare/dealercare/services/callback/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "callback:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "migrate":
		l := config.FromEnv()
		owner := l.Required("MIGRATE_DATABASE_URL")
		role := l.String("DATABASE_APP_ROLE", "dealercare_app")
		if err := l.Err(); err != nil {
			return err
		}
		return app.Migrate(ctx, owner, role)
	case "serve":
		cfg, err := app.LoadConfig(config.FromEnv())
		if err != nil {
			return err
		}
		shutdown, err := telemetry.Setup(ctx, cfg.Telemetry)
		if err != nil {
			return err
		}
		defer shutdown(context.Background())
		m := &app.Main{Config: cfg}
		defer m.Close()
		if err := m.Open(ctx); err != nil {
			return err
		}
		return m.Run(ctx)
	}
	return fmt.Errorf("unknown command %q; usage: callback [serve|migrate]", cmd)
}
