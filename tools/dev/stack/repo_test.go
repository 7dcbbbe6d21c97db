package stack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindRepoRoot(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "services", "customer", "network")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "go.work"), []byte("go 1.26.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A go.mod on the way up must not stop the walk: modules sit below the
	// workspace.
	if err := os.WriteFile(filepath.Join(root, "services", "customer", "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, start := range []string{root, deep, filepath.Join(deep, "..")} {
		got, err := FindRepoRoot(start)
		if err != nil {
			t.Fatalf("FindRepoRoot(%s): %v", start, err)
		}
		if got != root {
			t.Errorf("FindRepoRoot(%s) = %s, want %s", start, got, root)
		}
	}
}

func TestFindRepoRootMissing(t *testing.T) {
	dir := t.TempDir()
	if _, err := os.Stat("/go.work"); err == nil {
		t.Skip("/go.work exists on this machine")
	}
	_, err := FindRepoRoot(dir)
	if err == nil || !strings.Contains(err.Error(), "no go.work") {
		t.Fatalf("err = %v, want one about go.work", err)
	}
}

func TestPaths(t *testing.T) {
	p := Paths{Root: "/repo"}
	for got, want := range map[string]string{
		p.Bin("temporal"):  "/repo/bin/temporal",
		p.Run("pg"):        "/repo/.run/pg",
		p.Keys():           "/repo/.run/keys",
		p.Logs():           "/repo/.run/logs",
		p.Pids():           "/repo/.run/pids",
		JWKSPath(p.Keys()): "/repo/.run/keys/dev-jwks.json",
		p.Run("env"):       "/repo/.run/env",
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}
