package stack

import (
	"slices"
	"testing"
)

func TestTemporalArgs(t *testing.T) {
	got, err := TemporalSpec{Addr: "127.0.0.1:7233", DBFile: "/repo/.run/temporal.db"}.args()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", "7233", "--log-level", "warn", "--db-filename", "/repo/.run/temporal.db",
		"--dynamic-config-value", "history.timerProcessorMaxPollRPS=1000"}
	if !slices.Equal(got, want) {
		t.Errorf("args = %q, want %q", got, want)
	}
	inMemory, err := TemporalSpec{Addr: "127.0.0.1:40000"}.args()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(inMemory, "--db-filename") {
		t.Errorf("in-memory server got a db file: %q", inMemory)
	}
	for _, bad := range []string{"7233", "127.0.0.1:http", ""} {
		if _, err := (TemporalSpec{Addr: bad}).args(); err == nil {
			t.Errorf("address %q accepted", bad)
		}
	}
}
