package stack

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func startSh(t *testing.T, script string) (*Process, ProcessSpec) {
	t.Helper()
	dir := t.TempDir()
	spec := ProcessSpec{
		Name:    "sh",
		Path:    "/bin/sh",
		Args:    []string{"-c", script},
		Env:     os.Environ(),
		LogPath: filepath.Join(dir, "logs", "sh.log"),
		PidFile: filepath.Join(dir, "pids", "sh.pid"),
	}
	p, err := StartProcess(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(time.Second) })
	return p, spec
}

func TestProcessStopsWholeGroup(t *testing.T) {
	// The child sleep is in sh's process group; stopping sh must stop it.
	p, spec := startSh(t, `sleep 60 & echo "child $!"; wait`)
	var child int
	deadline := time.Now().Add(5 * time.Second)
	for child == 0 && time.Now().Before(deadline) {
		data, _ := os.ReadFile(spec.LogPath)
		if _, after, ok := strings.Cut(string(data), "child "); ok {
			child, _ = strconv.Atoi(strings.TrimSpace(after))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if child == 0 {
		t.Fatal("child pid never logged")
	}
	if pid, err := readPidFile(spec.PidFile); err != nil || pid != p.Pid() {
		t.Fatalf("pid file holds %d (%v), want %d", pid, err, p.Pid())
	}
	if err := p.Stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	waitGone(t, child)
	if _, err := os.Stat(spec.PidFile); !os.IsNotExist(err) {
		t.Errorf("pid file left behind: %v", err)
	}
}

func TestProcessStopKillsAfterGrace(t *testing.T) {
	p, spec := startSh(t, `trap "" TERM; echo ready; while :; do sleep 0.05; done`)
	waitForLog(t, spec.LogPath, "ready")
	began := time.Now()
	err := p.Stop(300 * time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "was killed") {
		t.Fatalf("Stop = %v, want an error saying it was killed", err)
	}
	if took := time.Since(began); took < 300*time.Millisecond || took > 5*time.Second {
		t.Errorf("Stop took %s", took)
	}
}

func TestProcessExitReported(t *testing.T) {
	p, spec := startSh(t, `echo boom; exit 3`)
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("process did not exit")
	}
	if err := p.ExitError(); !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("ExitError = %v", err)
	}
	if got := LogTail(spec.LogPath, 5); got != "boom" {
		t.Errorf("log tail %q, want boom", got)
	}
	if err := p.Stop(time.Second); err != nil {
		t.Errorf("Stop after exit: %v", err)
	}
}

func TestStopStale(t *testing.T) {
	p, spec := startSh(t, `echo ready; sleep 60`)
	waitForLog(t, spec.LogPath, "ready")

	// Another program's pid file must not make us signal this process.
	other := filepath.Join(t.TempDir(), "other.pid")
	if err := writePidFile(other, p.Pid()); err != nil {
		t.Fatal(err)
	}
	if stopped, err := StopStale(other, "/usr/bin/not-this-program", time.Second); err != nil || stopped {
		t.Fatalf("StopStale of a mismatched program = %v, %v", stopped, err)
	}
	if !alive(p.Pid()) {
		t.Fatal("mismatched StopStale killed the process")
	}

	stopped, err := StopStale(spec.PidFile, "/bin/sh", 5*time.Second)
	if err != nil || !stopped {
		t.Fatalf("StopStale = %v, %v; want true, nil", stopped, err)
	}
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("process still running after StopStale")
	}
	if _, err := os.Stat(spec.PidFile); !os.IsNotExist(err) {
		t.Errorf("pid file left behind: %v", err)
	}
	if stopped, err := StopStale(spec.PidFile, "/bin/sh", time.Second); err != nil || stopped {
		t.Errorf("StopStale without a pid file = %v, %v", stopped, err)
	}
}

func TestTail(t *testing.T) {
	if got := tail([]byte("a\nb\nc\n"), 2); got != "b\nc" {
		t.Errorf("tail = %q", got)
	}
	if got := tail([]byte("a"), 5); got != "a" {
		t.Errorf("tail = %q", got)
	}
	if got := indent("x\ny", "> "); got != "> x\n> y" {
		t.Errorf("indent = %q", got)
	}
}

func TestRunCommandExitCodes(t *testing.T) {
	tests := []struct {
		script string
		want   int
	}{
		{"exit 0", 0},
		{"exit 3", 3},
		{"kill -TERM $$", 128 + int(syscall.SIGTERM)},
		{`test "$DEVSTACK_TEST_VAR" = yes`, 0},
	}
	for _, tt := range tests {
		got, err := runCommand(t.Context(), []string{"/bin/sh", "-c", tt.script}, MergeEnv(os.Environ(), "DEVSTACK_TEST_VAR=yes"))
		if err != nil || got != tt.want {
			t.Errorf("%s: got %d, %v; want %d", tt.script, got, err, tt.want)
		}
	}
	if _, err := runCommand(t.Context(), []string{"/nonexistent/program"}, nil); err == nil {
		t.Error("missing program: no error")
	}
}

func waitForLog(t *testing.T, path, want string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if data, _ := os.ReadFile(path); strings.Contains(string(data), want) {
			return
		}
	}
	t.Fatalf("%q never appeared in %s", want, path)
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if !alive(pid) {
			return
		}
	}
	t.Fatalf("pid %d still alive", pid)
}

func TestExcerptKeepsPanicReason(t *testing.T) {
	log := "starting\npanic: listen tcp 127.0.0.1:1: bind: address already in use\n\ngoroutine 1 [running]:\n" +
		strings.Repeat("main.frame()\n\t/src/x.go:1\n", 20)
	got := excerpt([]byte(log), 4)
	if !strings.HasPrefix(got, "panic: listen tcp") || !strings.HasSuffix(got, "/src/x.go:1") {
		t.Errorf("excerpt = %q; want the panic line, then the tail", got)
	}
	if got := excerpt([]byte("a\nb\n"), 4); got != "a\nb" {
		t.Errorf("short log excerpt = %q", got)
	}
}
