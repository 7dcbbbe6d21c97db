package stack

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// StopGrace is how long a program may take to shut down after SIGTERM
// before its process group gets SIGKILL.
const StopGrace = 20 * time.Second

// ProcessSpec describes a long-running program to start.
type ProcessSpec struct {
	// Name identifies the program in messages.
	Name string
	// Path and Args are the program and its arguments.
	Path string
	Args []string
	// Env is the complete environment.
	Env []string
	// LogPath receives stdout and stderr, truncated at start.
	LogPath string
	// PidFile, if set, records the pid until the program is stopped, so
	// StopStale can stop it after devstack itself died.
	PidFile string
}

// Process is a program started in its own process group, so a Ctrl-C in
// the terminal reaches devstack only and devstack stops its programs in
// order, and so stopping one also stops whatever it spawned.
type Process struct {
	spec ProcessSpec
	cmd  *exec.Cmd
	done chan struct{}
	err  error // Wait's result; read only after done is closed
}

// StartProcess starts spec.
func StartProcess(spec ProcessSpec) (*Process, error) {
	if err := os.MkdirAll(filepath.Dir(spec.LogPath), 0o755); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	logFile, err := os.OpenFile(spec.LogPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: open log: %w", spec.Name, err)
	}
	defer logFile.Close()

	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Env = spec.Env
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	p := &Process{spec: spec, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	if spec.PidFile != "" {
		if err := writePidFile(spec.PidFile, cmd.Process.Pid); err != nil {
			p.Stop(StopGrace)
			return nil, fmt.Errorf("start %s: %w", spec.Name, err)
		}
	}
	return p, nil
}

// Name is the spec's name.
func (p *Process) Name() string { return p.spec.Name }

// LogPath is where the program's output goes.
func (p *Process) LogPath() string { return p.spec.LogPath }

// Pid is the program's pid, which is also its process group id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the program has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitError describes how the program ended; valid once Done is closed.
func (p *Process) ExitError() error {
	if p.err == nil {
		return fmt.Errorf("%s exited with status 0", p.spec.Name)
	}
	return fmt.Errorf("%s exited: %w", p.spec.Name, p.err)
}

// Stop sends SIGTERM to the process group, waits up to grace for the
// program to exit, then sends SIGKILL, and removes the pid file. It is safe
// to call on a program that has already exited.
func (p *Process) Stop(grace time.Duration) error {
	defer p.removePidFile()
	select {
	case <-p.done:
		return nil
	default:
	}
	pgid := p.cmd.Process.Pid
	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop %s: %w", p.spec.Name, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill %s: %w", p.spec.Name, err)
	}
	<-p.done
	return fmt.Errorf("%s did not stop within %s after SIGTERM and was killed", p.spec.Name, grace)
}

func (p *Process) removePidFile() {
	if p.spec.PidFile != "" {
		os.Remove(p.spec.PidFile)
	}
}

func writePidFile(path string, pid int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	return nil
}

func readPidFile(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		return 0, fmt.Errorf("pid file %s does not hold a pid", path)
	}
	return pid, nil
}

// StopStale stops the program recorded in pidFile by an earlier devstack
// that died without cleaning up, and removes the file. The pid is only
// signalled while it still runs program (compared with its argv[0]), so a
// pid reused by an unrelated process is left alone. It reports whether it
// stopped something.
func StopStale(pidFile, program string, grace time.Duration) (bool, error) {
	pid, err := readPidFile(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	defer os.Remove(pidFile)
	if err != nil {
		return false, nil // unreadable: nothing we can safely signal
	}
	if !alive(pid) || !runsProgram(pid, program) {
		return false, nil
	}
	target := pid
	if pgid, err := syscall.Getpgid(pid); err == nil && pgid == pid {
		target = -pid // it leads its own group, as StartProcess arranges
	}
	if err := syscall.Kill(target, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return false, fmt.Errorf("stop leftover %s (pid %d): %w", program, pid, err)
	}
	for deadline := time.Now().Add(grace); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if !alive(target) {
			return true, nil
		}
	}
	if err := syscall.Kill(target, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return false, fmt.Errorf("kill leftover %s (pid %d): %w", program, pid, err)
	}
	return true, nil
}

// alive reports whether pid (or, negative, a process group) exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// runsProgram compares the process's argv[0] with program, from /proc on
// Linux and from ps elsewhere.
func runsProgram(pid int, program string) bool {
	var argv0 string
	if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil {
		argv0, _, _ = strings.Cut(string(data), "\x00")
	} else if out, err := exec.Command("ps", "-o", "comm=", "-p", strconv.Itoa(pid)).Output(); err == nil {
		argv0 = strings.TrimSpace(string(out))
	}
	return argv0 != "" && (argv0 == program || filepath.Base(argv0) == filepath.Base(program))
}

// LogTail returns the last n lines of the file at path, for error messages.
func LogTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	return tail(data, n)
}

// LogExcerpt is LogTail preceded by the first lines of a Go panic or fatal
// error if the log has one: the tail of a crash is only its goroutine
// dump, and the reason is at the top.
func LogExcerpt(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	return excerpt(data, n)
}

func excerpt(data []byte, n int) string {
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) <= n {
		return string(data[:len(bytes.TrimRight(data, "\n"))])
	}
	for i, l := range lines[:len(lines)-n] {
		if bytes.HasPrefix(l, []byte("panic: ")) || bytes.HasPrefix(l, []byte("fatal error: ")) {
			head := lines[i:min(i+5, len(lines)-n)]
			return string(bytes.Join(head, []byte("\n"))) + "\n...\n" + tail(data, n)
		}
	}
	return tail(data, n)
}

func tail(data []byte, n int) string {
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// indent prefixes every line of s, to set a log excerpt apart.
func indent(s, prefix string) string {
	if s == "" {
		return prefix + "(empty)"
	}
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
