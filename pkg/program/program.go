// Package program is the shell every dealercare executable shares: it
// reads the configuration, sets up telemetry, opens, runs and closes the
// process until SIGINT or SIGTERM, and, for programs that own a schema,
// answers `<name> migrate`.
package program

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/dealercare/dealercare/pkg/config"
	"github.com/dealercare/dealercare/pkg/telemetry"
)

// Process is a running service: Open binds (so the address is known), Run
// serves until ctx ends, Close releases what Open took.
type Process interface {
	Open(ctx context.Context) error
	Run(ctx context.Context) error
	Close() error
}

// Program describes an executable whose configuration is C.
type Program[C any] struct {
	// Name prefixes errors and the usage line.
	Name string
	// LoadConfig reads the environment; its error names every bad variable.
	LoadConfig func(*config.Loader) (C, error)
	// Telemetry picks the telemetry settings out of the configuration.
	Telemetry func(C) telemetry.Config
	// New makes the process from its configuration.
	New func(C) Process
	// Migrate applies the program's schema migrations as the owner
	// (MIGRATE_DATABASE_URL) for DATABASE_APP_ROLE; nil for a program
	// without a schema, which then takes no command.
	Migrate func(ctx context.Context, ownerURL, appRole string) error
}

// Main runs p with the command line and exits 1 on an error.
func Main[C any](p Program[C]) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := p.Run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, p.Name+":", err)
		os.Exit(1)
	}
}

// Run runs the command in args: `serve` (the default) or, when the program
// has a schema, `migrate`; `--help` (or -h, help) prints the usage and the
// environment variables each command reads.
func (p Program[C]) Run(ctx context.Context, args []string) error {
	if len(args) > 0 && (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
		p.help(os.Stdout)
		return nil
	}
	if p.Migrate == nil {
		return p.serve(ctx)
	}
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "migrate":
		l := config.FromEnv()
		owner, role := migrateConfig(l)
		if err := l.Err(); err != nil {
			return err
		}
		return p.Migrate(ctx, owner, role)
	case "serve":
		return p.serve(ctx)
	}
	return fmt.Errorf("unknown command %q; usage: %s [serve|migrate]", cmd, p.Name)
}

// migrateConfig reads what `migrate` needs: the owner's connection and the
// role granted DML.
func migrateConfig(l *config.Loader) (ownerURL, appRole string) {
	return l.Required("MIGRATE_DATABASE_URL"), l.String("DATABASE_APP_ROLE", "dealercare_app")
}

// help prints the usage and, per command, every variable its configuration
// reads (found by loading it from an empty environment), one a line:
// the name, then "required" or the default. The chart's drift test parses
// these lines.
func (p Program[C]) help(w io.Writer) {
	usage := "[serve]"
	if p.Migrate != nil {
		usage = "[serve|migrate]"
	}
	fmt.Fprintf(w, "usage: %s %s\n", p.Name, usage)
	l := config.Describe()
	_, _ = p.LoadConfig(l) // An empty environment is refused; only the names matter.
	printVars(w, "serve", l.Vars())
	if p.Migrate != nil {
		l = config.Describe()
		migrateConfig(l)
		printVars(w, "migrate", l.Vars())
	}
}

func printVars(w io.Writer, cmd string, vars []config.Var) {
	fmt.Fprintf(w, "\nenvironment (%s):\n", cmd)
	for _, v := range vars {
		switch {
		case v.Required:
			fmt.Fprintf(w, "  %-36s required\n", v.Name)
		case v.Default != "":
			fmt.Fprintf(w, "  %-36s default %s\n", v.Name, v.Default)
		default:
			fmt.Fprintf(w, "  %s\n", v.Name)
		}
	}
}

func (p Program[C]) serve(ctx context.Context) error {
	cfg, err := p.LoadConfig(config.FromEnv())
	if err != nil {
		return err
	}
	shutdown, err := telemetry.Setup(ctx, p.Telemetry(cfg))
	if err != nil {
		return err
	}
	defer shutdown(context.Background())
	m := p.New(cfg)
	defer m.Close()
	if err := m.Open(ctx); err != nil {
		return err
	}
	return m.Run(ctx)
}
