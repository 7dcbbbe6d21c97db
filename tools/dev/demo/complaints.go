package demo

import (
	"context"
	"fmt"

	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
)

// demoComplaint is one of a dealer's demo complaints and how far its
// handling has gone.
type demoComplaint struct {
	channel     complaintv1.Channel
	category    complaintv1.Category
	severity    complaintv1.Severity
	description string
	// steps are the transitions the dealer's agent has made, in order.
	steps []string
	// everyNth: only every dealer whose index is a multiple (0: all).
	everyNth int
}

// demoComplaints is each dealer's open complaint book: one left alone (its
// SLA clock runs and the ladder climbs during the day), one being worked,
// one waiting for the customer (the clock paused), one resolved (its
// follow-up callback scheduled) and, at every fourth dealer, a critical one
// the customer escalated at once (L1: the CS manager notified).
var demoComplaints = []demoComplaint{
	{complaintv1.Channel_CHANNEL_PHONE, complaintv1.Category_CATEGORY_WAITING_TIME, complaintv1.Severity_SEVERITY_HIGH,
		"保养等待超过三小时，期间无人告知进度", nil, 0},
	{complaintv1.Channel_CHANNEL_WALK_IN, complaintv1.Category_CATEGORY_REPAIR_QUALITY, complaintv1.Severity_SEVERITY_MEDIUM,
		"空调维修后仍不制冷，客户要求返修", []string{"acknowledge", "start"}, 0},
	{complaintv1.Channel_CHANNEL_WEB, complaintv1.Category_CATEGORY_PRICE, complaintv1.Severity_SEVERITY_LOW,
		"对结算单上的工时费有疑问", []string{"acknowledge", "start", "waitForCustomer"}, 0},
	{complaintv1.Channel_CHANNEL_PHONE, complaintv1.Category_CATEGORY_SERVICE_ATTITUDE, complaintv1.Severity_SEVERITY_MEDIUM,
		"服务顾问接待态度冷淡", []string{"acknowledge", "start", "resolve"}, 0},
	{complaintv1.Channel_CHANNEL_SOCIAL_MEDIA, complaintv1.Category_CATEGORY_PRODUCT_QUALITY, complaintv1.Severity_SEVERITY_CRITICAL,
		"行驶中仪表盘多个故障灯亮起，客户已在微博投诉", []string{"escalate"}, 4},
}

// LoadComplaints gives every dealer of n that has no complaint yet its
// demo complaints, about its first customers, filed and handled by its
// agent through the complaint service, so their escalation workflows run
// as a real complaint's do. A dealer that has complaints is left alone, so
// a second `make run` adds nothing. It returns how many it filed.
func LoadComplaints(ctx context.Context, complaints complaintv1.ComplaintServiceClient, archive customerv1.ArchiveServiceClient, n DealerNetwork, tokenFor TokenFor) (int, error) {
	filed := 0
	for i, d := range n.Dealers {
		actx, err := tokenFor(ctx, d.Code)
		if err != nil {
			return filed, err
		}
		existing, err := complaints.ListComplaints(actx, &complaintv1.ListComplaintsRequest{Dealer: d.Code, PageSize: 1})
		if err != nil {
			return filed, fmt.Errorf("dealer %s: %w", d.Code, err)
		}
		if len(existing.GetComplaints()) > 0 {
			continue
		}
		customers, err := archive.ListCustomers(actx, &customerv1.ListCustomersRequest{Dealer: d.Code, PageSize: int32(len(demoComplaints))})
		if err != nil {
			return filed, fmt.Errorf("dealer %s: customers: %w", d.Code, err)
		}
		for k, dc := range demoComplaints {
			if dc.everyNth > 0 && i%dc.everyNth != 0 {
				continue
			}
			c := &complaintv1.Complaint{Channel: dc.channel, Category: dc.category, Severity: dc.severity, Description: dc.description}
			if cs := customers.GetCustomers(); k < len(cs) {
				c.Customer = cs[k].GetId()
			}
			created, err := complaints.CreateComplaint(actx, &complaintv1.CreateComplaintRequest{Dealer: d.Code, Complaint: c})
			if err != nil {
				return filed, fmt.Errorf("dealer %s: file a complaint: %w", d.Code, err)
			}
			filed++
			if err := handle(actx, complaints, d.Code, created.GetId(), dc.steps); err != nil {
				return filed, fmt.Errorf("dealer %s: complaint %s: %w", d.Code, created.GetId(), err)
			}
		}
	}
	return filed, nil
}

// handle makes the agent's transitions on a complaint.
func handle(ctx context.Context, client complaintv1.ComplaintServiceClient, dealer, id string, steps []string) error {
	for _, step := range steps {
		var err error
		switch step {
		case "acknowledge":
			_, err = client.AcknowledgeComplaint(ctx, &complaintv1.AcknowledgeComplaintRequest{Dealer: dealer, Complaint: id})
		case "start":
			_, err = client.StartComplaint(ctx, &complaintv1.StartComplaintRequest{Dealer: dealer, Complaint: id})
		case "waitForCustomer":
			_, err = client.WaitForCustomer(ctx, &complaintv1.WaitForCustomerRequest{Dealer: dealer, Complaint: id, Note: "已约客户周六到店核对结算单"})
		case "resolve":
			_, err = client.ResolveComplaint(ctx, &complaintv1.ResolveComplaintRequest{Dealer: dealer, Complaint: id,
				RootCause: "接待高峰期服务顾问未按标准流程接待", CorrectiveActions: "服务经理致电道歉，顾问重新培训接待标准",
				Resolution: "赠送一次免费保养"})
		case "escalate":
			_, err = client.EscalateComplaint(ctx, &complaintv1.EscalateComplaintRequest{Dealer: dealer, Complaint: id, Note: "客户要求立即升级处理"})
		default:
			err = fmt.Errorf("unknown step %q", step)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", step, err)
		}
	}
	return nil
}
