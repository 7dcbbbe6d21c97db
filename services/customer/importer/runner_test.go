package importer

import (
	"strings"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/config"
)

func TestLoadRunnerConfig(t *testing.T) {
	l := config.FromMap(nil)
	c := LoadRunnerConfig(l)
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	want := RunnerConfig{BatchSize: DefaultBatchSize, Workers: 1, Writers: DefaultWriters, PollInterval: DefaultPollInterval, Lease: DefaultLease}
	if c != want {
		t.Errorf("defaults = %+v, want %+v", c, want)
	}

	l = config.FromMap(map[string]string{"IMPORT_WRITERS": "4", "IMPORT_LEASE": "1m"})
	if c := LoadRunnerConfig(l); l.Err() != nil || c.Writers != 4 || c.Lease != time.Minute {
		t.Errorf("IMPORT_WRITERS=4 gives %+v, %v", c, l.Err())
	}
	for _, bad := range []string{"0", "17", "two"} {
		l = config.FromMap(map[string]string{"IMPORT_WRITERS": bad})
		LoadRunnerConfig(l)
		if err := l.Err(); err == nil || !strings.Contains(err.Error(), "IMPORT_WRITERS") {
			t.Errorf("IMPORT_WRITERS=%s: error %v, want one naming the variable", bad, err)
		}
	}
	if _, err := NewRunner(nil, RunnerConfig{Writers: MaxWriters + 1}, time.Now, nil); err == nil {
		t.Errorf("a runner with %d writers was accepted", MaxWriters+1)
	}
}
