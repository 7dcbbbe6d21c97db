package temporaltest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/temporal/devserver"
)

// devServerStartTimeout bounds the wait for a dev server to serve its
// "default" namespace; it normally takes a second or two.
const devServerStartTimeout = 90 * time.Second

// DevServer is a Temporal dev server of a test's own (bin/temporal
// `server start-dev`, with the command line and dynamic config of
// pkg/temporal/devserver, as `make run` and `make test` start theirs), for
// tests that kill Temporal and start it again.
// It keeps its state in a db file, so a restart on the same port finds
// the namespaces and workflows it had.
type DevServer struct {
	// Addr is the frontend's host:port; it stays the same across restarts.
	Addr string

	t         testing.TB
	bin, db   string
	log       string
	cmd       *exec.Cmd
	done      chan struct{}
	startings int
}

// StartDevServer starts a dev server on a free port and waits until it
// answers. The test skips when bin/temporal (found in the working
// directory or a parent's bin/) is missing, unless
// DEALERCARE_REQUIRE_INTEGRATION=1 makes it fail. The server is killed
// when the test ends.
func StartDevServer(t testing.TB) *DevServer {
	t.Helper()
	bin, err := findTemporalCLI()
	if err != nil {
		if os.Getenv(EnvRequireIntegration) == "1" {
			t.Fatalf("%v, but %s=1", err, EnvRequireIntegration)
		}
		t.Skip(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	s := &DevServer{Addr: addr, t: t, bin: bin, db: filepath.Join(dir, "temporal.db"), log: filepath.Join(dir, "temporal.log")}
	t.Cleanup(func() {
		if s.cmd != nil {
			s.Kill()
		}
	})
	s.Start()
	return s
}

// findTemporalCLI looks for bin/temporal in the working directory and its
// parents (a package's tests run in the package's directory).
func findTemporalCLI() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "bin", "temporal")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("bin/temporal not found in the working directory or a parent (`make tools` builds it)")
		}
		dir = parent
	}
}

// Start starts the server (again) on Addr with the same db file and waits
// until its "default" namespace answers.
func (s *DevServer) Start() {
	s.t.Helper()
	if s.cmd != nil {
		s.t.Fatal("temporal dev server: Start while it is running")
	}
	args, err := devserver.Args(s.Addr, s.db)
	if err != nil {
		s.t.Fatal(err)
	}
	logFile, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	defer logFile.Close()
	s.startings++
	fmt.Fprintf(logFile, "--- start %d\n", s.startings)
	cmd := exec.Command(s.bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start temporal dev server: %v", err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(s.done)
	if err := s.waitReady(); err != nil {
		log, _ := os.ReadFile(s.log)
		s.Kill()
		s.t.Fatalf("temporal dev server on %s: %v\nlog:\n%s", s.Addr, err, tail(log, 4000))
	}
}

func (s *DevServer) waitReady() error {
	check, closeConn, err := devserver.ReadyCheck(s.Addr)
	if err != nil {
		return err
	}
	defer closeConn()
	ctx, cancel := context.WithTimeout(context.Background(), devServerStartTimeout)
	defer cancel()
	var last error
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, 5*time.Second)
		last = check(attempt)
		cancelAttempt()
		if last == nil {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("exited before it was ready (last: %v)", last)
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %v", devServerStartTimeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Kill ends the server's process group with SIGKILL, as a crash or an OOM
// kill would, and waits until it is gone.
func (s *DevServer) Kill() {
	s.t.Helper()
	if s.cmd == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.t.Errorf("temporal dev server (pid %d) did not exit after SIGKILL", s.cmd.Process.Pid)
	}
	s.cmd = nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
