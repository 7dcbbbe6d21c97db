package devserver

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestArgs(t *testing.T) {
	got, err := Args("127.0.0.1:7233", "/repo/.run/temporal.db")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", "7233", "--log-level", "warn", "--db-filename", "/repo/.run/temporal.db",
		"--dynamic-config-value", "history.timerProcessorMaxPollRPS=1000"}
	if !slices.Equal(got, want) {
		t.Errorf("args = %q, want %q", got, want)
	}
	inMemory, err := Args("127.0.0.1:40000", "")
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(inMemory, "--db-filename") {
		t.Errorf("in-memory server got a db file: %q", inMemory)
	}
	for _, bad := range []string{"7233", "127.0.0.1:http", ""} {
		if _, err := Args(bad, ""); err == nil {
			t.Errorf("address %q accepted", bad)
		}
	}
}

// TestReadyCheckRefusesNothingListening: with no server on the port the
// check fails (it must not report a server ready that is not there).
func TestReadyCheckRefusesNothingListening(t *testing.T) {
	check, closeConn, err := ReadyCheck("127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	defer closeConn()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := check(ctx); err == nil {
		t.Error("ready with nothing listening")
	}
}
