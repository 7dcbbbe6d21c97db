package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/pii"
	"github.com/dealercare/dealercare/pkg/program/programtest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// TestCrashSendsEachMessageOnce is the campaign's crash test: the real
// customer service, campaign service, worker and recording provider run as
// processes against PostgreSQL and Temporal; an HQ greeting goes to every
// customer of two dealers while the worker and the campaign service are
// killed with SIGKILL again and again. Afterwards every eligible customer
// has exactly one message at the provider, every suppressed one is
// counted, and the dealer whose customers are in their quiet hours got
// nothing. DEALERCARE_CAMPAIGN_CRASH_RECIPIENTS sets the audience (default
// 300; the run is 10000).
func TestCrashSendsEachMessageOnce(t *testing.T) {
	n := 300
	if s := os.Getenv("DEALERCARE_CAMPAIGN_CRASH_RECIPIENTS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 10 {
			t.Fatalf("DEALERCARE_CAMPAIGN_CRASH_RECIPIENTS=%q: want a number ≥ 10", s)
		}
	}
	st := startCampaignStack(t, []string{"PROVIDER_DELAY=" + providerDelay(n)}, []string{"CAMPAIGN_SEND_LEASE=3s"}, false)
	campaignProc, workerProc := st.campaign, st.worker

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	hq, cc, campaigns := st.hqReady(ctx, t)
	network, archive := customerv1.NewDealerNetworkServiceClient(cc), customerv1.NewArchiveServiceClient(cc)
	dayZone, nightZone := zones(t, time.Now())
	if _, err := network.CreateRegion(hq, &customerv1.CreateRegionRequest{Region: &customerv1.Region{Code: "EAST", Name: "华东"}}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []struct{ code, zone string }{{"DAY001", dayZone}, {"NIGHT01", nightZone}} {
		if _, err := network.CreateDealer(hq, &customerv1.CreateDealerRequest{Dealer: &customerv1.Dealer{Code: d.code, Name: d.code + " 4S店", Region: "EAST", TimeZone: d.zone}}); err != nil {
			t.Fatal(err)
		}
	}

	// The audience: n customers at DAY001 (every tenth without SMS
	// consent, every 25th opted out) and n/10 at NIGHT01, in quiet hours.
	people := make([]person, 0, n+n/10)
	for i := range n {
		people = append(people, person{dealer: "DAY001", mobile: fmt.Sprintf("+86139%08d", i), eligible: true})
		switch {
		case i%10 == 3:
			people[i].eligible, people[i].reason = false, "no_consent"
		case i%25 == 7:
			people[i].eligible, people[i].reason = false, "opted_out"
		}
	}
	for i := range n / 10 {
		people = append(people, person{dealer: "NIGHT01", mobile: fmt.Sprintf("+86137%08d", i)})
	}
	agentTokens := map[string]context.Context{}
	for _, d := range []string{"DAY001", "NIGHT01"} {
		agentTokens[d] = auth.WithToken(ctx, st.id.Token(t, auth.Principal{Subject: "agent", Roles: []auth.Role{auth.RoleAgent}, Dealer: d}))
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(people))
	jobs := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				p := &people[i]
				actx := agentTokens[p.dealer]
				c, err := archive.CreateCustomer(actx, &customerv1.CreateCustomerRequest{Dealer: p.dealer, Customer: &customerv1.Customer{
					Name: fmt.Sprintf("客户%d", i), Mobile: p.mobile, Tier: customerv1.CustomerTier_CUSTOMER_TIER_REGULAR}})
				if err != nil {
					errs <- fmt.Errorf("create customer %d: %w", i, err)
					continue
				}
				p.id = c.GetId()
				_, err = archive.UpdateConsent(actx, &customerv1.UpdateConsentRequest{Dealer: p.dealer, Customer: p.id,
					Consent: &customerv1.Consent{Channel: customerv1.Channel_CHANNEL_SMS, Granted: p.reason != "no_consent", Source: "store"}})
				if err == nil && p.reason == "opted_out" {
					_, err = campaigns.CreateOptOut(actx, &campaignv1.CreateOptOutRequest{Dealer: p.dealer,
						OptOut: &campaignv1.OptOut{Customer: p.id, Channel: campaignv1.Channel_CHANNEL_SMS, Source: "sms_reply"}})
				}
				if err != nil {
					errs <- fmt.Errorf("consent of customer %d: %w", i, err)
				}
			}
		}()
	}
	for i := range people {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	c, err := campaigns.CreateCampaign(hq, &campaignv1.CreateCampaignRequest{Campaign: &campaignv1.Campaign{
		Kind: campaignv1.CampaignKind_CAMPAIGN_KIND_HOLIDAY_GREETING, Name: "元旦祝福", Dealers: []string{"DAY001", "NIGHT01"},
		Channels: []campaignv1.Channel{campaignv1.Channel_CHANNEL_SMS},
		Template: &campaignv1.MessageTemplate{Body: "{{customer_name}}您好，{{dealer_name}}祝您新年快乐！"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := campaigns.ScheduleCampaign(hq, &campaignv1.ScheduleCampaignRequest{Campaign: c.GetId()}); err != nil {
		t.Fatal(err)
	}

	// Kill the worker and the campaign service in turn, with SIGKILL, while
	// they send; each comes back after a moment.
	eligible, quiet := 0, n/10
	for _, p := range people {
		if p.eligible {
			eligible++
		}
	}
	kills, lastKill := 0, time.Time{}
	var stats *campaignv1.CampaignStats
	for deadline := time.Now().Add(12 * time.Minute); ; {
		if time.Now().After(deadline) {
			t.Fatalf("campaign did not finish: %+v after %d kills", stats, kills)
		}
		time.Sleep(300 * time.Millisecond)
		got, err := campaigns.GetCampaign(hq, &campaignv1.GetCampaignRequest{Campaign: c.GetId()})
		if err == nil {
			stats = got.GetStats()
			if stats.GetTargeted() == int64(len(people)) && stats.GetSent() == int64(eligible) && stats.GetPending() == int64(quiet) {
				break
			}
		}
		if kills < 6 && time.Since(lastKill) > 1500*time.Millisecond {
			lastKill = time.Now()
			victim := &workerProc
			if kills%2 == 1 {
				victim = &campaignProc
			}
			(*victim).Kill(t)
			kills++
			time.Sleep(300 * time.Millisecond)
			if kills%2 == 1 {
				*victim = programtest.Start(t, st.bin["worker"], st.dir, st.workerEnv)
			} else {
				*victim = programtest.Start(t, st.bin["campaign"], st.dir, st.campaignEnv)
			}
		}
	}
	t.Logf("sent %d, suppressed %v, pending (quiet hours) %d, after %d SIGKILLs", stats.GetSent(), stats.GetSuppressed(), stats.GetPending(), kills)
	if kills < 2 {
		t.Errorf("only %d kills happened during the send", kills)
	}
	if stats.GetSuppressed()["no_consent"] != int64(countReason(people, "no_consent")) || stats.GetSuppressed()["opted_out"] != int64(countReason(people, "opted_out")) {
		t.Errorf("suppressed = %v", stats.GetSuppressed())
	}

	resp, err := http.Get("http://" + st.providerHTTP + "/recorded")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var recorded struct {
		Records []struct {
			Key, To  string
			Received time.Time
		} `json:"records"`
		Duplicates map[string]int `json:"duplicates"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&recorded); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, r := range recorded.Records {
		got[r.To]++
	}
	for _, p := range people {
		want := 0
		if p.eligible {
			want = 1
		}
		if got[p.mobile] != want {
			t.Errorf("%s at %s (%s) got %d messages, want %d", pii.MaskMobile(p.mobile), p.dealer, p.reason, got[p.mobile], want)
		}
	}
	t.Logf("provider: %d messages for %d eligible customers; %d resends answered from its de-duplication", len(recorded.Records), eligible, recorded.Duplicates["sms"])
}

type person struct {
	dealer, id, mobile string
	eligible           bool
	reason             string
}

// providerDelay is the provider's latency per message, so that a small
// audience is still being sent when the kills come.
func providerDelay(n int) string {
	if n >= 5000 {
		return "5ms"
	}
	return "100ms"
}

func countReason(ps []person, reason string) int {
	n := 0
	for _, p := range ps {
		if p.reason == reason {
			n++
		}
	}
	return n
}

// zones picks a zone whose local time now is well inside the sending
// window (09:00-21:00, with an hour's margin) and one deep in quiet hours.
func zones(t *testing.T, now time.Time) (day, night string) {
	for _, z := range []string{"Asia/Shanghai", "Asia/Urumqi", "Asia/Kolkata", "Europe/Moscow", "Europe/Berlin", "Europe/London",
		"America/Sao_Paulo", "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "Pacific/Honolulu", "Asia/Tokyo", "Australia/Sydney"} {
		loc, err := time.LoadLocation(z)
		if err != nil {
			continue
		}
		h := now.In(loc).Hour()
		if day == "" && h >= 10 && h < 19 {
			day = z
		}
		if night == "" && (h >= 22 || h < 7) {
			night = z
		}
	}
	if day == "" || night == "" {
		t.Fatalf("no day and night zones at %s", now)
	}
	return day, night
}

// buildPrograms builds the processes the test runs, from the workspace
// (the callback service only withCallback), and returns their binaries by
// name.
func buildPrograms(t *testing.T, withCallback bool) map[string]string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	bins := map[string]string{}
	programs := []struct{ dir, pkg string }{
		{"services/customer", "./cmd/customer"}, {"services/campaign", "./cmd/campaign"},
		{"services/campaign", "./cmd/campaign-provider"}, {"workflows", "./cmd/worker"},
	}
	if withCallback {
		programs = append(programs, struct{ dir, pkg string }{"services/callback", "./cmd/callback"})
	}
	for _, p := range programs {
		bins[filepath.Base(p.pkg)] = programtest.Build(t, filepath.Join(root, p.dir), p.pkg)
	}
	return bins
}

func dialGRPC(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
