package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/auth/authtest"
	"github.com/dealercare/dealercare/pkg/grpcserver"
	"github.com/dealercare/dealercare/pkg/pgtest"
	"github.com/dealercare/dealercare/pkg/pii"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/service"
	"github.com/dealercare/dealercare/services/customer/app"
	"github.com/dealercare/dealercare/services/customer/importer"
	"github.com/dealercare/dealercare/services/customer/postgres"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// stack is the real customer service on port 0 against a fresh database.
type stack struct {
	client customerv1.DealerNetworkServiceClient
	conn   *grpc.ClientConn
	id     *authtest.Issuer
}

func start(t *testing.T) *stack {
	t.Helper()
	db := pgtest.NewFrom(t, postgres.Schema, postgres.Migrations)
	id := authtest.New(t)
	m := &app.Main{Config: app.Config{
		Config: service.Config{GRPC: grpcserver.Config{Addr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second}, Auth: id.Config, Database: pg.Config{URL: db.AppURL}},
		PII:    pii.NewRandomKeys(),
	}}
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Open(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		m.Close()
	})
	conn, err := grpc.NewClient(m.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &stack{client: customerv1.NewDealerNetworkServiceClient(conn), conn: conn, id: id}
}

func (s *stack) as(t *testing.T, p auth.Principal) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return auth.WithToken(ctx, s.id.Token(t, p))
}

var (
	hqAdmin   = auth.Principal{Subject: "hq-1", Roles: []auth.Role{auth.RoleHQAdmin}}
	hqAnalyst = auth.Principal{Subject: "hq-2", Roles: []auth.Role{auth.RoleHQAnalyst}}
	agentSH1  = auth.Principal{Subject: "agent-1", Roles: []auth.Role{auth.RoleAgent}, Dealer: "SH001"}
	managerBJ = auth.Principal{Subject: "mgr-1", Roles: []auth.Role{auth.RoleDealerManager}, Dealer: "BJ001"}
	eastRM    = auth.Principal{Subject: "rm-1", Roles: []auth.Role{auth.RoleRegionManager}, Region: "EAST"}
)

func wantCode(t *testing.T, err error, code codes.Code) *status.Status {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != code {
		t.Fatalf("got %v, want %v", err, code)
	}
	return st
}

// seed creates two regions and three dealers as HQ.
func seed(t *testing.T, s *stack) {
	t.Helper()
	ctx := s.as(t, hqAdmin)
	for _, r := range []*customerv1.Region{{Code: "EAST", Name: "华东大区"}, {Code: "NORTH", Name: "华北大区"}} {
		if _, err := s.client.CreateRegion(ctx, &customerv1.CreateRegionRequest{Region: r}); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []*customerv1.Dealer{
		{Code: "SH001", Name: "上海浦东汽车销售服务有限公司", Region: "EAST", City: "上海"},
		{Code: "HZ001", Name: "杭州西湖汽车销售服务有限公司", Region: "EAST", City: "杭州"},
		{Code: "BJ001", Name: "北京朝阳汽车销售服务有限公司", Region: "NORTH", City: "北京"},
	} {
		if _, err := s.client.CreateDealer(ctx, &customerv1.CreateDealerRequest{Dealer: d}); err != nil {
			t.Fatal(err)
		}
	}
}

func codesOf(ds []*customerv1.Dealer) string {
	var out []string
	for _, d := range ds {
		out = append(out, d.GetCode())
	}
	return strings.Join(out, ",")
}

func TestDealerNetworkVisibility(t *testing.T) {
	s := start(t)
	seed(t, s)

	for _, tc := range []struct {
		who  auth.Principal
		want string
	}{
		{hqAdmin, "BJ001,HZ001,SH001"},
		{hqAnalyst, "BJ001,HZ001,SH001"},
		{eastRM, "HZ001,SH001"},
		{agentSH1, "SH001"},
		{managerBJ, "BJ001"},
	} {
		resp, err := s.client.ListDealers(s.as(t, tc.who), &customerv1.ListDealersRequest{})
		if err != nil {
			t.Fatalf("%s: %v", tc.who.Subject, err)
		}
		if got := codesOf(resp.GetDealers()); got != tc.want {
			t.Errorf("%s lists %s, want %s", tc.who.Subject, got, tc.want)
		}
	}

	// Another dealer's objects answer NOT_FOUND (not PERMISSION_DENIED), on
	// every method, and nothing changes.
	agent := s.as(t, agentSH1)
	_, err := s.client.GetDealer(agent, &customerv1.GetDealerRequest{Dealer: "BJ001"})
	wantCode(t, err, codes.NotFound)
	_, err = s.client.GetBusinessCalendar(agent, &customerv1.GetBusinessCalendarRequest{Dealer: "BJ001"})
	wantCode(t, err, codes.NotFound)
	_, err = s.client.AddBusinessTime(agent, &customerv1.AddBusinessTimeRequest{Dealer: "BJ001", StartTime: timestamppb.Now(), Duration: durationpb.New(time.Hour)})
	wantCode(t, err, codes.NotFound)
	_, err = s.client.UpdateDealer(agent, &customerv1.UpdateDealerRequest{Dealer: &customerv1.Dealer{Code: "BJ001", Name: "hijacked"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}})
	wantCode(t, err, codes.NotFound)
	_, err = s.client.UpdateBusinessCalendar(agent, &customerv1.UpdateBusinessCalendarRequest{Calendar: &customerv1.BusinessCalendar{Dealer: "BJ001"}})
	wantCode(t, err, codes.NotFound)
	_, err = s.client.ListDealers(agent, &customerv1.ListDealersRequest{Region: "NORTH"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.client.GetDealer(s.as(t, eastRM), &customerv1.GetDealerRequest{Dealer: "BJ001"})
	wantCode(t, err, codes.NotFound)

	// Own dealer: readable, but HQ owns master data.
	if _, err := s.client.GetDealer(agent, &customerv1.GetDealerRequest{Dealer: "SH001"}); err != nil {
		t.Fatal(err)
	}
	_, err = s.client.UpdateDealer(agent, &customerv1.UpdateDealerRequest{Dealer: &customerv1.Dealer{Code: "SH001", Name: "renamed"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}})
	wantCode(t, err, codes.PermissionDenied)
	_, err = s.client.CreateDealer(agent, &customerv1.CreateDealerRequest{Dealer: &customerv1.Dealer{Code: "SH002", Name: "x", Region: "EAST"}})
	wantCode(t, err, codes.PermissionDenied)

	got, err := s.client.GetDealer(s.as(t, hqAdmin), &customerv1.GetDealerRequest{Dealer: "BJ001"})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetName() != "北京朝阳汽车销售服务有限公司" {
		t.Errorf("BJ001 changed: %q", got.GetName())
	}
}

func TestValidationNamesTheField(t *testing.T) {
	s := start(t)
	seed(t, s)
	ctx := s.as(t, hqAdmin)
	for _, tc := range []struct {
		name  string
		call  func() error
		field string
	}{
		{"bad code", func() error {
			_, err := s.client.CreateDealer(ctx, &customerv1.CreateDealerRequest{Dealer: &customerv1.Dealer{Code: "sh 1", Name: "x", Region: "EAST"}})
			return err
		}, "dealer.code"},
		{"unknown region", func() error {
			_, err := s.client.CreateDealer(ctx, &customerv1.CreateDealerRequest{Dealer: &customerv1.Dealer{Code: "NJ001", Name: "x", Region: "MARS"}})
			return err
		}, "dealer.region"},
		{"unknown zone", func() error {
			_, err := s.client.CreateDealer(ctx, &customerv1.CreateDealerRequest{Dealer: &customerv1.Dealer{Code: "NJ001", Name: "x", Region: "EAST", TimeZone: "Mars/Base"}})
			return err
		}, "dealer.time_zone"},
		{"overlapping intervals", func() error {
			_, err := s.client.UpdateBusinessCalendar(ctx, &customerv1.UpdateBusinessCalendarRequest{Calendar: &customerv1.BusinessCalendar{Dealer: "SH001", Weekly: []*customerv1.OpeningHours{
				{Day: customerv1.DayOfWeek_DAY_OF_WEEK_MONDAY, Intervals: []*customerv1.TimeInterval{{Start: "09:00", End: "12:00"}, {Start: "11:00", End: "13:00"}}},
			}}})
			return err
		}, "calendar.weekly[monday][1]"},
		{"bad holiday", func() error {
			_, err := s.client.UpdateBusinessCalendar(ctx, &customerv1.UpdateBusinessCalendarRequest{Calendar: &customerv1.BusinessCalendar{Dealer: "SH001", Holidays: []string{"2026-13-01"}}})
			return err
		}, "calendar.holidays[0]"},
		{"bad mask", func() error {
			_, err := s.client.UpdateDealer(ctx, &customerv1.UpdateDealerRequest{Dealer: &customerv1.Dealer{Code: "SH001"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"code"}}})
			return err
		}, "update_mask"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := wantCode(t, tc.call(), codes.InvalidArgument)
			if !strings.Contains(st.Message(), tc.field) {
				t.Errorf("message %q does not name %s", st.Message(), tc.field)
			}
			var named bool
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, v := range br.GetFieldViolations() {
						named = named || strings.HasPrefix(v.GetField(), tc.field)
					}
				}
			}
			if !named {
				t.Errorf("no field violation for %s in %v", tc.field, st.Details())
			}
		})
	}
	// Nothing was created by the failed calls.
	resp, err := s.client.ListDealers(ctx, &customerv1.ListDealersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := codesOf(resp.GetDealers()); got != "BJ001,HZ001,SH001" {
		t.Errorf("dealers after failed creates: %s", got)
	}
}

func TestBusinessCalendarThroughTheService(t *testing.T) {
	s := start(t)
	seed(t, s)
	ctx := s.as(t, hqAdmin)
	nineToSix := []*customerv1.TimeInterval{{Start: "09:00", End: "18:00"}}
	var weekly []*customerv1.OpeningHours
	for d := customerv1.DayOfWeek_DAY_OF_WEEK_MONDAY; d <= customerv1.DayOfWeek_DAY_OF_WEEK_FRIDAY; d++ {
		weekly = append(weekly, &customerv1.OpeningHours{Day: d, Intervals: nineToSix})
	}
	_, err := s.client.UpdateBusinessCalendar(ctx, &customerv1.UpdateBusinessCalendarRequest{Calendar: &customerv1.BusinessCalendar{
		Dealer:              "SH001",
		Weekly:              weekly,
		Holidays:            []string{"2026-10-01", "2026-10-02", "2026-10-05"},
		AdjustedWorkingDays: []*customerv1.AdjustedWorkingDay{{Date: "2026-10-10", HoursOf: customerv1.DayOfWeek_DAY_OF_WEEK_MONDAY}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.client.GetBusinessCalendar(s.as(t, agentSH1), &customerv1.GetBusinessCalendarRequest{Dealer: "SH001"})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetTimeZone() != "Asia/Shanghai" || len(got.GetWeekly()) != 5 || len(got.GetHolidays()) != 3 || len(got.GetAdjustedWorkingDays()) != 1 {
		t.Fatalf("calendar read back: %v", got)
	}

	sh := time.FixedZone("CST", 8*3600)
	for _, tc := range []struct {
		start    time.Time
		d        time.Duration
		want     time.Time
		wantOpen bool
	}{
		// Friday 17:55 + 2 business hours = Monday 10:55.
		{time.Date(2026, 11, 20, 17, 55, 0, 0, sh), 2 * time.Hour, time.Date(2026, 11, 23, 10, 55, 0, 0, sh), true},
		// Over the holidays Thu 1, Fri 2 and Mon 5 October: Tuesday 6th.
		{time.Date(2026, 9, 30, 17, 55, 0, 0, sh), 2 * time.Hour, time.Date(2026, 10, 6, 10, 55, 0, 0, sh), true},
		// Friday 9th 17:55: the adjusted working Saturday 10th counts.
		{time.Date(2026, 10, 9, 17, 55, 0, 0, sh), 2 * time.Hour, time.Date(2026, 10, 10, 10, 55, 0, 0, sh), true},
		// Sunday night is closed; counting starts Monday 09:00.
		{time.Date(2026, 11, 22, 23, 0, 0, 0, sh), 90 * time.Second, time.Date(2026, 11, 23, 9, 1, 30, 0, sh), false},
	} {
		resp, err := s.client.AddBusinessTime(s.as(t, agentSH1), &customerv1.AddBusinessTimeRequest{Dealer: "SH001", StartTime: timestamppb.New(tc.start), Duration: durationpb.New(tc.d)})
		if err != nil {
			t.Fatal(err)
		}
		if !resp.GetEndTime().AsTime().Equal(tc.want) || resp.GetStartInBusinessHours() != tc.wantOpen {
			t.Errorf("%v + %v = %v (open %v), want %v (open %v)", tc.start, tc.d, resp.GetEndTime().AsTime().In(sh), resp.GetStartInBusinessHours(), tc.want, tc.wantOpen)
		}
	}
}

func TestPaginationIsStable(t *testing.T) {
	s := start(t)
	seed(t, s)
	ctx := s.as(t, hqAnalyst)
	var all []string
	tok := ""
	for range 10 {
		resp, err := s.client.ListDealers(ctx, &customerv1.ListDealersRequest{PageSize: 2, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, codesOf(resp.GetDealers()))
		if tok = resp.GetNextPageToken(); tok == "" {
			break
		}
	}
	if got := strings.Join(all, "|"); got != "BJ001,HZ001|SH001" {
		t.Errorf("pages = %s", got)
	}
	_, err := s.client.ListDealers(ctx, &customerv1.ListDealersRequest{PageToken: "%%%"})
	wantCode(t, err, codes.InvalidArgument)
}

func TestAuthenticationAndHealth(t *testing.T) {
	s := start(t)
	_, err := s.client.ListDealers(context.Background(), &customerv1.ListDealersRequest{})
	wantCode(t, err, codes.Unauthenticated)
	_, err = s.client.ListDealers(auth.WithToken(context.Background(), "not-a-jwt"), &customerv1.ListDealersRequest{})
	wantCode(t, err, codes.Unauthenticated)
	resp, err := healthpb.NewHealthClient(s.conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", resp, err)
	}
}

// Import writers hold pool connections for whole batches: a setting that
// would leave API calls fewer than 2 connections is refused at start, and
// the error names the variables to change.
func TestImportWritersMustFitThePool(t *testing.T) {
	db := pgtest.NewFrom(t, postgres.Schema, postgres.Migrations)
	id := authtest.New(t)
	m := &app.Main{Config: app.Config{
		Config: service.Config{GRPC: grpcserver.Config{Addr: "127.0.0.1:0"}, Auth: id.Config, Database: pg.Config{URL: db.AppURL, MaxConns: 4}},
		PII:    pii.NewRandomKeys(),
		Import: importer.RunnerConfig{Writers: 3},
	}}
	err := m.Open(context.Background())
	m.Close()
	if err == nil || !strings.Contains(err.Error(), "IMPORT_WRITERS") || !strings.Contains(err.Error(), "DATABASE_MAX_CONNS") {
		t.Fatalf("Open with 3 writers and 4 connections: %v, want an error naming IMPORT_WRITERS and DATABASE_MAX_CONNS", err)
	}
	m.Config.Import.Writers = 2
	if err := m.Open(context.Background()); err != nil {
		t.Fatalf("Open with 2 writers and 4 connections: %v", err)
	}
	m.Close()
}
