// Package programtest runs dealercare programs in tests. This file runs
// them as real processes (built from the workspace, started with an
// environment, killed with SIGKILL to prove that no work is lost in a
// crash).

package programtest

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/dealercare/dealercare/pkg/telemetry/telemetrytest"
)

// Build builds the main package pkg (e.g. "./cmd/webhook") of the module
// in moduleDir into a temporary directory and returns the binary's path.
func Build(t testing.TB, moduleDir, pkg string) string {
	t.Helper()
	out := t.TempDir()
	cmd := exec.Command("go", "build", "-o", out+string(filepath.Separator), pkg)
	cmd.Dir = moduleDir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	return filepath.Join(out, filepath.Base(pkg))
}

// Proc is a started program; its output goes to Log.
type Proc struct {
	Log string
	cmd *exec.Cmd
}

// Start starts bin with env (nothing else is inherited) and logs its
// output to dir/<name>.log, appending across restarts. The process gets
// SIGTERM when the test ends, and its log's tail is printed if the test
// failed. After every process of the test has stopped, each log is
// scanned for personal data in clear (telemetrytest.FindClear: a mobile
// number, a resident ID number, an email address), and each find fails
// the test.
func Start(t testing.TB, bin, dir string, env []string) *Proc {
	t.Helper()
	p := &Proc{Log: filepath.Join(dir, filepath.Base(bin)+".log")}
	scanWhenDone(t, p.Log)
	f, err := os.OpenFile(p.Log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin)
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = env, f, f
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			_ = p.cmd.Wait()
		}
		f.Close()
		if t.Failed() {
			p.tail(t)
		}
	})
	return p
}

// Pid is the process's id (to read /proc/<pid>/status, or to profile it).
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

var (
	scannedMu sync.Mutex
	scanned   = map[testing.TB]map[string]bool{} // the logs each test scans
)

// scanWhenDone scans log once the test's processes have stopped: its
// cleanup is registered before the first process writing to log, so it
// runs after theirs.
func scanWhenDone(t testing.TB, log string) {
	scannedMu.Lock()
	defer scannedMu.Unlock()
	if scanned[t] == nil {
		scanned[t] = map[string]bool{}
		t.Cleanup(func() {
			scannedMu.Lock()
			delete(scanned, t)
			scannedMu.Unlock()
		})
	}
	if scanned[t][log] {
		return
	}
	scanned[t][log] = true
	t.Cleanup(func() { ScanLog(t, log) })
}

// maxLeaksShown bounds the errors one log adds.
const maxLeaksShown = 10

// ScanLog fails t for every line of the log file at path that holds
// personal data in clear.
func ScanLog(t testing.TB, path string) {
	t.Helper()
	s := telemetrytest.NewLogScan(nil)
	if err := s.ScanFile(path); err != nil {
		t.Errorf("scan %s for personal data: %v", path, err)
		return
	}
	leaks, lines := s.Leaks()
	for i, l := range leaks {
		if i == maxLeaksShown {
			t.Errorf("... and %d more", len(leaks)-i)
			break
		}
		t.Errorf("personal data in clear in a log: %s", l)
	}
	if len(leaks) == 0 {
		t.Logf("log scan of %s: %d lines, no mobile, resident ID or email in clear", filepath.Base(path), lines)
	}
}

// Kill ends the process with SIGKILL, as a crash or an OOM kill would.
func (p *Proc) Kill(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Logf("kill %s: %v", p.cmd.Path, err)
	}
	_ = p.cmd.Wait()
}

// Stop sends SIGTERM, as Kubernetes does to a pod it replaces, and waits
// until the process has exited; it returns how the process ended.
func (p *Proc) Stop(t testing.TB) error {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Logf("stop %s: %v", p.cmd.Path, err)
	}
	return p.cmd.Wait()
}

// Wait waits for the process to exit by itself.
func (p *Proc) Wait() error { return p.cmd.Wait() }

func (p *Proc) tail(t testing.TB) {
	f, err := os.Open(p.Log)
	if err != nil {
		return
	}
	defer f.Close()
	var lines []string
	for sc := bufio.NewScanner(f); sc.Scan(); {
		lines = append(lines, sc.Text())
	}
	for _, l := range lines[max(0, len(lines)-20):] {
		t.Logf("%s: %s", filepath.Base(p.Log), l)
	}
}

// FreePorts returns n loopback addresses whose ports were free a moment ago.
func FreePorts(t testing.TB, n int) []string {
	t.Helper()
	var ls []net.Listener
	var out []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().String())
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}
