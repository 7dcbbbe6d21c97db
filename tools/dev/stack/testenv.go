package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Variables the integration tests read. TestEnv starts a server for each of
// the first two that is not already set.
const (
	EnvTestDatabaseURL     = "DEALERCARE_TEST_DATABASE_URL"
	EnvTestTemporalAddress = "DEALERCARE_TEST_TEMPORAL_ADDRESS"
	// EnvRequireIntegration makes integration tests fail rather than skip
	// when their server is missing.
	EnvRequireIntegration = "DEALERCARE_REQUIRE_INTEGRATION"
	// EnvRepo is the repository root, for tests that need its files.
	EnvRepo = "DEALERCARE_REPO"
)

const (
	// startAttempts covers the race between FreePort and the server binding
	// the port.
	startAttempts = 3
	// commandWaitDelay is how long the command may take to exit after the
	// SIGTERM that follows an interrupt.
	commandWaitDelay = 30 * time.Second
	// Prefixes of the throwaway directories under .run.
	testPGPrefix       = "test-pg-"
	testTemporalPrefix = "test-temporal-"
	ownerPidFile       = "owner.pid"
)

// TestEnv runs the command args with a throwaway PostgreSQL cluster and
// Temporal dev server (each unless the caller's environment already names
// one), stops both and deletes their files afterwards, and returns the
// command's exit code. The error reports a failure of the environment
// itself, not of the command. Cancelling ctx (Ctrl-C) sends the command
// SIGTERM and cleans up all the same.
func TestEnv(ctx context.Context, root string, args []string, log io.Writer) (int, error) {
	if len(args) == 0 {
		return 0, errors.New("usage: devstack testenv -- COMMAND [ARG...]")
	}
	t := &testEnv{paths: Paths{Root: root}, log: log}
	defer t.cleanup()
	if err := t.start(ctx); err != nil {
		return 0, err
	}
	return runCommand(ctx, args, MergeEnv(os.Environ(), t.vars...))
}

type testEnv struct {
	paths Paths
	log   io.Writer
	vars  []string // KEY=VALUE for the command

	pgDir        string
	cluster      *Cluster
	temporalDir  string
	temporal     *Process
	temporalAddr string
}

func (t *testEnv) start(ctx context.Context) error {
	began := time.Now()
	if err := t.paths.MakeRunDir(); err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	t.removeLeftovers(ctx)
	t.vars = []string{EnvRequireIntegration + "=1", EnvRepo + "=" + t.paths.Root}

	var wg sync.WaitGroup
	var pgErr, temporalErr error
	if os.Getenv(EnvTestDatabaseURL) == "" {
		wg.Go(func() { pgErr = t.startPostgres(ctx) })
	}
	if os.Getenv(EnvTestTemporalAddress) == "" {
		wg.Go(func() { temporalErr = t.startTemporal(ctx) })
	}
	wg.Wait()
	if err := errors.Join(pgErr, temporalErr); err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	var started []string
	if t.cluster != nil {
		t.vars = append(t.vars, EnvTestDatabaseURL+"="+t.cluster.URL())
		started = append(started, "PostgreSQL 127.0.0.1:"+strconv.Itoa(t.cluster.Port))
	}
	if t.temporal != nil {
		t.vars = append(t.vars, EnvTestTemporalAddress+"="+t.temporalAddr)
		started = append(started, "Temporal "+t.temporalAddr)
	}
	if len(started) > 0 {
		fmt.Fprintf(t.log, "devstack: %s ready in %s\n", strings.Join(started, ", "), since(began))
	}
	return nil
}

func (t *testEnv) startPostgres(ctx context.Context) error {
	if err := t.paths.MakeClustersDir(); err != nil {
		return err
	}
	dir, err := makeOwnedTempDir(t.paths.Clusters(), testPGPrefix)
	if err != nil {
		return err
	}
	t.pgDir = dir
	c, err := NewCluster(filepath.Join(dir, "cluster"), 0, true)
	if err != nil {
		return err
	}
	if err := c.Init(ctx); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		if c.Port, err = FreePort(); err != nil {
			return err
		}
		err = c.Start(ctx)
		if err == nil {
			t.cluster = c
			return nil
		}
		c.Stop(context.WithoutCancel(ctx), "immediate")
		if attempt == startAttempts || !strings.Contains(LogTail(c.LogPath(), 20), "could not bind") {
			return err
		}
	}
}

func (t *testEnv) startTemporal(ctx context.Context) error {
	dir, err := makeOwnedTempDir(t.paths.Run(), testTemporalPrefix)
	if err != nil {
		return err
	}
	t.temporalDir = dir
	for attempt := 1; ; attempt++ {
		port, err := FreePort()
		if err != nil {
			return err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		p, err := StartTemporal(ctx, TemporalSpec{
			Binary:  t.paths.Bin("temporal"),
			Addr:    addr,
			LogPath: filepath.Join(dir, "temporal.log"),
			PidFile: filepath.Join(dir, "temporal.pid"),
		})
		if err == nil {
			t.temporal, t.temporalAddr = p, addr
			return nil
		}
		// A dev server that dies at start-up has usually lost a race for
		// one of the several ports it picks; a new attempt picks others.
		if attempt == startAttempts || !errors.Is(err, ErrExited) {
			return err
		}
	}
}

// cleanup stops what start started and deletes its directories; it runs
// even when ctx was cancelled, so it uses a context of its own.
func (t *testEnv) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if t.temporal != nil {
		if err := t.temporal.Stop(StopGrace); err != nil {
			fmt.Fprintf(t.log, "devstack: %v\n", err)
		}
	}
	if t.pgDir != "" {
		if err := stopTestCluster(ctx, t.pgDir, "fast"); err != nil {
			fmt.Fprintf(t.log, "devstack: %v\n", err)
		}
	}
	for _, dir := range []string{t.pgDir, t.temporalDir} {
		if dir == "" {
			continue
		}
		if err := removeAll(dir); err != nil {
			fmt.Fprintf(t.log, "devstack: %v\n", err)
		}
	}
}

// removeLeftovers deletes the directories of earlier test environments
// whose devstack is gone (killed, or the machine rebooted), stopping their
// servers first. Directories of a devstack still running, such as a
// parallel `make test`, are left alone.
func (t *testEnv) removeLeftovers(ctx context.Context) {
	for _, prefix := range []string{testPGPrefix, testTemporalPrefix} {
		dirs, _ := filepath.Glob(t.paths.Run(prefix + "*"))
		if prefix == testPGPrefix && t.paths.Clusters() != t.paths.Run() {
			more, _ := filepath.Glob(t.paths.Clusters(prefix + "*"))
			dirs = append(dirs, more...)
		}
		for _, dir := range dirs {
			if pid, err := readPidFile(filepath.Join(dir, ownerPidFile)); err == nil && alive(pid) {
				continue
			}
			if prefix == testPGPrefix {
				if err := stopTestCluster(ctx, dir, "immediate"); err != nil {
					fmt.Fprintf(t.log, "devstack: leftover %s: %v\n", dir, err)
					continue
				}
			} else if _, err := StopStale(filepath.Join(dir, "temporal.pid"), t.paths.Bin("temporal"), 5*time.Second); err != nil {
				fmt.Fprintf(t.log, "devstack: leftover %s: %v\n", dir, err)
				continue
			}
			if err := removeAll(dir); err != nil {
				fmt.Fprintf(t.log, "devstack: leftover %s: %v\n", dir, err)
			}
		}
	}
}

// stopTestCluster stops the cluster in a test directory, if any.
func stopTestCluster(ctx context.Context, dir, mode string) error {
	c, err := NewCluster(filepath.Join(dir, "cluster"), 0, true)
	if err != nil {
		return err
	}
	return c.Stop(ctx, mode)
}

// makeOwnedTempDir creates a fresh directory under parent, recording this
// process as its owner for removeLeftovers.
func makeOwnedTempDir(parent, prefix string) (string, error) {
	dir, err := os.MkdirTemp(parent, prefix)
	if err != nil {
		return "", fmt.Errorf("create temporary directory: %w", err)
	}
	// MkdirTemp makes it 0700; the postgres OS user must reach the cluster
	// directory inside it.
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", fmt.Errorf("create temporary directory: %w", err)
	}
	if err := writePidFile(filepath.Join(dir, ownerPidFile), os.Getpid()); err != nil {
		return "", err
	}
	return dir, nil
}

// runCommand runs args in the foreground with env and returns its exit
// code, 128+N if signal N ended it. When ctx is cancelled the command gets
// SIGTERM, and SIGKILL after commandWaitDelay.
func runCommand(ctx context.Context, args []string, env []string) (int, error) {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = commandWaitDelay
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exitErr):
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return exitErr.ExitCode(), nil
	case cmd.ProcessState != nil:
		// Cancelled, but the command still exited 0.
		return 128 + int(syscall.SIGINT), nil
	default:
		return 0, fmt.Errorf("run %s: %w", args[0], err)
	}
}
