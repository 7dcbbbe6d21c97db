package app_test

import (
	"strings"
	"testing"
	"time"
)

// TestReadDeliveries checks the benchmark's count at the provider: it
// passes only when every wanted address has exactly one message and no
// one else has any, and it finds the last record's time.
func TestReadDeliveries(t *testing.T) {
	want := map[string]bool{"+8613900000001": true, "+8613900000002": true, "+8613900000003": true}
	line := func(to, at string) string {
		return `{"channel":"sms","key":"k-` + to + at + `","to":"` + to + `","body":"x","received":"` + at + `"}` + "\n"
	}
	all := line("+8613900000001", "2026-12-07T06:00:01Z") + line("+8613900000003", "2026-12-07T06:00:03Z") +
		line("+8613900000002", "2026-12-07T06:00:02Z")
	got, err := readDeliveries(strings.NewReader(all), want)
	if err != nil {
		t.Fatal(err)
	}
	if got.Messages != 3 || !got.Last.Equal(time.Date(2026, 12, 7, 6, 0, 3, 0, time.UTC)) {
		t.Errorf("got %+v, want 3 messages, the last at 06:00:03", got)
	}
	for name, records := range map[string]string{
		"missing":    line("+8613900000001", "2026-12-07T06:00:01Z") + line("+8613900000003", "2026-12-07T06:00:03Z"),
		"repeated":   all + line("+8613900000002", "2026-12-07T06:00:04Z"),
		"unexpected": all + line("+8613900000009", "2026-12-07T06:00:04Z"),
		"garbled":    all + "{not json\n",
	} {
		if _, err := readDeliveries(strings.NewReader(records), want); err == nil {
			t.Errorf("%s: no error", name)
		} else if strings.Contains(err.Error(), "13900000") {
			t.Errorf("%s: the error shows a mobile in clear: %v", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
