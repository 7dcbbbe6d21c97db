package chaos

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Finding is one check's result.
type Finding struct {
	Check      string
	Rows       int // rows (or workflows) looked at
	Losses     int
	Duplicates int
	Examples   []string
}

// Checks is the checker's result.
type Checks struct {
	Findings []Finding
}

// Losses and Duplicates sum the findings.
func (c Checks) Losses() (n int) {
	for _, f := range c.Findings {
		n += f.Losses
	}
	return n
}

func (c Checks) Duplicates() (n int) {
	for _, f := range c.Findings {
		n += f.Duplicates
	}
	return n
}

// Rows is the number of rows and workflows checked.
func (c Checks) Rows() (n int) {
	for _, f := range c.Findings {
		n += f.Rows
	}
	return n
}

func (c *Checks) add(f Finding) { c.Findings = append(c.Findings, f) }

func (f *Finding) example(format string, args ...any) {
	if len(f.Examples) < 5 {
		f.Examples = append(f.Examples, fmt.Sprintf(format, args...))
	}
}

// Outboxes are the schemas whose outbox_events must drain.
var Outboxes = []string{"customer", "complaint", "callback", "campaign", "webhook"}

// WaitDrained waits up to limit for every outbox to have no undelivered
// event; it returns the undelivered count per schema when it gives up.
func WaitDrained(ctx context.Context, adminURL string, limit time.Duration) (map[string]int, error) {
	deadline := time.Now().Add(limit)
	for {
		pending, err := undelivered(ctx, adminURL)
		if err == nil && len(pending) == 0 {
			return nil, nil
		}
		if time.Now().After(deadline) {
			return pending, err
		}
		select {
		case <-ctx.Done():
			return pending, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func undelivered(ctx context.Context, adminURL string) (map[string]int, error) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	out := map[string]int{}
	for _, s := range Outboxes {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+s+".outbox_events WHERE delivered_at IS NULL").Scan(&n); err != nil {
			return nil, err
		}
		if n > 0 {
			out[s] = n
		}
	}
	return out, nil
}

// Check compares the ledger with the databases (as the superuser, so row
// level security hides nothing) and with Temporal.
func Check(ctx context.Context, adminURL, temporalAddr string, l *Ledger) (Checks, error) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return Checks{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var c Checks
	l.mu.Lock()
	defer l.mu.Unlock()

	// counted runs a query of (key, count) rows and compares every
	// expected key's count with 1; keys not expected but present more than
	// once are duplicates too.
	counted := func(name, query string, expected map[string]bool, args ...any) error {
		f := Finding{Check: name}
		rows, err := conn.Query(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		got := map[string]int{}
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				return err
			}
			got[k] = n
			f.Rows += n
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		for k, n := range got {
			if n > 1 {
				f.Duplicates += n - 1
				f.example("%s: %q %d times", name, k, n)
			}
		}
		for k := range expected {
			if got[k] == 0 {
				f.Losses++
				f.example("%s: acknowledged %q missing", name, k)
			}
		}
		c.add(f)
		return nil
	}
	set := func(keys ...map[string]string) map[string]bool {
		out := map[string]bool{}
		for _, m := range keys {
			for k := range m {
				out[k] = true
			}
		}
		return out
	}
	run := l.Run
	like := "%" + run + "%"

	if err := counted("customers", `SELECT name, count(*) FROM customer.customers WHERE name LIKE $1 GROUP BY name`, set(l.Customers), like); err != nil {
		return c, err
	}
	imported := map[string]bool{}
	for d, ids := range l.Imported {
		for _, id := range ids {
			imported[d+"/"+id] = true
		}
	}
	if err := counted("imported customers", `SELECT dealer_id || '/' || dms_id, count(*) FROM customer.customers WHERE dms_id LIKE $1 GROUP BY 1`, imported, like); err != nil {
		return c, err
	}
	if err := counted("vehicles", `SELECT vin, count(*) FROM customer.vehicles WHERE vin LIKE $1 GROUP BY vin`, set(l.Vehicles), "LCH"+strings.ToUpper(run[:4])+"%"); err != nil {
		return c, err
	}
	ros, closed := map[string]bool{}, map[string]bool{}
	closedIDs := map[string]string{} // id -> dealer
	for number, ro := range l.RepairOrders {
		ros[number] = true
		if ro.Closed {
			closed[number] = true
			closedIDs[ro.ID] = ro.Dealer
		}
	}
	if err := counted("repair orders", `SELECT number, count(*) FROM customer.repair_orders WHERE number LIKE $1 GROUP BY number`, ros, like); err != nil {
		return c, err
	}
	if err := counted("closed repair orders", `SELECT number, count(*) FROM customer.repair_orders WHERE number LIKE $1 AND state = 'closed' AND close_time IS NOT NULL GROUP BY number`, closed, like); err != nil {
		return c, err
	}
	// Every closed repair order has its one 3DC task.
	want3DC := map[string]bool{}
	for id, d := range closedIDs {
		want3DC[d+"/"+id] = true
	}
	if err := counted("3DC tasks per closed repair order", `SELECT dealer_id || '/' || source_id, count(*) FROM callback.callback_tasks WHERE kind = '3DC' AND dealer_id LIKE 'CH%' GROUP BY 1`, want3DC); err != nil {
		return c, err
	}
	if err := counted("callback tasks per source", `SELECT dealer_id || '/' || kind || '/' || source_id, count(*) FROM callback.callback_tasks WHERE dealer_id LIKE 'CH%' GROUP BY 1`, nil); err != nil {
		return c, err
	}
	if err := counted("callback attempts", `SELECT dealer_id || '/' || task_id::text || '/' || number, count(*) FROM callback.callback_attempts WHERE dealer_id LIKE 'CH%' GROUP BY 1`, l.Attempts); err != nil {
		return c, err
	}
	if err := counted("completed callbacks", `SELECT dealer_id || '/' || id::text, count(*) FROM callback.callback_tasks WHERE dealer_id LIKE 'CH%' AND status = 'completed' GROUP BY 1`, l.Completed); err != nil {
		return c, err
	}
	complaints := map[string]bool{}
	for desc := range l.Complaints {
		complaints[desc] = true
	}
	if err := counted("complaints", `SELECT description, count(*) FROM complaint.complaints WHERE description LIKE $1 GROUP BY description`, complaints, like); err != nil {
		return c, err
	}
	if err := stateCheck(ctx, conn, &c, l, like); err != nil {
		return c, err
	}
	if err := counted("escalation levels per complaint", `SELECT complaint_id::text || '/L' || level, count(*) FROM complaint.complaint_events WHERE kind = 'escalated' AND dealer_id LIKE 'CH%' GROUP BY 1`, nil); err != nil {
		return c, err
	}
	if err := counted("complaint notifications", `SELECT coalesce(complaint_id::text, '') || '/' || recipient_role || '/' || level || '/' || message, count(*) FROM complaint.notifications WHERE dealer_id LIKE 'CH%' GROUP BY 1`, nil); err != nil {
		return c, err
	}
	if err := counted("campaign messages", `SELECT message_id::text, count(*) FROM campaign.recipients WHERE message_id IS NOT NULL GROUP BY 1`, nil); err != nil {
		return c, err
	}
	if err := counted("webhook deliveries", `SELECT subscription_id::text || '/' || event_id::text, count(*) FROM webhook.webhook_deliveries GROUP BY 1`, nil); err != nil {
		return c, err
	}
	f := Finding{Check: "outboxes drained"}
	pending, err := undelivered(ctx, adminURL)
	if err != nil {
		return c, err
	}
	for s, n := range pending {
		f.Losses += n
		f.example("%s.outbox_events: %d undelivered", s, n)
	}
	f.Rows = len(Outboxes)
	c.add(f)

	// Temporal: one escalation workflow per complaint, one callback
	// workflow per closed repair order, and never a second run of either.
	wantComplaint := map[string]bool{}
	for _, cp := range l.Complaints {
		wantComplaint["complaint/"+cp.Dealer+"/"+cp.ID] = true
	}
	if err := workflowCheck(ctx, temporalAddr, &c, "escalation workflows", "ComplaintEscalation", "complaint/CH", wantComplaint); err != nil {
		return c, err
	}
	want3DCWf := map[string]bool{}
	for id := range closedIDs {
		want3DCWf["callback/3DC/"+id] = true
	}
	if err := workflowCheck(ctx, temporalAddr, &c, "3DC workflows", "CallbackTask", "callback/3DC/", want3DCWf); err != nil {
		return c, err
	}
	return c, nil
}

var stateOrder = map[string]int{"new": 0, "acknowledged": 1, "in_progress": 2, "resolved": 3, "closed": 4}

// stateCheck: a complaint is never behind the last state the API
// acknowledged for it.
func stateCheck(ctx context.Context, conn *pgx.Conn, c *Checks, l *Ledger, like string) error {
	f := Finding{Check: "complaint states"}
	rows, err := conn.Query(ctx, `SELECT description, state, level FROM complaint.complaints WHERE description LIKE $1`, like)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var desc, state string
		var level int
		if err := rows.Scan(&desc, &state, &level); err != nil {
			return err
		}
		f.Rows++
		want, ok := l.Complaints[desc]
		if !ok {
			continue
		}
		if got, ok := stateOrder[state]; ok && got < stateOrder[want.State] {
			f.Losses++
			f.example("complaint %s is %s, the API acknowledged %s", want.ID, state, want.State)
		}
		if want.Escalated && level == 0 {
			f.Losses++
			f.example("complaint %s: escalation acknowledged, level 0", want.ID)
		}
	}
	c.add(f)
	return rows.Err()
}

// workflowCheck lists the workflows of type whose id starts with prefix:
// every expected id has exactly one run that did not continue as new.
func workflowCheck(ctx context.Context, addr string, c *Checks, name, wfType, prefix string, want map[string]bool) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	client := workflowservice.NewWorkflowServiceClient(conn)
	runs := map[string]int{}
	f := Finding{Check: name}
	var token []byte
	for {
		resp, err := client.ListWorkflowExecutions(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: "default", PageSize: 1000, NextPageToken: token,
			Query: fmt.Sprintf("WorkflowType = '%s'", wfType),
		})
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		for _, e := range resp.GetExecutions() {
			id := e.GetExecution().GetWorkflowId()
			if !strings.HasPrefix(id, prefix) {
				continue
			}
			f.Rows++
			if e.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
				runs[id]++
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	for id, n := range runs {
		if n > 1 {
			f.Duplicates += n - 1
			f.example("%s has %d runs", id, n)
		}
	}
	for id := range want {
		if runs[id] == 0 {
			f.Losses++
			f.example("no workflow %s", id)
		}
	}
	c.add(f)
	return nil
}
