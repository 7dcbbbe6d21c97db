package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/outbox"
	"github.com/dealercare/dealercare/pkg/pgtest"
	"github.com/dealercare/dealercare/pkg/pii"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/temporal/temporaltest"
	"github.com/dealercare/dealercare/services/campaign/postgres"
	"github.com/jackc/pgx/v5"
)

// The floor's shape, the same as the sending path's: the campaign
// workflow's senders (workflows/campaign DefaultParallel) each write a
// batch (DefaultBatchSize) per transaction, through the campaign service's
// pool of max(4, GOMAXPROCS) sessions.
const (
	benchSessions = 4
	benchBatch    = 500
	benchDealers  = 10
)

// TestCampaignBench is `make bench-campaign`: an HQ holiday greeting to
// DEALERCARE_CAMPAIGN_BENCH_RECIPIENTS customers (default 1,000,000) of
// ten dealers, from ScheduleCampaign to the last message recorded by the
// recording provider, through the real processes: customer service
// (audience and contacts over gRPC), campaign service (the at-most-once
// ledger, the outbox relay, the signed SMS API), the worker (the campaign
// workflow on the Temporal dev server) and campaign-provider (with its
// record file and its delivery receipts back to the service). Next to it,
// in the same run and database, the floor: the same number of message
// rows, as the sending path leaves them (sent, with message and provider
// ids), written straight into campaign.recipients with as many sessions
// and rows per transaction as the sending path has. It reports both rates,
// their ratio (target ≥ 0.5), the peak resident memory of the worker and
// the campaign service (VmHWM, and VmRSS sampled every second) and the
// machine's load average.
//
// Seeding is setup, not measured: the customers come in through the
// customer service's own DMS import (ImportService.CreateImport, one CSV
// per dealer); their SMS consents are bulk-inserted into customer.consents
// with one INSERT ... SELECT (the service's API takes one consent a call).
func TestCampaignBench(t *testing.T) {
	if os.Getenv("DEALERCARE_CAMPAIGN_BENCH") != "1" {
		t.Skip("set DEALERCARE_CAMPAIGN_BENCH=1 (make bench-campaign) to run the campaign benchmark")
	}
	n := 1_000_000
	if s := os.Getenv("DEALERCARE_CAMPAIGN_BENCH_RECIPIENTS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < benchDealers {
			t.Fatalf("DEALERCARE_CAMPAIGN_BENCH_RECIPIENTS=%q: want a number ≥ %d", s, benchDealers)
		}
	}
	t.Logf("campaign_bench: load average %s at the start", loadAverage())
	st := startCampaignStack(t, nil, nil, false)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Hour)
	defer cancel()
	hq, cc, campaigns := st.hqReady(ctx, t)
	network, imports := customerv1.NewDealerNetworkServiceClient(cc), customerv1.NewImportServiceClient(cc)

	// Setup: ten dealers in a zone whose local time is inside the sending
	// window, their customers through the DMS import, SMS consent for all.
	began := time.Now()
	dayZone, _ := zones(t, time.Now())
	if _, err := network.CreateRegion(hq, &customerv1.CreateRegionRequest{Region: &customerv1.Region{Code: "EAST", Name: "华东"}}); err != nil {
		t.Fatal(err)
	}
	dealers := make([]string, benchDealers)
	want := make(map[string]bool, n)
	var (
		importIDs []string
		staffOf   []context.Context
	)
	for d := range dealers {
		dealers[d] = fmt.Sprintf("BN%03d", d+1)
		if _, err := network.CreateDealer(hq, &customerv1.CreateDealerRequest{Dealer: &customerv1.Dealer{
			Code: dealers[d], Name: dealers[d] + " 4S店", Region: "EAST", TimeZone: dayZone}}); err != nil {
			t.Fatal(err)
		}
		var csv strings.Builder
		csv.WriteString("客户编号,姓名,手机号,客户级别,客户类型\n")
		for i := d; i < n; i += benchDealers {
			fmt.Fprintf(&csv, "C%08d,客户%d,139%08d,常规,个人\n", i, i, i)
			want[fmt.Sprintf("+86139%08d", i)] = true
		}
		staff := auth.WithToken(ctx, st.id.Token(t, auth.Principal{Subject: "manager", Roles: []auth.Role{auth.RoleDealerManager}, Dealer: dealers[d]}))
		imp, err := imports.CreateImport(staff, &customerv1.CreateImportRequest{Dealer: dealers[d], FileName: dealers[d] + ".csv", Content: []byte(csv.String())})
		if err != nil {
			t.Fatalf("import %s: %v", dealers[d], err)
		}
		importIDs, staffOf = append(importIDs, imp.GetId()), append(staffOf, staff)
	}
	for d, importID := range importIDs {
		temporaltest.WaitFor(ctx, t, func() bool {
			imp, err := imports.GetImport(staffOf[d], &customerv1.GetImportRequest{Dealer: dealers[d], Import: importID})
			if err != nil || imp.GetState() == customerv1.ImportState_IMPORT_STATE_RUNNING {
				return false
			}
			if imp.GetState() != customerv1.ImportState_IMPORT_STATE_SUCCEEDED || imp.GetFailedRows() > 0 {
				t.Fatalf("import %s: %s, %d rows failed: %s", dealers[d], imp.GetState(), imp.GetFailedRows(), imp.GetFailure())
			}
			return true
		})
	}
	owner, err := pgx.Connect(ctx, st.db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(context.Background())
	var consents int64
	if err := pg.InTx(ctx, owner, pg.AllDealers(), func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO customer.consents (dealer_id, customer_id, channel, granted, source, update_time)
			SELECT dealer_id, id, 'sms', true, 'bench', now() FROM customer.customers`)
		consents = tag.RowsAffected()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if consents != int64(n) {
		t.Fatalf("%d customers in the archive, want %d", consents, n)
	}
	for _, table := range []string{"customer.customers", "customer.consents"} {
		if _, err := owner.Exec(ctx, `VACUUM ANALYZE `+table); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("campaign_bench: seeded %d customers at %d dealers (DMS import, consents bulk-inserted) in %v",
		n, benchDealers, time.Since(began).Round(time.Millisecond))

	// The campaign, timed from ScheduleCampaign to the provider's last
	// record.
	c, err := campaigns.CreateCampaign(hq, &campaignv1.CreateCampaignRequest{Campaign: &campaignv1.Campaign{
		Kind: campaignv1.CampaignKind_CAMPAIGN_KIND_HOLIDAY_GREETING, Name: "元旦祝福", Dealers: dealers,
		Channels: []campaignv1.Channel{campaignv1.Channel_CHANNEL_SMS},
		Template: &campaignv1.MessageTemplate{Body: "{{customer_name}}您好，{{dealer_name}}祝您新年快乐！"}}})
	if err != nil {
		t.Fatal(err)
	}
	rss := newRSSSampler(map[string]int{"worker": st.worker.Pid(), "campaign": st.campaign.Pid(),
		"customer": st.customer.Pid(), "campaign-provider": st.provider.Pid()})
	cpu0 := rss.cpu()
	stopPerf := perfRecord(t, rss.pids)
	start := time.Now()
	if _, err := campaigns.ScheduleCampaign(hq, &campaignv1.ScheduleCampaignRequest{Campaign: c.GetId()}); err != nil {
		t.Fatal(err)
	}
	var (
		stats        *campaignv1.CampaignStats
		resolved     time.Duration
		lastProgress = time.Now()
	)
	for deadline := start.Add(150 * time.Minute); ; {
		if time.Now().After(deadline) {
			t.Fatalf("campaign did not finish: %+v", stats)
		}
		time.Sleep(time.Second)
		rss.sample()
		got, err := campaigns.GetCampaign(hq, &campaignv1.GetCampaignRequest{Campaign: c.GetId()})
		if err != nil {
			continue
		}
		stats = got.GetStats()
		if time.Since(lastProgress) >= time.Minute {
			lastProgress = time.Now()
			t.Logf("campaign_bench: after %v: targeted %d, sent %d (%.0f messages/s so far); load average %s",
				time.Since(start).Round(time.Second), stats.GetTargeted(), stats.GetSent(), float64(stats.GetSent())/time.Since(start).Seconds(), loadAverage())
		}
		if resolved == 0 && stats.GetTargeted() == int64(n) {
			resolved = time.Since(start)
		}
		if stats.GetTargeted() == int64(n) && stats.GetSent() == int64(n) {
			break
		}
		if done := stats.GetSent() + stats.GetFailed() + sum(stats.GetSuppressed()); stats.GetTargeted() == int64(n) && done == int64(n) {
			t.Fatalf("campaign ended with %d sent of %d: %+v", stats.GetSent(), n, stats)
		}
	}
	rss.sample()
	stopPerf()
	peaks, cpu1 := rss.peaks(), rss.cpu()
	f, err := os.Open(st.recordFile)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readDeliveries(f, want)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	took := got.Last.Sub(start)
	rate := float64(n) / took.Seconds()
	t.Logf("campaign_bench: campaign of %d recipients: scheduled to the provider's last record in %v (audience resolved after %v): %.0f messages/s",
		n, took.Round(time.Millisecond), resolved.Round(time.Millisecond), rate)
	for _, name := range []string{"worker", "campaign", "customer", "campaign-provider"} {
		t.Logf("campaign_bench: %-17s peak RSS: VmHWM %6.1f MB, sampled VmRSS %6.1f MB; CPU during the campaign %6.1f s",
			name, peaks[name].hwm, peaks[name].rss, cpu1[name]-cpu0[name])
	}

	// The floor: the same rows, straight into the same table.
	floorCampaign, err := campaigns.CreateCampaign(hq, &campaignv1.CreateCampaignRequest{Campaign: &campaignv1.Campaign{
		Kind: campaignv1.CampaignKind_CAMPAIGN_KIND_HOLIDAY_GREETING, Name: "floor", Dealers: dealers,
		Channels: []campaignv1.Channel{campaignv1.Channel_CHANNEL_SMS}, Template: &campaignv1.MessageTemplate{Body: "floor"}}})
	if err != nil {
		t.Fatal(err)
	}
	floor := writeFloor(ctx, t, st.db, c.GetId(), floorCampaign.GetId())
	floorRate := float64(n) / floor.Seconds()
	t.Logf("campaign_bench: floor: %d message rows into campaign.recipients with %d sessions, %d rows a transaction, in %v: %.0f rows/s",
		n, benchSessions, benchBatch, floor.Round(time.Millisecond), floorRate)
	t.Logf("campaign_bench: ratio %.3f of the floor (target ≥ 0.5); load average %s at the end", rate/floorRate, loadAverage())
}

// writeFloor writes, for each recipient of the measured campaign, the row
// the sending path leaves (state sent, a message id, a provider id),
// under the floor campaign, with benchSessions sessions of benchBatch rows
// a transaction, and returns how long the writes took.
func writeFloor(ctx context.Context, t *testing.T, db *pgtest.DB, measured, floorID string) time.Duration {
	t.Helper()
	pool := db.AppPool(t, pg.Config{MaxConns: benchSessions, SearchPath: postgres.Schema})
	type row struct{ dealer, customer string }
	var rows []row
	err := pg.InReadOnlyTx(ctx, pool, pg.AllDealers(), func(tx pgx.Tx) error {
		rs, err := tx.Query(ctx, `SELECT customer_dealer, customer_id::text FROM campaign.recipients WHERE dealer_id = '' AND campaign_id = $1`, measured)
		if err != nil {
			return err
		}
		var r row
		_, err = pgx.ForEachRow(rs, []any{&r.dealer, &r.customer}, func() error { rows = append(rows, r); return nil })
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	batches := make(chan []row, len(rows)/benchBatch+1)
	for i := 0; i < len(rows); i += benchBatch {
		batches <- rows[i:min(i+benchBatch, len(rows))]
	}
	close(batches)
	began := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, benchSessions)
	for range benchSessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				now := time.Now()
				d, c, m, p := make([]string, len(b)), make([]string, len(b)), make([]string, len(b)), make([]string, len(b))
				for i, r := range b {
					d[i], c[i], m[i], p[i] = r.dealer, r.customer, outbox.NewID(), fmt.Sprintf("sms-%d-%d", now.UnixNano(), i)
				}
				if err := pg.InTx(ctx, pool, pg.AllDealers(), func(tx pgx.Tx) error {
					_, err := tx.Exec(ctx, `INSERT INTO campaign.recipients (dealer_id, campaign_id, customer_dealer, customer_id, state, channel,
						message_id, provider_id, attempts, next_attempt_at, sent_at, delivery)
						SELECT '', $1, d, c, 'sent', 'sms', m, p, 1, $2, $2, 'accepted'
						FROM unnest($3::text[], $4::uuid[], $5::uuid[], $6::text[]) AS x(d, c, m, p)`, floorID, now, d, c, m, p)
					return err
				}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(began)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return took
}

// deliveries is what the recording provider's record file shows.
type deliveries struct {
	Messages int
	Last     time.Time
}

// readDeliveries reads the provider's record file (JSON lines) and checks
// that every wanted address got exactly one message and nobody else got
// one; the error counts what is wrong and names a few.
func readDeliveries(r io.Reader, want map[string]bool) (deliveries, error) {
	var out deliveries
	got := make(map[string]int, len(want))
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec struct {
			To       string    `json:"to"`
			Received time.Time `json:"received"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return out, fmt.Errorf("record %d: %w", out.Messages+1, err)
		}
		out.Messages++
		got[rec.To]++
		if rec.Received.After(out.Last) {
			out.Last = rec.Received
		}
	}
	if err := sc.Err(); err != nil {
		return out, err
	}
	var missing, repeated, unexpected []string
	for to := range want {
		switch got[to] {
		case 0:
			missing = append(missing, pii.MaskMobile(to))
		case 1:
		default:
			repeated = append(repeated, pii.MaskMobile(to))
		}
	}
	for to := range got {
		if !want[to] {
			unexpected = append(unexpected, pii.MaskMobile(to))
		}
	}
	if len(missing)+len(repeated)+len(unexpected) > 0 {
		return out, fmt.Errorf("provider has %d messages for %d wanted: %d missing %v, %d more than once %v, %d not in the audience %v",
			out.Messages, len(want), len(missing), few(missing), len(repeated), few(repeated), len(unexpected), few(unexpected))
	}
	return out, nil
}

func few(s []string) []string { return s[:min(len(s), 3)] }

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(raw))[:3], " ")
}

// rssSampler keeps each process's peak resident memory: the kernel's
// high-water mark (VmHWM) and the largest VmRSS it saw.
type rssSampler struct {
	pids map[string]int
	max  map[string]memPeak
}

type memPeak struct{ hwm, rss float64 } // MB

func newRSSSampler(pids map[string]int) *rssSampler {
	return &rssSampler{pids: pids, max: map[string]memPeak{}}
}

func (s *rssSampler) sample() {
	for name, pid := range s.pids {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		p := s.max[name]
		for line := range strings.Lines(string(raw)) {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			kb, _ := strconv.ParseFloat(f[1], 64)
			switch f[0] {
			case "VmHWM:":
				p.hwm = max(p.hwm, kb/1024)
			case "VmRSS:":
				p.rss = max(p.rss, kb/1024)
			}
		}
		s.max[name] = p
	}
}

func (s *rssSampler) peaks() map[string]memPeak { return s.max }

// cpu reads each process's user and system CPU time so far, in seconds.
func (s *rssSampler) cpu() map[string]float64 {
	out := map[string]float64{}
	for name, pid := range s.pids {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// The fields after the command's ")": utime and stime are the
		// 12th and 13th, in clock ticks (100 a second on Linux).
		_, rest, _ := strings.Cut(string(raw), ") ")
		f := strings.Fields(rest)
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		out[name] = (u + st) / 100
	}
	return out
}

// perfRecord samples the processes' stacks with perf while the campaign
// runs when DEALERCARE_CAMPAIGN_BENCH_PROFILE names a directory (one
// perf.data per process there; read with perf report -i); the returned
// func stops it.
func perfRecord(t *testing.T, pids map[string]int) func() {
	dir := os.Getenv("DEALERCARE_CAMPAIGN_BENCH_PROFILE")
	if dir == "" {
		return func() {}
	}
	var cmds []*exec.Cmd
	for name, pid := range pids {
		cmd := exec.Command("perf", "record", "-F", "199", "-g", "-p", strconv.Itoa(pid), "-o", filepath.Join(dir, name+".perf.data"))
		if err := cmd.Start(); err != nil {
			t.Logf("campaign_bench: perf: %v", err)
			continue
		}
		cmds = append(cmds, cmd)
	}
	return func() {
		for _, cmd := range cmds {
			_ = cmd.Process.Signal(os.Interrupt)
			_ = cmd.Wait()
		}
	}
}
