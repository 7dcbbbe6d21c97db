package config

import (
	"strings"
	"testing"
	"time"
)

func TestLoader(t *testing.T) {
	l := FromMap(map[string]string{
		"A": " x ", "N": "12", "BADN": "twelve", "D": "90s", "BADD": "soon", "B": "true", "L": "a, b,,c",
	})
	if got := l.String("A", "d"); got != "x" {
		t.Errorf("String = %q", got)
	}
	if got := l.String("MISSING", "d"); got != "d" {
		t.Errorf("default = %q", got)
	}
	if got := l.Int("N", 0); got != 12 {
		t.Errorf("Int = %d", got)
	}
	if got := l.Duration("D", 0); got != 90*time.Second {
		t.Errorf("Duration = %v", got)
	}
	if !l.Bool("B", false) {
		t.Error("Bool = false")
	}
	if got := strings.Join(l.List("L", nil), "|"); got != "a|b|c" {
		t.Errorf("List = %q", got)
	}
	if err := l.Err(); err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	l.Int("BADN", 1)
	l.Duration("BADD", 0)
	l.Required("NEEDED")
	l.Check(false, "PORT", "must be between 1 and 65535")
	err := l.Err()
	if err == nil {
		t.Fatal("expected errors")
	}
	for _, name := range []string{"BADN", "BADD", "NEEDED", "PORT"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}
