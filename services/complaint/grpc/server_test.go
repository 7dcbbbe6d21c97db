package grpc_test

import (
	"context"
	"testing"
	"time"

	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/complaint/complaint"
	"github.com/dealercare/dealercare/services/complaint/complaint/complainttest"
	complaintgrpc "github.com/dealercare/dealercare/services/complaint/grpc"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// network: every dealer but XX999 exists; no region in these tests.
type network struct{}

func (network) VisibleDealers(context.Context) ([]string, error) { return nil, nil }
func (network) DealerExists(_ context.Context, d string) (bool, error) {
	return d != "XX999", nil
}
func (network) TimeZone(context.Context, string) (string, error) { return "Asia/Shanghai", nil }

var t0 = time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)

func as(dealer string, roles ...auth.Role) context.Context {
	return auth.NewContextWithPrincipal(context.Background(), &auth.Principal{Subject: "u-" + dealer, Roles: roles, Dealer: dealer})
}

func newServer(t *testing.T) (*complaintgrpc.Server, *complainttest.Fake) {
	t.Helper()
	store := complainttest.NewFake()
	return complaintgrpc.NewServer(complaint.NewService(store, complaint.Access{Network: network{}}, func() time.Time { return t0 })), store
}

func file(t *testing.T, s *complaintgrpc.Server, dealer string) *complaintv1.Complaint {
	t.Helper()
	c, err := s.CreateComplaint(as(dealer, auth.RoleAgent), &complaintv1.CreateComplaintRequest{Dealer: dealer, Complaint: &complaintv1.Complaint{
		Channel: complaintv1.Channel_CHANNEL_PHONE, Category: complaintv1.Category_CATEGORY_PARTS,
		Severity: complaintv1.Severity_SEVERITY_HIGH, Description: "noise after repair",
	}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// PATCH with every updatable field answers and keeps the new values.
func TestUpdateComplaintKeepsEveryField(t *testing.T) {
	s, _ := newServer(t)
	c := file(t, s, "SH001")
	in := &complaintv1.Complaint{Id: c.GetId(), Category: complaintv1.Category_CATEGORY_PRICE, Severity: complaintv1.Severity_SEVERITY_LOW,
		Description: "charged twice", Customer: "cust-1", Vin: "LSVAU2180N2183294"}
	got, err := s.UpdateComplaint(as("SH001", auth.RoleAgent), &complaintv1.UpdateComplaintRequest{Dealer: "SH001", Complaint: in,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: complaint.UpdatableFields}})
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.GetComplaint(as("SH001", auth.RoleAgent), &complaintv1.GetComplaintRequest{Dealer: "SH001", Complaint: c.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []*complaintv1.Complaint{got, again} {
		if x.GetCategory() != in.GetCategory() || x.GetSeverity() != in.GetSeverity() || x.GetDescription() != in.GetDescription() ||
			x.GetCustomer() != in.GetCustomer() || x.GetVin() != in.GetVin() {
			t.Fatalf("after the update: %v", x)
		}
	}
}

// A transfer is refused for a complaint that was resolved after the
// caller read it: the state is checked on the locked complaint.
func TestTransferChecksTheLockedComplaint(t *testing.T) {
	s, store := newServer(t)
	c := file(t, s, "SH001")
	ctx := as("SH001", auth.RoleDealerManager)
	// Resolved behind the caller's back, between any read and the lock.
	if _, err := store.Update(context.Background(), pg.AllDealers(), c.GetId(), "x", t0, func(c *complaint.Complaint) (complaint.Change, error) {
		c.State = complaint.StateResolved
		return complaint.Change{Kind: complaint.ChangeResolved}, nil
	}); err != nil {
		t.Fatal(err)
	}
	_, err := s.TransferComplaint(ctx, &complaintv1.TransferComplaintRequest{Dealer: "SH001", Complaint: c.GetId(), ToDealer: "SH002"})
	if apperr.Code(err) != apperr.ECONFLICT {
		t.Fatalf("transfer of a resolved complaint: %v, want a conflict", err)
	}
	for _, tc := range []struct {
		ctx  context.Context
		to   string
		code string
	}{
		{as("SH001", auth.RoleAgent), "SH002", apperr.EFORBIDDEN},
		{ctx, "SH001", apperr.EINVALID},
		{ctx, "XX999", apperr.EINVALID},
		{as("SH002", auth.RoleDealerManager), "SH003", apperr.ENOTFOUND},
	} {
		open := file(t, s, "SH001")
		dealer := "SH001"
		if p, _ := auth.PrincipalFromContext(tc.ctx); p.Dealer != "SH001" {
			dealer = p.Dealer
		}
		if _, err := s.TransferComplaint(tc.ctx, &complaintv1.TransferComplaintRequest{Dealer: dealer, Complaint: open.GetId(), ToDealer: tc.to}); apperr.Code(err) != tc.code {
			t.Errorf("transfer to %s: %v, want %s", tc.to, err, tc.code)
		}
	}
	open := file(t, s, "SH001")
	moved, err := s.TransferComplaint(ctx, &complaintv1.TransferComplaintRequest{Dealer: "SH001", Complaint: open.GetId(), ToDealer: "SH002"})
	if err != nil || moved.GetDealer() != "SH002" || moved.GetOriginDealer() != "SH001" {
		t.Fatalf("transfer: %v, %v", moved, err)
	}
	// The origin reads it but no longer changes it.
	if _, err := s.AcknowledgeComplaint(ctx, &complaintv1.AcknowledgeComplaintRequest{Dealer: "SH001", Complaint: open.GetId()}); apperr.Code(err) != apperr.EFORBIDDEN {
		t.Fatalf("origin acknowledging a transferred complaint: %v, want forbidden", err)
	}
}

// The customer's escalation raises one level and notifies that level's
// role; the clock's events are the worker's alone.
func TestEscalationNotifiesTheLevel(t *testing.T) {
	s, store := newServer(t)
	c := file(t, s, "SH001")
	got, err := s.EscalateComplaint(as("SH001", auth.RoleAgent), &complaintv1.EscalateComplaintRequest{Dealer: "SH001", Complaint: c.GetId(), Note: "angry"})
	if err != nil || got.GetLevel() != 1 {
		t.Fatalf("escalate: %v, %v", got, err)
	}
	ns, err := store.Notifications(context.Background(), pg.AllDealers(), "SH001", "", 10)
	if err != nil || len(ns) != 1 || ns[0].RecipientRole != "dealer_manager" || ns[0].Level != 1 {
		t.Fatalf("notifications %+v, %v", ns, err)
	}
	clock := complaintgrpc.NewClockServer(complaint.NewService(store, complaint.Access{Network: network{}}, time.Now))
	if _, err := clock.RecordClockEvent(as("SH001", auth.RoleDealerManager), &complaintv1.RecordClockEventRequest{Complaint: c.GetId(), Key: "k", Kind: "escalated", Level: 2}); apperr.Code(err) != apperr.EFORBIDDEN {
		t.Fatalf("a dealer recording a clock event: %v, want forbidden", err)
	}
}

// slaPolicy is a policy proto with the same targets for every severity.
func slaPolicy(response, resolution time.Duration) *complaintv1.SlaPolicy {
	p := &complaintv1.SlaPolicy{WarningRatio: 0.8}
	for sev := complaintv1.Severity_SEVERITY_LOW; sev <= complaintv1.Severity_SEVERITY_CRITICAL; sev++ {
		p.Targets = append(p.Targets, &complaintv1.SeverityTarget{Severity: sev, Response: durationpb.New(response), Resolution: durationpb.New(resolution)})
	}
	return p
}

// A complaint keeps the SLA policy version it was filed under when the
// policy is edited, and its workflow counts with that version's targets;
// a severity change or a transfer puts it under the version in force.
func TestComplaintKeepsItsPolicyVersion(t *testing.T) {
	s, store := newServer(t)
	clock := complaintgrpc.NewClockServer(complaint.NewService(store, complaint.Access{Network: network{}}, time.Now))
	hq := auth.NewContextWithPrincipal(context.Background(), &auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	worker := auth.NewContextWithPrincipal(context.Background(), &auth.Principal{Subject: "worker", Roles: []auth.Role{auth.RoleService}})
	put := func(dealer string, response time.Duration) int64 {
		t.Helper()
		var p *complaintv1.SlaPolicy
		var err error
		if dealer == "" {
			p, err = s.UpdateDefaultSlaPolicy(hq, &complaintv1.UpdateDefaultSlaPolicyRequest{Policy: slaPolicy(response, 10*response)})
		} else {
			p, err = s.UpdateSlaPolicy(hq, &complaintv1.UpdateSlaPolicyRequest{Dealer: dealer, Policy: slaPolicy(response, 10*response)})
		}
		if err != nil {
			t.Fatal(err)
		}
		return p.GetVersion()
	}
	counted := func(id string) (int64, time.Duration) {
		t.Helper()
		got, err := s.GetComplaint(as("SH001", auth.RoleAgent), &complaintv1.GetComplaintRequest{Dealer: "SH001", Complaint: id})
		if err != nil {
			t.Fatal(err)
		}
		in, err := clock.GetClockInput(worker, &complaintv1.GetClockInputRequest{Complaint: id})
		if err != nil {
			t.Fatal(err)
		}
		return got.GetSlaPolicyVersion(), in.GetPolicy().GetTargets()[0].GetResponse().AsDuration()
	}

	if c := file(t, s, "SH001"); c.GetSlaPolicyVersion() != 0 {
		t.Errorf("filed under the built-in default: version %d, want 0", c.GetSlaPolicyVersion())
	}
	v1 := put("", time.Hour)
	c := file(t, s, "SH001")
	if v, r := counted(c.GetId()); v != v1 || r != time.Hour {
		t.Fatalf("filed: version %d, response %s; want %d, 1h", v, r, v1)
	}
	v2 := put("", 2*time.Hour)
	if v2 <= v1 {
		t.Fatalf("versions %d then %d", v1, v2)
	}
	if _, err := s.UpdateComplaint(as("SH001", auth.RoleAgent), &complaintv1.UpdateComplaintRequest{Dealer: "SH001",
		Complaint: &complaintv1.Complaint{Id: c.GetId(), Description: "still noisy"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}}}); err != nil {
		t.Fatal(err)
	}
	if v, r := counted(c.GetId()); v != v1 || r != time.Hour {
		t.Errorf("after a policy edit and a description change: version %d, response %s; want %d, 1h", v, r, v1)
	}
	if _, err := s.UpdateComplaint(as("SH001", auth.RoleAgent), &complaintv1.UpdateComplaintRequest{Dealer: "SH001",
		Complaint: &complaintv1.Complaint{Id: c.GetId(), Severity: complaintv1.Severity_SEVERITY_CRITICAL}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"severity"}}}); err != nil {
		t.Fatal(err)
	}
	if v, r := counted(c.GetId()); v != v2 || r != 2*time.Hour {
		t.Errorf("after a severity change: version %d, response %s; want %d, 2h", v, r, v2)
	}
	v3 := put("SH002", 3*time.Hour)
	moved, err := s.TransferComplaint(as("SH001", auth.RoleDealerManager), &complaintv1.TransferComplaintRequest{Dealer: "SH001", Complaint: c.GetId(), ToDealer: "SH002"})
	if err != nil {
		t.Fatal(err)
	}
	if moved.GetSlaPolicyVersion() != v3 {
		t.Errorf("transferred: version %d, want SH002's %d", moved.GetSlaPolicyVersion(), v3)
	}
	if in, err := clock.GetClockInput(worker, &complaintv1.GetClockInputRequest{Complaint: c.GetId()}); err != nil ||
		in.GetPolicy().GetTargets()[0].GetResponse().AsDuration() != 3*time.Hour || in.GetPolicy().GetDealer() != "SH002" {
		t.Errorf("clock input after the transfer: %v, %v", in.GetPolicy(), err)
	}
}

// A clock event of an unknown kind, or without a key, is refused and
// changes nothing.
func TestRecordClockEventRefusesUnknownKinds(t *testing.T) {
	s, store := newServer(t)
	c := file(t, s, "SH001")
	clock := complaintgrpc.NewClockServer(complaint.NewService(store, complaint.Access{Network: network{}}, time.Now))
	worker := auth.NewContextWithPrincipal(context.Background(), &auth.Principal{Subject: "worker", Roles: []auth.Role{auth.RoleService}})
	for _, req := range []*complaintv1.RecordClockEventRequest{
		{Complaint: c.GetId(), Key: "x/escalated", Kind: "policy_changed", Level: 2},
		{Complaint: c.GetId(), Kind: "escalated", Level: 2},
	} {
		if _, err := clock.RecordClockEvent(worker, req); apperr.Code(err) != apperr.EINVALID {
			t.Errorf("record %v: %v, want invalid", req, err)
		}
	}
	evs, err := store.Events(context.Background(), pg.AllDealers(), c.GetId())
	if err != nil || len(evs) != 1 {
		t.Errorf("timeline %+v, %v; want the filing only", evs, err)
	}
	if got, err := s.GetComplaint(as("SH001", auth.RoleAgent), &complaintv1.GetComplaintRequest{Dealer: "SH001", Complaint: c.GetId()}); err != nil || got.GetLevel() != 0 {
		t.Errorf("level %d, %v; want 0", got.GetLevel(), err)
	}
}
