package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"

	"github.com/dealercare/dealercare/pkg/idempotency"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/complaint/complaint"
)

// TestKeyedRetriesWriteOnce: a keyed filing or transition run again (its
// first answer was lost) answers the complaint and writes nothing more.
func TestKeyedRetriesWriteOnce(t *testing.T) {
	s := open(t)
	keyed := func(key, method string) context.Context {
		return idempotency.NewContext(context.Background(), idempotency.Request{Key: key, Caller: "agent-1", Method: method, Hash: []byte(method)})
	}
	in := func() *complaint.Complaint {
		return &complaint.Complaint{Dealer: "D001", Channel: "phone", Category: "parts", Severity: "high", Description: "noise after repair"}
	}
	file := keyed("k-file", "/Create")
	first, err := s.Create(file, in(), in().Filed(), "agent-1", t0)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Create(file, in(), in().Filed(), "agent-1", t0)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID {
		t.Fatalf("repeat of the filing answered %s, want %s", again.ID, first.ID)
	}
	list, _, err := s.List(context.Background(), pg.Dealers("D001"), complaint.ListFilter{Dealer: "D001"}, "", 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("%d complaints (%v), want 1", len(list), err)
	}

	ack := keyed("k-ack", "/Acknowledge")
	for range 2 {
		c, err := s.Update(ack, pg.Dealers("D001"), first.ID, "agent-1", t0, func(c *complaint.Complaint) (complaint.Change, error) {
			return complaint.Change{Kind: complaint.ChangeAcknowledged}, c.Apply(complaint.ActionAcknowledge, t0)
		})
		if err != nil {
			t.Fatalf("keyed acknowledge: %v", err)
		}
		if c.State != complaint.StateAcknowledged {
			t.Fatalf("keyed acknowledge answered state %s", c.State)
		}
	}
	events, err := s.Events(context.Background(), pg.Dealers("D001"), first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 { // filed, acknowledged
		t.Fatalf("%d timeline entries, want 2 (filed, acknowledged once): %+v", len(events), events)
	}

	// A transfer's retry finds the complaint at its new owner.
	move := keyed("k-move", "/Transfer")
	for range 2 {
		c, err := s.Update(move, pg.Dealers("D001", "D002"), first.ID, "manager-1", t0, func(c *complaint.Complaint) (complaint.Change, error) {
			if c.Dealer != "D001" {
				t.Fatalf("the transfer ran again on a complaint of %s", c.Dealer)
			}
			c.Dealer, c.Assignee = "D002", ""
			return complaint.Change{Kind: complaint.ChangeTransferred, Detail: "D001 → D002"}, nil
		})
		if err != nil {
			t.Fatalf("keyed transfer: %v", err)
		}
		if c.Dealer != "D002" {
			t.Fatalf("keyed transfer answered owner %s", c.Dealer)
		}
	}
}

// network: every dealer exists, in Shanghai; no region.
type network struct{}

func (network) VisibleDealers(context.Context) ([]string, error)   { return nil, nil }
func (network) DealerExists(context.Context, string) (bool, error) { return true, nil }
func (network) TimeZone(context.Context, string) (string, error)   { return "Asia/Shanghai", nil }

// TestKeyedTransferRetryThroughTheService: the owner's manager transfers a
// complaint and the answer is lost; the retry with the same key, through
// the service (not the store alone), answers the moved complaint instead
// of "only the owner's managers transfer" (the complaint is no longer the
// caller's dealer's) and moves nothing twice.
func TestKeyedTransferRetryThroughTheService(t *testing.T) {
	s := open(t)
	svc := complaint.NewService(s, complaint.Access{Network: network{}}, func() time.Time { return t0 })
	manager := auth.NewContextWithPrincipal(context.Background(), &auth.Principal{Subject: "manager-1", Roles: []auth.Role{auth.RoleDealerManager}, Dealer: "D001"})
	c := create(t, s, "D001", "", t0)
	move := idempotency.NewContext(manager, idempotency.Request{Key: "k-transfer", Caller: "manager-1", Method: "/Transfer", Hash: []byte("D001 → D002")})
	for i := range 2 {
		got, err := svc.Transfer(move, "D001", c.ID, "D002", "closer to the customer")
		if err != nil {
			t.Fatalf("keyed transfer, run %d: %v", i+1, err)
		}
		if got.Dealer != "D002" || got.OriginDealer != "D001" {
			t.Fatalf("keyed transfer, run %d, answered owner %s from %s", i+1, got.Dealer, got.OriginDealer)
		}
	}
	events, err := s.Events(context.Background(), pg.Dealers("D001", "D002"), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	transfers := 0
	for _, e := range events {
		if e.Kind == string(complaint.ChangeTransferred) {
			transfers++
		}
	}
	if transfers != 1 {
		t.Fatalf("%d transfers on the timeline, want 1: %+v", transfers, events)
	}
	// Without the key the same call is refused: the complaint is D002's now.
	if _, err := svc.Transfer(manager, "D001", c.ID, "D002", "again"); apperr.Code(err) != apperr.EFORBIDDEN {
		t.Fatalf("unkeyed repeat of the transfer: %v, want forbidden", err)
	}
}
