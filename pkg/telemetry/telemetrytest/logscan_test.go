package telemetrytest

import (
	"log/slog"
	"slices"
	"testing"
)

func TestFindClear(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{`{"msg":"call","to":"13812345678"}`, []string{"mobile 13812345678"}},
		{"dial 138-1234-5678 now", []string{"mobile 138-1234-5678"}},
		{"id 11010119900307123X", []string{"resident ID 11010119900307123X"}},
		{"mail zhang.wei@example.com.cn", []string{"email zhang.wei@example.com.cn"}},
		{"masked 138****5678 110***********1234 z***@example.com", nil},
		{"order 9138123456789 ts 1733450000000", nil},
		{"from service@dealercare.example", nil},
		{"postgres://app:pw@127.0.0.1:5432/db", nil},
	} {
		if got := FindClear(c.in); !slices.Equal(got, c.want) {
			t.Errorf("FindClear(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestCaptureLogs: a mobile logged by attribute is masked by the process
// logger and passes; an email in a message is not masked and is caught.
func TestCaptureLogs(t *testing.T) {
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })
	s := CaptureLogs(nil, slog.LevelInfo)
	slog.Info("callback", "mobile", "13812345678")
	if leaks, n := s.Leaks(); len(leaks) != 0 || n != 1 {
		t.Fatalf("masked mobile: %v (%d lines)", leaks, n)
	}
	slog.Info("sent to li.na@example.com")
	if leaks, _ := s.Leaks(); len(leaks) != 1 {
		t.Fatalf("clear email: %v", leaks)
	}
	if code := s.ExitCode(0, nilWriter{}); code != 1 {
		t.Errorf("exit code %d with a leak", code)
	}
}

type nilWriter struct{}

func (nilWriter) Write(p []byte) (int, error) { return len(p), nil }
