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

func TestDescribe(t *testing.T) {
	l := Describe()
	l.String("ADDR", "127.0.0.1:1")
	l.Required("TOKEN")
	l.Duration("WAIT", 20*time.Second)
	l.Getenv("URL")
	l.String("ADDR", "other") // Read twice: listed once, first default kept.
	got := l.Vars()
	want := []Var{{Name: "ADDR", Default: "127.0.0.1:1"}, {Name: "TOKEN", Required: true}, {Name: "WAIT", Default: "20s"}, {Name: "URL"}}
	if len(got) != len(want) {
		t.Fatalf("Vars = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Vars[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if l.Err() == nil {
		t.Error("Describe finds nothing set, so a required variable is missing")
	}
	if FromMap(nil).Vars() != nil {
		t.Error("a loader that does not describe records nothing")
	}
}
