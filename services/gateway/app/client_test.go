package app_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/dealercare/dealercare/gen/go/client"
	"github.com/dealercare/dealercare/pkg/auth"
)

// TestGeneratedClientScenario runs a dealer's day through the Go client
// that oapi-codegen generates from the served document (gen/go/client), as
// an integrator would: a customer and a vehicle, a repair order closed,
// its 3DC callback completed, a complaint filed and resolved. Every answer
// also passes the strict wire check.
func TestGeneratedClientScenario(t *testing.T) {
	g := start(t)
	seedNetwork(t, g)
	ctx := context.Background()
	as := func(p auth.Principal) *client.ClientWithResponses {
		token := g.token(t, p)
		c, err := client.NewClientWithResponses(g.url, client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+token)
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	agent := as(auth.Principal{Subject: "agent-sh", Roles: []auth.Role{auth.RoleAgent}, Dealer: "SH001"})
	manager := as(auth.Principal{Subject: "mgr-sh", Roles: []auth.Role{auth.RoleDealerManager}, Dealer: "SH001"})
	const dealer = "SH001"
	ok := func(what string, code int, body []byte, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if code != 200 {
			t.Fatalf("%s: %d %s", what, code, body)
		}
	}
	key := func(s string) *client.IdempotencyKey { k := client.IdempotencyKey(s); return &k }

	cust, err := agent.CreateCustomerWithResponse(ctx, dealer, &client.CreateCustomerParams{IdempotencyKey: key("cust-1")}, client.Customer{
		Name: ptr("王伟"), Mobile: ptr("13812345678"), Kind: ptr(client.CUSTOMERKINDINDIVIDUAL),
	})
	ok("create customer", cust.StatusCode(), cust.Body, err)
	// A retry with the same key is the first answer again.
	again, err := agent.CreateCustomerWithResponse(ctx, dealer, &client.CreateCustomerParams{IdempotencyKey: key("cust-1")}, client.Customer{
		Name: ptr("王伟"), Mobile: ptr("13812345678"), Kind: ptr(client.CUSTOMERKINDINDIVIDUAL),
	})
	ok("retry create customer", again.StatusCode(), again.Body, err)
	if *again.JSON200.Id != *cust.JSON200.Id || again.HTTPResponse.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry made %s (first %s), replayed %q", *again.JSON200.Id, *cust.JSON200.Id, again.HTTPResponse.Header.Get("Idempotent-Replayed"))
	}
	customerID := *cust.JSON200.Id
	if cust.JSON200.CreateTime == nil || *cust.JSON200.Mobile != "+8613812345678" {
		t.Errorf("customer: %+v", cust.JSON200)
	}

	veh, err := agent.CreateVehicleWithResponse(ctx, dealer, customerID, nil, client.Vehicle{Vin: ptr(vinA), Plate: ptr("沪A12345"), Model: ptr("Sedan L")})
	ok("create vehicle", veh.StatusCode(), veh.Body, err)
	ro, err := agent.CreateRepairOrderWithResponse(ctx, dealer, nil, client.RepairOrder{
		Number: ptr("RO-CLIENT-1"), Vin: ptr(vinA), Type: ptr(client.REPAIRORDERTYPEMAINTENANCE), MileageKm: ptr(int32(8200)),
		OpenTime: ptr(time.Now().Add(-2 * time.Hour).UTC()),
	})
	ok("create repair order", ro.StatusCode(), ro.Body, err)
	closed, err := agent.CloseRepairOrderWithResponse(ctx, dealer, *ro.JSON200.Id, nil, client.CloseRepairOrderBody{
		CloseTime: ptr(time.Now().Add(-time.Minute).UTC()), MileageKm: ptr(int32(8200)), AmountFen: ptr("68000"),
	})
	ok("close repair order", closed.StatusCode(), closed.Body, err)
	if *closed.JSON200.State != client.REPAIRORDERSTATECLOSED || *closed.JSON200.Customer != customerID {
		t.Errorf("closed repair order: %+v", closed.JSON200)
	}

	// The closed repair order's 3DC task, as the worker's callback
	// workflow creates it (only workflows create tasks).
	ag, err := manager.CreateCallbackAgentWithResponse(ctx, dealer, nil, client.CallbackAgent{Subject: "agent-sh", DisplayName: ptr("王晓")})
	ok("join rotation", ag.StatusCode(), ag.Body, err)
	seeded := g.seedCallbackTask(t, dealer, *ro.JSON200.Id)
	task, err := agent.GetCallbackTaskWithResponse(ctx, dealer, seeded.GetId())
	ok("get task", task.StatusCode(), task.Body, err)
	claim, err := agent.ClaimCallbackTaskWithResponse(ctx, dealer, seeded.GetId(), nil, client.ClaimCallbackTaskBody{})
	ok("claim", claim.StatusCode(), claim.Body, err)
	att, err := agent.RecordCallbackAttemptWithResponse(ctx, dealer, seeded.GetId(), nil, client.RecordCallbackAttemptBody{Number: ptr(int32(1)), Outcome: ptr(client.ATTEMPTOUTCOMEANSWERED)})
	ok("record attempt", att.StatusCode(), att.Body, err)
	var answers []client.Answer
	for _, q := range task.JSON200.Questionnaire.Questions {
		a := client.Answer{Question: q.Code}
		switch *q.Type {
		case client.QUESTIONTYPERATING:
			a.Rating = ptr(int32(5))
		case client.QUESTIONTYPEYESNO:
			a.YesNo = ptr("yes")
		case client.QUESTIONTYPECHOICE:
			a.Choice = ptr((*q.Options)[0].Code)
		case client.QUESTIONTYPETEXT:
			a.Text = ptr("很满意")
		}
		answers = append(answers, a)
	}
	done, err := agent.CompleteCallbackTaskWithResponse(ctx, dealer, seeded.GetId(), nil, client.CompleteCallbackTaskBody{Answers: &answers, Findings: ptr("客户对保养满意")})
	ok("complete callback", done.StatusCode(), done.Body, err)
	if *done.JSON200.Status != client.CallbackStatusCALLBACKSTATUSCOMPLETED || *done.JSON200.Score <= 0 {
		t.Errorf("completed task: status %v score %v", *done.JSON200.Status, *done.JSON200.Score)
	}

	cp, err := agent.CreateComplaintWithResponse(ctx, dealer, nil, client.Complaint{
		Channel: ptr(client.ComplaintChannelCHANNELPHONE), Category: ptr(client.CategoryCATEGORYREPAIRQUALITY), Severity: ptr(client.SeveritySEVERITYHIGH),
		Customer: ptr(customerID), Vin: ptr(vinA), Description: ptr("保养后发动机异响"),
	})
	ok("file complaint", cp.StatusCode(), cp.Body, err)
	id := *cp.JSON200.Id
	ack, err := agent.AcknowledgeComplaintWithResponse(ctx, dealer, id, nil, client.AcknowledgeComplaintBody{})
	ok("acknowledge", ack.StatusCode(), ack.Body, err)
	st, err := agent.StartComplaintWithResponse(ctx, dealer, id, nil, client.StartComplaintBody{})
	ok("start", st.StatusCode(), st.Body, err)
	res, err := agent.ResolveComplaintWithResponse(ctx, dealer, id, nil, client.ResolveComplaintBody{RootCause: "正时皮带张紧器", Resolution: "免费更换"})
	ok("resolve", res.StatusCode(), res.Body, err)
	if *res.JSON200.State != client.StateSTATERESOLVED || res.JSON200.ResolveTime == nil {
		t.Errorf("resolved complaint: state %v resolveTime %v", *res.JSON200.State, res.JSON200.ResolveTime)
	}

	// Errors decode as the document's Status, with the field named.
	bad, err := agent.CreateVehicleWithResponse(ctx, dealer, customerID, nil, client.Vehicle{Vin: ptr("NOT-A-VIN")})
	if err != nil {
		t.Fatal(err)
	}
	if bad.StatusCode() != 400 || bad.JSON400 == nil || bad.JSON400.Message == "" || len(bad.JSON400.Details) == 0 {
		t.Errorf("bad VIN: %d %s", bad.StatusCode(), bad.Body)
	}
	other, err := agent.GetCustomerWithResponse(ctx, "BJ001", customerID)
	if err != nil || other.StatusCode() != 404 || other.JSON404 == nil {
		t.Errorf("another dealer's customer: %v %d %s", err, other.StatusCode(), other.Body)
	}
	fmt.Fprintf(testWriter{t}, "generated client: customer %s, repair order %s, task %s, complaint %s\n", customerID, *ro.JSON200.Id, seeded.GetId(), id)
}

func ptr[T any](v T) *T { return &v }

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
