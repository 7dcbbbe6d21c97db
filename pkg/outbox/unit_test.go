package outbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"

	"github.com/dealercare/dealercare/pkg/outbox"
)

func TestTableSQLMatchesPackageDoc(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for line := range strings.Lines(outbox.TableSQL("")) {
		want.WriteString("//\t" + line)
	}
	if !strings.Contains(string(doc), want.String()) {
		t.Errorf("doc.go does not contain TableSQL(\"\") as a code block; paste this into its Migration section:\n%s", want.String())
	}
}

func TestTableSQLQualified(t *testing.T) {
	got := outbox.TableSQL("svc")
	for _, want := range []string{
		`CREATE TABLE "svc"."outbox_events" (`,
		`ON "svc"."outbox_events" (next_attempt_at, created_at)`,
		`ALTER TABLE "svc"."outbox_events" FORCE ROW LEVEL SECURITY;`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("TableSQL(\"svc\") lacks %q:\n%s", want, got)
		}
	}
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := outbox.NewID()
		if !uuidV4.MatchString(id) {
			t.Fatalf("NewID() = %q, not a canonical UUID v4", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestAddRejectsInvalidEvents(t *testing.T) {
	valid := outbox.Event{
		DealerID: "D1", Kind: "repair_order.closed", WorkflowID: "vehicle/LSVAU2180N2183294",
		WorkflowType: "VehicleWorkflow", TaskQueue: "q", SignalName: "event",
	}
	for _, tc := range []struct {
		name   string
		modify func(*outbox.Event)
		want   string
	}{
		{"no dealer", func(e *outbox.Event) { e.DealerID = "" }, "DealerID"},
		{"no kind", func(e *outbox.Event) { e.Kind = "" }, "Kind"},
		{"no workflow id", func(e *outbox.Event) { e.WorkflowID = "" }, "WorkflowID"},
		{"no workflow type", func(e *outbox.Event) { e.WorkflowType = "" }, "WorkflowType"},
		{"no task queue", func(e *outbox.Event) { e.TaskQueue = "" }, "TaskQueue"},
		{"no signal", func(e *outbox.Event) { e.SignalName = "" }, "SignalName"},
		{"bad id", func(e *outbox.Event) { e.ID = "evt-1" }, `ID "evt-1" is not a UUID`},
		{"unencodable payload", func(e *outbox.Event) { e.Payload = func() {} }, "encode payload"},
		{"unencodable start input", func(e *outbox.Event) { e.StartInput = make(chan int) }, "encode start input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := valid
			tc.modify(&e)
			// A nil transaction: validation must fail before it is used.
			err := outbox.Add(context.Background(), nil, e)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Add() = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestRelayRejectsBadConfiguration(t *testing.T) {
	err := (&outbox.Relay{PollInterval: -time.Second, MinBackoff: time.Minute, MaxBackoff: time.Second}).Run(context.Background())
	if err == nil {
		t.Fatal("Run() with an empty relay succeeded")
	}
	for _, want := range []string{"Pool is nil", "Temporal is nil", "PollInterval must not be negative", "MaxBackoff (1s) must not be below MinBackoff (1m0s)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Run() = %v, want it to mention %q", err, want)
		}
	}
}

func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{
		1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 9: 256 * time.Second,
		10: 5 * time.Minute, 1000: 5 * time.Minute,
	} {
		if got := outbox.Backoff(time.Second, 5*time.Minute, n); got != want {
			t.Errorf("backoff after %d failures = %s, want %s", n, got, want)
		}
	}
}

// The relay's own retries (a failed batch or listener: the database is
// down) back off too, but never past 10 s (or MinBackoff, if longer), so
// a long outage does not leave the relay asleep once it is over.
func TestOutageWait(t *testing.T) {
	for _, c := range []struct {
		minB, maxB time.Duration
		n          int
		want       time.Duration
	}{
		{time.Second, 5 * time.Minute, 1, time.Second},
		{time.Second, 5 * time.Minute, 4, 8 * time.Second},
		{time.Second, 5 * time.Minute, 5, 10 * time.Second},
		{time.Second, 5 * time.Minute, 1000, 10 * time.Second},
		{50 * time.Millisecond, 200 * time.Millisecond, 1000, 200 * time.Millisecond},
		{time.Minute, 5 * time.Minute, 3, time.Minute},
	} {
		if got := outbox.OutageWait(c.minB, c.maxB, c.n); got != c.want {
			t.Errorf("outage wait after %d failures (backoff %s..%s) = %s, want %s", c.n, c.minB, c.maxB, got, c.want)
		}
	}
}

func TestDedupSeen(t *testing.T) {
	var d outbox.Dedup
	if d.Seen("a") {
		t.Error("first Seen(a) = true")
	}
	if !d.Seen("a") {
		t.Error("second Seen(a) = false")
	}
	if d.Seen("b") {
		t.Error("first Seen(b) = true")
	}
	if d.Len() != 2 {
		t.Errorf("Len() = %d, want 2", d.Len())
	}
}

func TestDedupForgetsOldest(t *testing.T) {
	d := outbox.Dedup{Size: 3}
	for _, id := range []string{"a", "b", "c", "d"} {
		if d.Seen(id) {
			t.Fatalf("Seen(%s) = true on first sight", id)
		}
	}
	if got := strings.Join(d.IDs, ","); got != "b,c,d" {
		t.Errorf("IDs = %s, want b,c,d (oldest forgotten)", got)
	}
	if !d.Seen("b") || !d.Seen("d") {
		t.Error("a remembered id is reported unseen")
	}
	if d.Seen("a") {
		t.Error("the forgotten id a is still reported seen")
	}
	if got := strings.Join(d.IDs, ","); got != "c,d,a" {
		t.Errorf("IDs = %s, want c,d,a", got)
	}
}

func TestDedupDefaultSize(t *testing.T) {
	var d outbox.Dedup
	for i := range outbox.DefaultDedupSize + 1 {
		d.Seen(fmt.Sprint(i))
	}
	if d.Len() != outbox.DefaultDedupSize {
		t.Errorf("Len() = %d, want %d", d.Len(), outbox.DefaultDedupSize)
	}
	// Seen("1") first: Seen("0") remembers 0 again and so forgets 1.
	if !d.Seen("1") {
		t.Error("id 1 forgotten too early")
	}
	if d.Seen("0") {
		t.Error("the oldest id is still remembered beyond DefaultDedupSize")
	}
}

// A Dedup travels in workflow input through ContinueAsNew, i.e. through
// Temporal's data converter.
func TestDedupSurvivesDataConverter(t *testing.T) {
	type state struct {
		Seen outbox.Dedup
	}
	var before state
	before.Seen.Size = 10
	for _, id := range []string{"e1", "e2", "e3"} {
		before.Seen.Seen(id)
	}
	dc := converter.GetDefaultDataConverter()
	p, err := dc.ToPayload(before)
	if err != nil {
		t.Fatal(err)
	}
	var after state
	if err := dc.FromPayload(p, &after); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"e1", "e2", "e3"} {
		if !after.Seen.Seen(id) {
			t.Errorf("after decoding, Seen(%s) = false", id)
		}
	}
	if after.Seen.Seen("e4") {
		t.Error("after decoding, a new id is reported seen")
	}
	if after.Seen.Size != 10 {
		t.Errorf("Size = %d after decoding, want 10", after.Seen.Size)
	}
}

func TestDedupShrunkSize(t *testing.T) {
	// A newer workflow version may carry a state with more ids than Size.
	d := outbox.Dedup{IDs: []string{"a", "b", "c", "d"}, Size: 2}
	if d.Seen("e") {
		t.Fatal("Seen(e) = true")
	}
	if got := strings.Join(d.IDs, ","); got != "d,e" {
		t.Errorf("IDs = %s, want d,e", got)
	}
	if d.Seen("a") {
		t.Error("evicted id a reported seen")
	}
}

func TestEnvelopeDecode(t *testing.T) {
	env := outbox.Envelope{EventID: "x", Kind: "k", Payload: json.RawMessage(`{"mileage":12345}`)}
	var p struct{ Mileage int }
	if err := env.Decode(&p); err != nil || p.Mileage != 12345 {
		t.Errorf("Decode() = %+v, %v", p, err)
	}
	env.Payload = json.RawMessage(`{`)
	if err := env.Decode(&p); err == nil || !strings.Contains(err.Error(), "decode k event x") {
		t.Errorf("Decode() of bad JSON = %v", err)
	}
}
