// Package migorder checks that a repository's migrations were numbered in
// the order they landed.
//
// pg.Migrate refuses a migration file numbered below the newest one a
// database has applied (a merge that reordered history), so a file that
// lands on main after a higher-numbered one breaks the upgrade of every
// database that already ran that one. Two branches developed side by side
// make this easy: each numbers its file above what it saw. The check reads
// main's first-parent history (where each landing is one step) and requires
// every migration file present now to be numbered above every file that
// landed in an earlier commit.
package migorder

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Added is one migration file and the position of the first-parent commit
// that added it (0 is the oldest).
type Added struct {
	File    string // path relative to the repository root
	Version int64
	Commit  string
	Step    int
}

var fileVersion = regexp.MustCompile(`^([0-9]+)_[A-Za-z0-9_-]+\.(?i:sql)$`)

// Version is the NNNN prefix of a migration file name, or false.
func Version(file string) (int64, bool) {
	m := fileVersion.FindStringSubmatch(path.Base(file))
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseInt(m[1], 10, 64)
	return v, err == nil
}

// Violations lists, for files of one migrations directory, each file
// numbered at or below a file that was added in an earlier step.
func Violations(files []Added) []string {
	var out []string
	for _, f := range files {
		for _, earlier := range files {
			if earlier.Step < f.Step && earlier.Version >= f.Version {
				out = append(out, fmt.Sprintf("%s (%04d, added in %s) landed after %s (%04d, added in %s): number it above %04d",
					f.File, f.Version, f.Commit, earlier.File, earlier.Version, earlier.Commit, maxVersion(files, f.Step)))
				break
			}
		}
	}
	return out
}

func maxVersion(files []Added, before int) int64 {
	var m int64
	for _, f := range files {
		if f.Step < before && f.Version > m {
			m = f.Version
		}
	}
	return m
}

// History reads, for the migration files present in dir (relative to the
// repository root) at rev, the first-parent commit that added each one.
// It reports false when the clone lacks the history to tell (a shallow
// clone).
func History(root, rev, dir string) ([]Added, bool, error) {
	shallow, err := git(root, "rev-parse", "--is-shallow-repository")
	if err != nil {
		return nil, false, err
	}
	if strings.TrimSpace(shallow) == "true" {
		return nil, false, nil
	}
	present := map[string]bool{}
	ls, err := git(root, "ls-tree", "--name-only", rev, dir+"/")
	if err != nil {
		return nil, false, err
	}
	for _, f := range strings.Fields(ls) {
		if _, ok := Version(f); ok {
			present[f] = true
		}
	}
	log, err := git(root, "log", "--first-parent", "--reverse", "--diff-filter=A", "--name-only", "--format=@%h", rev, "--", dir)
	if err != nil {
		return nil, false, err
	}
	var out []Added
	step, commit := -1, ""
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case strings.HasPrefix(line, "@"):
			step, commit = step+1, line[1:]
		case present[line]:
			v, _ := Version(line)
			out = append(out, Added{File: line, Version: v, Commit: commit, Step: step})
			delete(present, line) // a file deleted and added again counts from its first landing
		}
	}
	return out, true, sc.Err()
}

// Dirs lists the repository's migrations directories at rev.
func Dirs(root, rev string) ([]string, error) {
	ls, err := git(root, "ls-tree", "-r", "-d", "--name-only", rev)
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, d := range strings.Fields(ls) {
		if path.Base(d) == "migrations" && !strings.HasPrefix(d, "bin/") {
			dirs = append(dirs, d)
		}
	}
	return dirs, nil
}

func git(root string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", root}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Env = append(os.Environ(), "GIT_PAGER=cat")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}
