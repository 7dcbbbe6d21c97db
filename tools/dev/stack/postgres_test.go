package stack

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestClusterSettings(t *testing.T) {
	c := &Cluster{Dir: "/repo/.run/test-pg-1/cluster", Port: 5999, Throwaway: true}
	got := c.settings()
	for _, want := range []string{"port = 5999", "listen_addresses = '127.0.0.1'", "unix_socket_directories = '/repo/.run/test-pg-1/cluster'", "fsync = off"} {
		if !strings.Contains(got, want) {
			t.Errorf("settings lack %q:\n%s", want, got)
		}
	}
	durable := (&Cluster{Dir: "/repo/.run/pg", Port: 55432}).settings()
	if strings.Contains(durable, "fsync") {
		t.Errorf("a durable cluster turns fsync off:\n%s", durable)
	}
	deep := (&Cluster{Dir: "/" + strings.Repeat("d", 120), Port: 5999}).settings()
	if !strings.Contains(deep, "unix_socket_directories = ''") {
		t.Errorf("a socket path too long for sun_path was kept:\n%s", deep)
	}
}

func TestClusterAndDatabase(t *testing.T) {
	root := serverReachableTempDir(t)
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	c := newTestCluster(t, filepath.Join(root, "pg"), port)
	ctx := t.Context()
	for range 2 { // Init is idempotent
		if err := c.Init(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop(context.Background(), "immediate") })
	if !c.Running(ctx) {
		t.Fatal("Running = false after Start")
	}

	var urls DatabaseURLs
	for range 2 { // a second `make run` finds everything in place
		if urls, err = EnsureDatabase(ctx, c.URL(), devDatabase); err != nil {
			t.Fatal(err)
		}
	}
	var user string
	var bypass, super bool
	query(t, urls.App, "SELECT current_user, rolbypassrls, rolsuper FROM pg_roles WHERE rolname = current_user", &user, &bypass, &super)
	if user != devDatabase.App || bypass || super {
		t.Errorf("app URL connects as %s (bypassrls %v, superuser %v); want %s without either", user, bypass, super, devDatabase.App)
	}
	query(t, urls.Migrate, "SELECT current_user, has_database_privilege(current_user, current_database(), 'CREATE')", &user, &bypass)
	if user != devDatabase.Owner || !bypass {
		t.Errorf("migrate URL acts as %s (CREATE on database: %v); want %s with CREATE", user, bypass, devDatabase.Owner)
	}

	if err := c.Stop(ctx, "fast"); err != nil {
		t.Fatal(err)
	}
	if c.Running(ctx) {
		t.Error("Running = true after Stop")
	}
	if err := c.Stop(ctx, "fast"); err != nil {
		t.Errorf("Stop of a stopped cluster: %v", err)
	}
}

func TestTestEnvPostgres(t *testing.T) {
	root := serverReachableTempDir(t)
	if _, err := PostgresBinDir(); err != nil {
		skipOrFail(t, err)
	}
	paths := Paths{Root: root}
	// An earlier run that died leaves a directory whose owner is gone; one
	// whose owner still runs (a parallel `make test`) must be kept.
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	for name, owner := range map[string]int{"test-pg-dead": gone.Process.Pid, "test-pg-alive": os.Getpid()} {
		if err := writePidFile(paths.Run(name, ownerPidFile), owner); err != nil {
			t.Fatal(err)
		}
	}
	// Temporal is "external" here so that only PostgreSQL is started.
	t.Setenv(EnvTestTemporalAddress, "127.0.0.1:1")
	t.Setenv(EnvTestDatabaseURL, "")

	out := filepath.Join(root, "seen")
	script := `test "$DEALERCARE_REQUIRE_INTEGRATION" = 1 && test "$DEALERCARE_REPO" = "` + root + `" &&
		test "$DEALERCARE_TEST_TEMPORAL_ADDRESS" = 127.0.0.1:1 &&
		echo "$DEALERCARE_TEST_DATABASE_URL" > ` + out + ` && exit 7`
	var log strings.Builder
	code, err := TestEnv(t.Context(), root, []string{"/bin/sh", "-c", script}, &log)
	if err != nil {
		t.Fatal(err)
	}
	if code != 7 {
		t.Fatalf("exit code %d, want the command's 7 (log: %s)", code, log.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	url := strings.TrimSpace(string(data))
	if !strings.HasPrefix(url, "postgres://postgres@127.0.0.1:") {
		t.Errorf("DEALERCARE_TEST_DATABASE_URL = %q", url)
	}
	if err := Ping(t.Context(), url); err == nil {
		t.Error("the test cluster still answers after TestEnv returned")
	}
	left, _ := filepath.Glob(paths.Run("test-*"))
	if len(left) != 1 || filepath.Base(left[0]) != "test-pg-alive" {
		t.Errorf("left in .run: %q; want only test-pg-alive", left)
	}
}

func newTestCluster(t *testing.T, dir string, port int) *Cluster {
	t.Helper()
	c, err := NewCluster(dir, port, true)
	if err != nil {
		skipOrFail(t, err)
	}
	return c
}

// skipOrFail skips a test that needs the PostgreSQL programs, unless
// `make test` demands integration tests.
func skipOrFail(t *testing.T, err error) {
	t.Helper()
	if os.Getenv(EnvRequireIntegration) == "1" {
		t.Fatal(err)
	}
	t.Skip(err)
}

// serverReachableTempDir is a temporary directory the postgres OS user can
// reach when the tests run as root (t.TempDir is private to the user).
func serverReachableTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func query(t *testing.T, url, sql string, dest ...any) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(t.Context(), sql).Scan(dest...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
