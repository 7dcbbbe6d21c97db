package app_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/auth/authtest"
	"github.com/dealercare/dealercare/pkg/grpcserver"
	"github.com/dealercare/dealercare/pkg/pgtest"
	"github.com/dealercare/dealercare/pkg/pii"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/service"
	dctemporal "github.com/dealercare/dealercare/pkg/temporal"
	"github.com/dealercare/dealercare/pkg/temporal/temporaltest"
	complaintapp "github.com/dealercare/dealercare/services/complaint/app"
	complaintpg "github.com/dealercare/dealercare/services/complaint/postgres"
	customer "github.com/dealercare/dealercare/services/customer/app"
	customerpg "github.com/dealercare/dealercare/services/customer/postgres"
	"github.com/dealercare/dealercare/workflows/app"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// complaintStack is the customer and complaint services, their relays and
// the worker, on real PostgreSQL and Temporal.
type complaintStack struct {
	network   customerv1.DealerNetworkServiceClient
	complaint complaintv1.ComplaintServiceClient
	clock     complaintv1.ComplaintClockServiceClient
	mint      func(auth.Principal) context.Context
}

func startComplaintStack(t *testing.T) *complaintStack {
	t.Helper()
	temporalAddr := temporaltest.Address(t)
	cdb := pgtest.NewFrom(t, customerpg.Schema, customerpg.Migrations)
	fdb := pgtest.NewFrom(t, complaintpg.Schema, complaintpg.Migrations)
	id := authtest.New(t)
	token := func(p auth.Principal) string { return id.Token(t, p) }
	tokenFile, authCfg := id.ServiceTokenFile, id.Config
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	tcfg := dctemporal.Config{Address: temporalAddr, Namespace: "default"}

	cu := &customer.Main{Config: customer.Config{
		Config: service.Config{GRPC: grpcserver.Config{Addr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second}, Auth: authCfg, Database: pg.Config{URL: cdb.AppURL}},
		PII:    pii.NewRandomKeys(),
	}, Log: quiet}
	background(t, cu.Open, cu.Run, cu.Close)
	co := &complaintapp.Main{Config: complaintapp.Config{
		Config:  service.Config{GRPC: grpcserver.Config{Addr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second}, Auth: authCfg, Database: pg.Config{URL: fdb.AppURL}, Temporal: tcfg, RelayEnabled: true},
		Network: service.NetworkConfig{CustomerTarget: cu.Addr(), ServiceTokenFile: tokenFile},
	}, Log: quiet}
	background(t, co.Open, co.Run, co.Close)
	w := &app.Main{Config: app.Config{
		Temporal: tcfg, CustomerTarget: cu.Addr(), ComplaintTarget: co.Addr(), ServiceTokenFile: tokenFile, HealthAddr: "127.0.0.1:0",
	}, Log: quiet}
	background(t, w.Open, w.Run, w.Close)

	cc, err := grpc.NewClient(cu.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	fc, err := grpc.NewClient(co.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close(); fc.Close() })
	return &complaintStack{
		network:   customerv1.NewDealerNetworkServiceClient(cc),
		complaint: complaintv1.NewComplaintServiceClient(fc),
		clock:     complaintv1.NewComplaintClockServiceClient(fc),
		mint:      func(p auth.Principal) context.Context { return auth.WithToken(context.Background(), token(p)) },
	}
}

// alwaysOpen is a 24x7 calendar.
func alwaysOpen(dealer string) *customerv1.BusinessCalendar {
	c := &customerv1.BusinessCalendar{Dealer: dealer}
	for d := customerv1.DayOfWeek_DAY_OF_WEEK_MONDAY; d <= customerv1.DayOfWeek_DAY_OF_WEEK_SUNDAY; d++ {
		c.Weekly = append(c.Weekly, &customerv1.OpeningHours{Day: d, Intervals: []*customerv1.TimeInterval{{Start: "00:00", End: "24:00"}}})
	}
	return c
}

func secondsPolicy(response, resolution time.Duration) *complaintv1.SlaPolicy {
	p := &complaintv1.SlaPolicy{WarningRatio: 0.8}
	for s := complaintv1.Severity_SEVERITY_LOW; s <= complaintv1.Severity_SEVERITY_CRITICAL; s++ {
		p.Targets = append(p.Targets, &complaintv1.SeverityTarget{Severity: s, Response: durationpb.New(response), Resolution: durationpb.New(resolution)})
	}
	return p
}

// TestEscalationLadderOnARealStack: on a 24x7 calendar with a policy in
// seconds, a complaint left alone climbs L1 (response breach), L2 and L3
// (resolution breaches) at the right times, each level once in the timeline.
func TestEscalationLadderOnARealStack(t *testing.T) {
	s := startComplaintStack(t)
	hq := s.mint(auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	if _, err := s.network.CreateRegion(hq, &customerv1.CreateRegionRequest{Region: &customerv1.Region{Code: "EAST", Name: "华东大区"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.network.CreateDealer(hq, &customerv1.CreateDealerRequest{Dealer: &customerv1.Dealer{Code: "SH001", Name: "上海 4S", Region: "EAST"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.network.UpdateBusinessCalendar(hq, &customerv1.UpdateBusinessCalendarRequest{Calendar: alwaysOpen("SH001")}); err != nil {
		t.Fatal(err)
	}
	const response, resolution = 3 * time.Second, 5 * time.Second
	if _, err := s.complaint.UpdateSlaPolicy(hq, &complaintv1.UpdateSlaPolicyRequest{Dealer: "SH001", Policy: secondsPolicy(response, resolution)}); err != nil {
		t.Fatal(err)
	}
	agent := s.mint(auth.Principal{Subject: "agent", Roles: []auth.Role{auth.RoleAgent}, Dealer: "SH001"})
	c, err := s.complaint.CreateComplaint(agent, &complaintv1.CreateComplaintRequest{Dealer: "SH001", Complaint: &complaintv1.Complaint{
		Channel: complaintv1.Channel_CHANNEL_PHONE, Category: complaintv1.Category_CATEGORY_WAITING_TIME, Severity: complaintv1.Severity_SEVERITY_HIGH,
		Description: "等了三个小时没人理"}})
	if err != nil {
		t.Fatal(err)
	}
	created := c.GetCreateTime().AsTime()

	// Wait for L3 (2 × resolution), then check every escalation's time.
	var evs []*complaintv1.ComplaintEvent
	deadline := time.Now().Add(2*resolution + 20*time.Second)
	for {
		resp, err := s.complaint.ListComplaintEvents(agent, &complaintv1.ListComplaintEventsRequest{Dealer: "SH001", Complaint: c.GetId()})
		if err != nil {
			t.Fatal(err)
		}
		evs = resp.GetEvents()
		if levelReached(evs, 3) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("L3 not reached; timeline: %s", describe(evs))
		}
		time.Sleep(250 * time.Millisecond)
	}
	want := map[int32]time.Duration{1: response, 2: resolution, 3: 2 * resolution}
	seen := map[int32]int{}
	for _, e := range evs {
		if e.GetKind() != "escalated" {
			continue
		}
		seen[e.GetLevel()]++
		if at, ok := want[e.GetLevel()]; ok {
			if lag := e.GetTime().AsTime().Sub(created) - at; lag < -time.Second || lag > 2*time.Second {
				t.Errorf("L%d escalated %v after filing, want %v (within 2 s)", e.GetLevel(), e.GetTime().AsTime().Sub(created), at)
			}
		}
	}
	for lvl := int32(1); lvl <= 3; lvl++ {
		if seen[lvl] != 1 {
			t.Errorf("L%d escalated %d times, want once; timeline: %s", lvl, seen[lvl], describe(evs))
		}
	}
	got, err := s.complaint.GetComplaint(agent, &complaintv1.GetComplaintRequest{Dealer: "SH001", Complaint: c.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetLevel() < 3 {
		t.Errorf("complaint level %d", got.GetLevel())
	}
	// The deadlines the workflow counted, on the resource: the first
	// response's and the first resolution's, at their breaches.
	if due := got.GetResponseDueTime(); due == nil || !due.AsTime().Equal(created.Add(response)) {
		t.Errorf("response_due_time %v, want %v", due.AsTime(), created.Add(response))
	}
	if due := got.GetResolutionDueTime(); due == nil || !due.AsTime().Equal(created.Add(resolution)) {
		t.Errorf("resolution_due_time %v, want %v", due.AsTime(), created.Add(resolution))
	}
	gm := s.mint(auth.Principal{Subject: "gm", Roles: []auth.Role{auth.RoleDealerGM}, Dealer: "SH001"})
	// Only the worker's service identity may move the deadlines or write
	// clock events; the dealer's own users may not, and nothing changes.
	late := timestamppb.New(created.Add(time.Hour))
	if _, err := s.clock.SetDeadlines(gm, &complaintv1.SetDeadlinesRequest{Complaint: c.GetId(), ResponseDueTime: late, ResolutionDueTime: late}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("SetDeadlines by the dealer GM: %v, want PermissionDenied", err)
	}
	if _, err := s.clock.RecordClockEvent(gm, &complaintv1.RecordClockEventRequest{Dealer: "SH001", Complaint: c.GetId(), Key: "escalated/L4",
		Kind: "escalated", Level: 4, Time: late}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("RecordClockEvent by the dealer GM: %v, want PermissionDenied", err)
	}
	if again, err := s.complaint.GetComplaint(agent, &complaintv1.GetComplaintRequest{Dealer: "SH001", Complaint: c.GetId()}); err != nil ||
		!again.GetResponseDueTime().AsTime().Equal(got.GetResponseDueTime().AsTime()) || again.GetLevel() != got.GetLevel() {
		t.Errorf("after the refused calls: %v, %v", again, err)
	}
	ns, err := s.complaint.ListNotifications(gm, &complaintv1.ListNotificationsRequest{Dealer: "SH001", RecipientRole: "dealer_gm"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ns.GetNotifications()) == 0 {
		t.Error("the dealer GM was not notified of L2")
	}
}

func levelReached(evs []*complaintv1.ComplaintEvent, level int32) bool {
	for _, e := range evs {
		if e.GetKind() == "escalated" && e.GetLevel() >= level {
			return true
		}
	}
	return false
}

func describe(evs []*complaintv1.ComplaintEvent) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e.GetKind() + "@" + e.GetTime().AsTime().Format("15:04:05.000") + "/L" + string(rune('0'+e.GetLevel())) + " ")
	}
	return b.String()
}

// TestClocksOnARealStack: acknowledging in time stops the response clock
// (no response breach), and a pause while pending the customer holds the
// resolution clock: the resolution breach moves by the pause's length.
func TestClocksOnARealStack(t *testing.T) {
	s := startComplaintStack(t)
	hq := s.mint(auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	if _, err := s.network.CreateRegion(hq, &customerv1.CreateRegionRequest{Region: &customerv1.Region{Code: "EAST", Name: "华东大区"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.network.CreateDealer(hq, &customerv1.CreateDealerRequest{Dealer: &customerv1.Dealer{Code: "SH001", Name: "上海 4S", Region: "EAST"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.network.UpdateBusinessCalendar(hq, &customerv1.UpdateBusinessCalendarRequest{Calendar: alwaysOpen("SH001")}); err != nil {
		t.Fatal(err)
	}
	const response, resolution, pause = 3 * time.Second, 6 * time.Second, 4 * time.Second
	if _, err := s.complaint.UpdateSlaPolicy(hq, &complaintv1.UpdateSlaPolicyRequest{Dealer: "SH001", Policy: secondsPolicy(response, resolution)}); err != nil {
		t.Fatal(err)
	}
	agent := s.mint(auth.Principal{Subject: "agent", Roles: []auth.Role{auth.RoleAgent}, Dealer: "SH001"})
	c, err := s.complaint.CreateComplaint(agent, &complaintv1.CreateComplaintRequest{Dealer: "SH001", Complaint: &complaintv1.Complaint{
		Channel: complaintv1.Channel_CHANNEL_WALK_IN, Category: complaintv1.Category_CATEGORY_PARTS, Severity: complaintv1.Severity_SEVERITY_MEDIUM,
		Description: "配件迟迟未到"}})
	if err != nil {
		t.Fatal(err)
	}
	created := c.GetCreateTime().AsTime()
	d, id := "SH001", c.GetId()
	if _, err := s.complaint.AcknowledgeComplaint(agent, &complaintv1.AcknowledgeComplaintRequest{Dealer: d, Complaint: id}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.complaint.StartComplaint(agent, &complaintv1.StartComplaintRequest{Dealer: d, Complaint: id}); err != nil {
		t.Fatal(err)
	}
	paused, err := s.complaint.WaitForCustomer(agent, &complaintv1.WaitForCustomerRequest{Dealer: d, Complaint: id, Note: "等待客户确认到货时间"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(pause)
	resumed, err := s.complaint.ResumeComplaint(agent, &complaintv1.ResumeComplaintRequest{Dealer: d, Complaint: id})
	if err != nil {
		t.Fatal(err)
	}
	held := resumed.GetUpdateTime().AsTime().Sub(paused.GetUpdateTime().AsTime())

	var evs []*complaintv1.ComplaintEvent
	deadline := time.Now().Add(resolution + held + 20*time.Second)
	for !levelReached(evs, 1) {
		if time.Now().After(deadline) {
			t.Fatalf("no resolution breach; timeline: %s", describe(evs))
		}
		time.Sleep(250 * time.Millisecond)
		resp, err := s.complaint.ListComplaintEvents(agent, &complaintv1.ListComplaintEventsRequest{Dealer: d, Complaint: id})
		if err != nil {
			t.Fatal(err)
		}
		evs = resp.GetEvents()
	}
	for _, e := range evs {
		if e.GetKind() == "breached" && strings.Contains(e.GetDetail(), "response") {
			t.Errorf("response breached although acknowledged in time: %s", describe(evs))
		}
		if e.GetKind() == "escalated" {
			want := resolution + held
			if got := e.GetTime().AsTime().Sub(created); got < want-time.Second || got > want+2*time.Second {
				t.Errorf("resolution breach %v after filing, want %v (target %v + pause %v); timeline: %s", got, want, resolution, held, describe(evs))
			}
			// The resource's resolution deadline moved by the pause: it is
			// the breach's instant. The response deadline stays.
			got, err := s.complaint.GetComplaint(agent, &complaintv1.GetComplaintRequest{Dealer: d, Complaint: id})
			if err != nil {
				t.Fatal(err)
			}
			if due := got.GetResolutionDueTime(); due == nil || !due.AsTime().Equal(e.GetTime().AsTime()) {
				t.Errorf("resolution_due_time %v, want the breach's %v", due.AsTime(), e.GetTime().AsTime())
			}
			if due := got.GetResponseDueTime(); due == nil || !due.AsTime().Equal(created.Add(response)) {
				t.Errorf("response_due_time %v, want %v", due.AsTime(), created.Add(response))
			}
		}
	}
}

// TestTransferOnARealStack: a complaint moved from a 24x7 dealer to one
// that is closed for days keeps its timeline, and its clock continues on
// the new owner's calendar: the resolution breach the old owner's calendar
// would have reached does not come, and the resolution deadline moves to
// the new owner's next opening.
func TestTransferOnARealStack(t *testing.T) {
	s := startComplaintStack(t)
	hq := s.mint(auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	if _, err := s.network.CreateRegion(hq, &customerv1.CreateRegionRequest{Region: &customerv1.Region{Code: "EAST", Name: "华东大区"}}); err != nil {
		t.Fatal(err)
	}
	const zone = "Asia/Shanghai"
	for _, d := range []string{"SH001", "HZ001"} {
		if _, err := s.network.CreateDealer(hq, &customerv1.CreateDealerRequest{Dealer: &customerv1.Dealer{Code: d, Name: d + " 4S", Region: "EAST", TimeZone: zone}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.network.UpdateBusinessCalendar(hq, &customerv1.UpdateBusinessCalendarRequest{Calendar: alwaysOpen("SH001")}); err != nil {
		t.Fatal(err)
	}
	// HZ001 opens one day a week, three days from today.
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(loc)
	openDay := (now.Weekday() + 3) % 7
	day := customerv1.DayOfWeek_DAY_OF_WEEK_SUNDAY
	if openDay != time.Sunday {
		day = customerv1.DayOfWeek(openDay)
	}
	hzCal := &customerv1.BusinessCalendar{Dealer: "HZ001", Weekly: []*customerv1.OpeningHours{{Day: day,
		Intervals: []*customerv1.TimeInterval{{Start: "09:00", End: "18:00"}}}}}
	if _, err := s.network.UpdateBusinessCalendar(hq, &customerv1.UpdateBusinessCalendarRequest{Calendar: hzCal}); err != nil {
		t.Fatal(err)
	}
	// Room for a loaded machine: the transfer must come before the old
	// calendar's breach would.
	const response, resolution = 2 * time.Second, 12 * time.Second
	if _, err := s.complaint.UpdateSlaPolicy(hq, &complaintv1.UpdateSlaPolicyRequest{Dealer: "default", Policy: secondsPolicy(response, resolution)}); err != nil {
		t.Fatal(err)
	}
	agent := s.mint(auth.Principal{Subject: "agent", Roles: []auth.Role{auth.RoleAgent}, Dealer: "SH001"})
	c, err := s.complaint.CreateComplaint(agent, &complaintv1.CreateComplaintRequest{Dealer: "SH001", Complaint: &complaintv1.Complaint{
		Channel: complaintv1.Channel_CHANNEL_HQ_HOTLINE, Category: complaintv1.Category_CATEGORY_SALES_PROMISE, Severity: complaintv1.Severity_SEVERITY_HIGH,
		Description: "销售承诺的赠品没有兑现"}})
	if err != nil {
		t.Fatal(err)
	}
	id, created := c.GetId(), c.GetCreateTime().AsTime()
	if _, err := s.complaint.AcknowledgeComplaint(agent, &complaintv1.AcknowledgeComplaintRequest{Dealer: "SH001", Complaint: id}); err != nil {
		t.Fatal(err)
	}
	// The workflow has written SH001's deadlines before the transfer.
	eventually(t, 10*time.Second, "SH001's resolution deadline", func() bool {
		got, err := s.complaint.GetComplaint(agent, &complaintv1.GetComplaintRequest{Dealer: "SH001", Complaint: id})
		return err == nil && got.GetResolutionDueTime().AsTime().Equal(created.Add(resolution))
	})
	if _, err := s.complaint.TransferComplaint(hq, &complaintv1.TransferComplaintRequest{Dealer: "SH001", Complaint: id, ToDealer: "HZ001", Note: "销售承诺属杭州店"}); err != nil {
		t.Fatal(err)
	}
	hz := s.mint(auth.Principal{Subject: "hz-agent", Roles: []auth.Role{auth.RoleAgent}, Dealer: "HZ001"})
	nextOpening := time.Date(now.Year(), now.Month(), now.Day()+3, 9, 0, 0, 0, loc)
	eventually(t, 10*time.Second, "the deadline on HZ001's calendar", func() bool {
		got, err := s.complaint.GetComplaint(hz, &complaintv1.GetComplaintRequest{Dealer: "HZ001", Complaint: id})
		due := got.GetResolutionDueTime().AsTime()
		return err == nil && !due.Before(nextOpening) && due.Before(nextOpening.Add(resolution))
	})
	// Past the instant SH001's calendar would have breached, with room.
	time.Sleep(time.Until(created.Add(resolution + 3*time.Second)))
	evs, err := s.complaint.ListComplaintEvents(hz, &complaintv1.ListComplaintEventsRequest{Dealer: "HZ001", Complaint: id})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range evs.GetEvents() {
		kinds = append(kinds, e.GetKind())
		if e.GetKind() == "breached" || e.GetKind() == "escalated" {
			t.Errorf("a closed calendar's clock breached: %s", describe(evs.GetEvents()))
		}
	}
	if got := strings.Join(kinds, ","); got != "created,acknowledged,transferred" {
		t.Errorf("the new owner reads %s, want the whole history", got)
	}
	if _, err := s.complaint.GetComplaint(agent, &complaintv1.GetComplaintRequest{Dealer: "HZ001", Complaint: id}); status.Code(err) != codes.NotFound {
		t.Errorf("SH001's agent reading HZ001's complaint: %v, want NotFound", err)
	}
}

// TestPolicyEditOnARealStack: a complaint counts under the SLA policy
// version it was filed under. An edit made right after filing leaves its
// ladder on the old targets, and a complaint filed after the edit counts
// under the new one.
func TestPolicyEditOnARealStack(t *testing.T) {
	s := startComplaintStack(t)
	hq := s.mint(auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	if _, err := s.network.CreateRegion(hq, &customerv1.CreateRegionRequest{Region: &customerv1.Region{Code: "EAST", Name: "华东大区"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.network.CreateDealer(hq, &customerv1.CreateDealerRequest{Dealer: &customerv1.Dealer{Code: "SH001", Name: "上海 4S", Region: "EAST"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.network.UpdateBusinessCalendar(hq, &customerv1.UpdateBusinessCalendarRequest{Calendar: alwaysOpen("SH001")}); err != nil {
		t.Fatal(err)
	}
	put := func(response, resolution time.Duration) int64 {
		t.Helper()
		p, err := s.complaint.UpdateSlaPolicy(hq, &complaintv1.UpdateSlaPolicyRequest{Dealer: "SH001", Policy: secondsPolicy(response, resolution)})
		if err != nil {
			t.Fatal(err)
		}
		return p.GetVersion()
	}
	agent := s.mint(auth.Principal{Subject: "agent", Roles: []auth.Role{auth.RoleAgent}, Dealer: "SH001"})
	file := func() *complaintv1.Complaint {
		t.Helper()
		c, err := s.complaint.CreateComplaint(agent, &complaintv1.CreateComplaintRequest{Dealer: "SH001", Complaint: &complaintv1.Complaint{
			Channel: complaintv1.Channel_CHANNEL_PHONE, Category: complaintv1.Category_CATEGORY_WAITING_TIME, Severity: complaintv1.Severity_SEVERITY_HIGH,
			Description: "等了很久"}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	timeline := func(c *complaintv1.Complaint) []*complaintv1.ComplaintEvent {
		t.Helper()
		resp, err := s.complaint.ListComplaintEvents(agent, &complaintv1.ListComplaintEventsRequest{Dealer: "SH001", Complaint: c.GetId()})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetEvents()
	}

	const response = 2 * time.Second
	v1 := put(response, time.Hour)
	before := file()
	v2 := put(time.Hour, 2*time.Hour)
	after := file()
	if before.GetSlaPolicyVersion() != v1 || after.GetSlaPolicyVersion() != v2 || v2 <= v1 {
		t.Fatalf("filed under %d and %d; policy versions %d then %d", before.GetSlaPolicyVersion(), after.GetSlaPolicyVersion(), v1, v2)
	}
	deadline := time.Now().Add(response + 20*time.Second)
	for !levelReached(timeline(before), 1) {
		if time.Now().After(deadline) {
			t.Fatalf("the complaint filed under %d did not reach L1 at its %s response target: %s", v1, response, describe(timeline(before)))
		}
		time.Sleep(250 * time.Millisecond)
	}
	// The later complaint had as long, under a 1 h target: nothing fired.
	if time.Since(after.GetCreateTime().AsTime()) < response {
		time.Sleep(response - time.Since(after.GetCreateTime().AsTime()))
	}
	for _, e := range timeline(after) {
		if e.GetKind() != "created" {
			t.Errorf("the complaint filed under %d recorded %s: %s", v2, e.GetKind(), describe(timeline(after)))
		}
	}
	got, err := s.complaint.GetComplaint(agent, &complaintv1.GetComplaintRequest{Dealer: "SH001", Complaint: before.GetId()})
	if err != nil || got.GetSlaPolicyVersion() != v1 {
		t.Errorf("after the edit: %v, %v; want version %d", got.GetSlaPolicyVersion(), err, v1)
	}
}
