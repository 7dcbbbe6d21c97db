package stack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgReadyTimeout bounds the wait for a started cluster to accept
// connections.
const pgReadyTimeout = 60 * time.Second

// maxSocketPath is the longest Unix socket path most systems accept
// (sun_path is 104 or 108 bytes, with a terminating NUL).
const maxSocketPath = 103

// Cluster is a PostgreSQL cluster devstack owns: its data, log and Unix
// socket all live in Dir, it listens on 127.0.0.1:Port only, and the
// postgres superuser connects without a password (trust), which is fine for
// a loopback-only development server.
type Cluster struct {
	Dir  string
	Port int
	// Throwaway trades crash safety for speed (fsync off and friends), for
	// clusters that are deleted after the run anyway.
	Throwaway bool

	bin   string     // directory of initdb and pg_ctl
	runAs *user.User // the OS user "postgres" when devstack runs as root
}

// NewCluster prepares to manage the cluster in dir; nothing is created yet.
func NewCluster(dir string, port int, throwaway bool) (*Cluster, error) {
	bin, err := PostgresBinDir()
	if err != nil {
		return nil, err
	}
	runAs, err := serverUser()
	if err != nil {
		return nil, err
	}
	return &Cluster{Dir: dir, Port: port, Throwaway: throwaway, bin: bin, runAs: runAs}, nil
}

// PostgresBinDir finds the PostgreSQL server programs: $PG_BINDIR, the
// newest /usr/lib/postgresql/*/bin (Debian), `pg_config --bindir`, or the
// directory of initdb on PATH.
func PostgresBinDir() (string, error) {
	var candidates []string
	if d := os.Getenv("PG_BINDIR"); d != "" {
		candidates = append(candidates, d)
	}
	candidates = append(candidates, debianBinDirs()...)
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, filepath.Dir(p))
	}
	for _, d := range candidates {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL server programs (initdb, pg_ctl) not found in $PG_BINDIR, " +
		"/usr/lib/postgresql/*/bin, `pg_config --bindir` or PATH: install the Debian package postgresql " +
		"(or set DATABASE_URL / DEALERCARE_TEST_DATABASE_URL to an existing server)")
}

// debianBinDirs lists /usr/lib/postgresql/<version>/bin, newest first.
func debianBinDirs() []string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(d string) int {
		v, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		return v
	}
	slices.SortFunc(dirs, func(a, b string) int { return cmp.Compare(version(b), version(a)) })
	return dirs
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// serverUser returns the OS user the server must run as: initdb and
// postgres refuse to run as root, so as root it is "postgres", created if
// missing; otherwise the current user (nil).
func serverUser() (*user.User, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err == nil {
		return u, nil
	}
	var unknown user.UnknownUserError
	if !errors.As(err, &unknown) {
		return nil, fmt.Errorf("look up OS user postgres: %w", err)
	}
	out, err := exec.Command("useradd", "--system", "--user-group", "--no-create-home",
		"--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "postgres").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("create OS user postgres (PostgreSQL refuses to run as root): %w: %s", err, strings.TrimSpace(string(out)))
	}
	return user.Lookup("postgres")
}

func (c *Cluster) dataDir() string { return filepath.Join(c.Dir, "data") }

// LogPath is the server log.
func (c *Cluster) LogPath() string { return filepath.Join(c.Dir, "postgres.log") }

// URL connects to the postgres database as the superuser over TCP.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.Port)
}

// Init creates Dir and the cluster unless it already exists.
func (c *Cluster) Init(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(c.dataDir(), "PG_VERSION")); err == nil {
		return nil
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return fmt.Errorf("postgres: create %s: %w", c.Dir, err)
	}
	if err := c.chown(c.Dir); err != nil {
		return err
	}
	args := []string{"-D", c.dataDir(), "-A", "trust", "-U", "postgres", "--encoding=UTF8", "--locale=C"}
	if c.Throwaway {
		args = append(args, "--no-sync")
	}
	if out, err := c.command(ctx, "initdb", args...).CombinedOutput(); err != nil {
		hint := ""
		if c.runAs != nil && strings.Contains(string(out), "Permission denied") {
			hint = "\n(initdb runs as the OS user postgres, which must be able to reach " + c.Dir +
				": every parent directory needs o+x, e.g. a repository under /root does not work)"
		}
		return fmt.Errorf("postgres: initdb %s: %w\n%s%s", c.dataDir(), err, indent(tail(out, 20), "  "), hint)
	}
	conf, err := os.OpenFile(filepath.Join(c.dataDir(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer conf.Close()
	// Settings live in their own file, rewritten at every start, so a
	// change here reaches clusters made by older versions of devstack.
	if _, err := conf.WriteString("\n# Written by devstack at every start.\ninclude_if_exists = 'devstack.conf'\n"); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}

// settings is the content of devstack.conf.
func (c *Cluster) settings() string {
	socketDir := c.Dir
	if len(filepath.Join(socketDir, ".s.PGSQL."+strconv.Itoa(c.Port))) > maxSocketPath {
		socketDir = "" // too deep for a socket: TCP only
	}
	lines := []string{
		"listen_addresses = '127.0.0.1'",
		fmt.Sprintf("port = %d", c.Port),
		fmt.Sprintf("unix_socket_directories = '%s'", strings.ReplaceAll(socketDir, "'", "''")),
		"max_connections = 200",
	}
	if c.Throwaway {
		lines = append(lines,
			"shared_buffers = 32MB",
			"fsync = off",
			"synchronous_commit = off",
			"full_page_writes = off",
		)
	}
	return strings.Join(lines, "\n") + "\n"
}

// Start starts the cluster and waits until it accepts connections.
func (c *Cluster) Start(ctx context.Context) error {
	conf := filepath.Join(c.dataDir(), "devstack.conf")
	if err := os.WriteFile(conf, []byte(c.settings()), 0o644); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if err := c.chown(conf); err != nil {
		return err
	}
	out, err := c.command(ctx, "pg_ctl", "-D", c.dataDir(), "-l", c.LogPath(), "-w", "-t", "60", "start").CombinedOutput()
	if err != nil {
		return fmt.Errorf("postgres: start on port %d: %w: %s\n%s:\n%s", c.Port, err,
			strings.TrimSpace(tail(out, 3)), c.LogPath(), indent(LogTail(c.LogPath(), 20), "  "))
	}
	return c.WaitReady(ctx)
}

// WaitReady waits until the server answers a query over TCP.
func (c *Cluster) WaitReady(ctx context.Context) error {
	return WaitReady(ctx, fmt.Sprintf("postgres on 127.0.0.1:%d", c.Port), pgReadyTimeout, nil, func(ctx context.Context) error {
		return Ping(ctx, c.URL())
	})
}

// Running reports whether the cluster's postmaster is running.
func (c *Cluster) Running(ctx context.Context) bool {
	if _, err := os.Stat(filepath.Join(c.dataDir(), "postmaster.pid")); err != nil {
		return false
	}
	return c.command(ctx, "pg_ctl", "-D", c.dataDir(), "status").Run() == nil
}

// Stop shuts the cluster down if it runs. mode is "fast" (roll back and
// disconnect clients) or "immediate" (for leftovers nobody needs).
func (c *Cluster) Stop(ctx context.Context, mode string) error {
	if !c.Running(ctx) {
		return nil
	}
	out, err := c.command(ctx, "pg_ctl", "-D", c.dataDir(), "-m", mode, "-w", "-t", "60", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("postgres: stop %s: %w: %s", c.dataDir(), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// command runs a server program, as the postgres OS user when root.
func (c *Cluster) command(ctx context.Context, program string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, program)
	if c.runAs == nil {
		return exec.CommandContext(ctx, path, args...)
	}
	return exec.CommandContext(ctx, "runuser", append([]string{"-u", c.runAs.Username, "--", path}, args...)...)
}

func (c *Cluster) chown(path string) error {
	if c.runAs == nil {
		return nil
	}
	uid, err := strconv.Atoi(c.runAs.Uid)
	if err != nil {
		return fmt.Errorf("postgres: uid %q of OS user postgres: %w", c.runAs.Uid, err)
	}
	gid, err := strconv.Atoi(c.runAs.Gid)
	if err != nil {
		return fmt.Errorf("postgres: gid %q of OS user postgres: %w", c.runAs.Gid, err)
	}
	if err := os.Chown(path, uid, gid); err != nil {
		return fmt.Errorf("postgres: hand %s to OS user postgres: %w", path, err)
	}
	return nil
}

// Ping connects to url and runs SELECT 1.
func Ping(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var one int
	return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// removeAll deletes a directory devstack created; a missing one is fine.
func removeAll(dir string) error {
	if err := os.RemoveAll(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}
