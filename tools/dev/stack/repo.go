package stack

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// FindRepoRoot walks up from dir to the first directory holding go.work,
// the root of the dealercare repository.
func FindRepoRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("find repository root from %s: %w", dir, err)
	}
	for d := abs; ; d = filepath.Dir(d) {
		_, err := os.Stat(filepath.Join(d, "go.work"))
		if err == nil {
			return d, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("find repository root: %w", err)
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.work in %s or any parent: run devstack inside the dealercare repository", abs)
		}
	}
}

// LocateRepoRoot finds the repository from the working directory, or else
// from the executable (bin/devstack sits in the repository), so the
// programs work when started from anywhere in the tree or by absolute path.
func LocateRepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	root, wdErr := FindRepoRoot(wd)
	if wdErr == nil {
		return root, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", wdErr
	}
	if root, err := FindRepoRoot(filepath.Dir(exe)); err == nil {
		return root, nil
	}
	return "", wdErr
}

// Paths names the files of a repository that devstack reads and writes.
type Paths struct {
	Root string
}

// Bin is the program name as built into bin/ by `make build`.
func (p Paths) Bin(name string) string { return filepath.Join(p.Root, "bin", name) }

// Run is a path under the git-ignored .run directory.
func (p Paths) Run(elem ...string) string {
	return filepath.Join(append([]string{p.Root, ".run"}, elem...)...)
}

// Keys holds the dev signing key, its JWKS and minted service tokens.
func (p Paths) Keys() string { return p.Run("keys") }

// Logs holds one log file per program `devstack run` starts.
func (p Paths) Logs() string { return p.Run("logs") }

// Pids holds one pid file per program `devstack run` starts, so the next
// run can stop what a crashed one left behind.
func (p Paths) Pids() string { return p.Run("pids") }

// MakeRunDir creates .run, readable by everyone: when devstack runs as
// root the postgres OS user must reach the clusters inside it. It also
// repairs a .run that another tool created private (the dev key's
// directory is made 0700 and its parents with it).
func (p Paths) MakeRunDir() error {
	if err := os.MkdirAll(p.Run(), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", p.Run(), err)
	}
	if err := os.Chmod(p.Run(), 0o755); err != nil {
		return fmt.Errorf("make %s reachable: %w", p.Run(), err)
	}
	return nil
}

// Clusters is where PostgreSQL clusters go: under .run when the postgres OS
// user can reach it, else (a repository under a private directory such as
// /root, with devstack running as root) in a per-repository directory
// under the system's temporary directory.
func (p Paths) Clusters(elem ...string) string {
	if os.Geteuid() != 0 || reachableByOthers(p.Root) {
		return p.Run(elem...)
	}
	sum := sha256.Sum256([]byte(p.Root))
	dir := filepath.Join(os.TempDir(), "dealercare-"+hex.EncodeToString(sum[:6]))
	return filepath.Join(append([]string{dir}, elem...)...)
}

// MakeClustersDir creates the clusters' parent, reachable by the postgres
// OS user.
func (p Paths) MakeClustersDir() error {
	if err := os.MkdirAll(p.Clusters(), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", p.Clusters(), err)
	}
	return os.Chmod(p.Clusters(), 0o755)
}

// reachableByOthers reports whether every directory from / to dir lets
// other users through (o+x).
func reachableByOthers(dir string) bool {
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil || st.Mode().Perm()&0o001 == 0 {
			return false
		}
		if filepath.Dir(d) == d {
			return true
		}
	}
}
