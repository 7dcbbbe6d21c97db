package chaos

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dealercare/dealercare/tools/dev/stack"
	"github.com/jackc/pgx/v5"
)

// TestChaosShort is make chaos in small (not in make test yet: tools/chaos
// is not in the Makefile's MODULES; README "Chaos"): 500 operations while
// components are killed every second or two, then the checks; and then the
// checker is shown to fail on a planted duplicate and a planted loss.
func TestChaosShort(t *testing.T) {
	root, err := stack.LocateRepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "bin")
	for _, p := range []string{"temporal", "customer", "gateway", "worker"} {
		if _, err := os.Stat(filepath.Join(bin, p)); err != nil {
			if os.Getenv(stack.EnvRequireIntegration) != "" {
				t.Fatalf("%s: run make build first", err)
			}
			t.Skipf("%s not built (make build)", p)
		}
	}
	paths := stack.Paths{Root: root}
	if err := paths.MakeRunDir(); err != nil {
		t.Fatal(err)
	}
	if err := paths.MakeClustersDir(); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp(paths.Clusters(), "chaos-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			os.RemoveAll(dir)
		} else {
			t.Logf("logs and data kept in %s", dir)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var log bytes.Buffer
	r, s, l, err := Run(ctx, Config{
		Dir: dir, Bin: bin, Ops: 500, Clients: 4, Dealers: 2,
		KillEvery: 1500 * time.Millisecond, Pause: time.Second, Settle: 2 * time.Minute, Log: &log,
	})
	if s != nil {
		defer s.Stop()
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	var out bytes.Buffer
	r.Print(&out)
	t.Log("\n" + out.String())
	if !r.OK() {
		t.Fatalf("losses %d, duplicates %d\n%s", r.Checks.Losses(), r.Checks.Duplicates(), log.String())
	}
	if r.Acknowledged < 500 || r.Checks.Rows() == 0 {
		t.Errorf("%d operations acknowledged, %d rows checked", r.Acknowledged, r.Checks.Rows())
	}
	total := 0
	for _, n := range r.Kills {
		total += n
	}
	if total == 0 {
		t.Errorf("no component was killed during the load")
	}

	// The checks can fail: a complaint filed twice (a retry that ran
	// again) is a duplicate, and a customer the API acknowledged that is
	// gone is a loss.
	conn, err := pgx.Connect(ctx, s.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	planted := []string{
		`SET search_path = complaint`,
		`INSERT INTO complaint.complaints (dealer_id, id, origin_dealer, channel, category, severity, description, state)
		 SELECT dealer_id, gen_random_uuid(), origin_dealer, channel, category, severity, description, state FROM complaint.complaints
		 WHERE description LIKE '%` + l.Run + `%' LIMIT 1`,
	}
	for _, q := range planted {
		if tag, err := conn.Exec(ctx, q); err != nil || (tag.Insert() && tag.RowsAffected() != 1) {
			t.Fatalf("plant: %v (%v)", err, tag)
		}
	}
	l.mu.Lock()
	l.Customers["混沌"+l.Run+"客户-planted"] = "00000000-0000-0000-0000-000000000000"
	l.mu.Unlock()
	c, err := Check(ctx, s.AdminURL(), s.TemporalAddr(), l)
	if err != nil {
		t.Fatal(err)
	}
	if c.Duplicates() != 1 || c.Losses() < 1 {
		t.Errorf("after planting a duplicate complaint and losing a customer: duplicates %d, losses %d, want 1 and at least 1", c.Duplicates(), c.Losses())
	}
}
