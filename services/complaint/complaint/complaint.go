// Package complaint holds the closed-loop complaint rules (抱怨/投诉闭环):
// the states and their transitions, who may act, and SLA policies as
// data, in a Service over a Store. The escalation ladder, its recipients
// and its clocks are package escalation's; the escalation workflow
// (workflows/complaint) decides only when.
package complaint

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/services/complaint/escalation"
)

// States (the values of events.Complaint*).
const (
	StateNew             = events.ComplaintNew
	StateAcknowledged    = events.ComplaintAcknowledged
	StateInProgress      = events.ComplaintInProgress
	StatePendingCustomer = events.ComplaintPendingCustomer
	StateResolved        = events.ComplaintResolved
	StateReopened        = events.ComplaintReopened
	StateClosed          = events.ComplaintClosed
)

// Complaint is one complaint. Dealer is the owner; OriginDealer where it
// was filed (its workflow's key).
type Complaint struct {
	ID                string
	Dealer            string
	OriginDealer      string
	Channel           string
	Category          string
	Severity          string
	Customer          string
	VIN               string
	Description       string
	Assignee          string
	RootCause         string
	CorrectiveActions string
	Resolution        string
	State             string
	Level             int
	AcknowledgeTime   time.Time
	ResolveTime       time.Time
	ReopenCount       int
	Version           int64
	ResponseDue       time.Time
	ResolutionDue     time.Time
	CreateTime        time.Time
	UpdateTime        time.Time
	// Source is what opened it automatically, e.g. callback/<task id>.
	Source string
	// PolicyVersion is the SLA policy version its clocks count with
	// (Policy.Version): the one in force for its owner when it was filed,
	// until its severity changes or it is transferred (then the one in
	// force then); an edit of the policy leaves it.
	PolicyVersion int64
}

// Event is a timeline entry.
type Event struct {
	Seq    int64
	Kind   string
	Actor  string
	Time   time.Time
	Level  int
	Detail string
	Dealer string
	Key    string // clock events: their idempotency key
}

var severities = []string{"low", "medium", "high", "critical"}

// Validate checks a complaint's fields (on create, and after an update).
func (c *Complaint) Validate() error {
	c.Description = strings.TrimSpace(c.Description)
	switch {
	case c.Channel == "":
		return apperr.Invalid("complaint.channel", "is required").ZhReason("为必填项")
	case c.Category == "":
		return apperr.Invalid("complaint.category", "is required").ZhReason("为必填项")
	case c.Description == "":
		return apperr.Invalid("complaint.description", "is required").ZhReason("为必填项")
	case len([]rune(c.Description)) > 4000:
		return apperr.Invalid("complaint.description", "must be at most 4000 characters").ZhReason("不能超过 4000 个字符")
	case !slices.Contains(severities, c.Severity):
		return apperr.Invalid("complaint.severity", "must be low, medium, high or critical").ZhReason("须为 low、medium、high 或 critical")
	}
	return nil
}

// UpdatableFields are the fields UpdateComplaint may change.
var UpdatableFields = []string{"severity", "category", "description", "customer", "vin"}

// Update copies the masked fields of in; it reports whether the severity
// changed, which moves the SLA deadlines.
func (c *Complaint) Update(in Complaint, mask []string) (severityChanged bool, err error) {
	if !c.Open() {
		return false, apperr.Errorf(apperr.ECONFLICT, "cannot change a complaint that is %s", c.State).Zh("投诉状态为 " + c.State + "，不能修改")
	}
	if len(mask) == 0 {
		return false, apperr.Invalid("update_mask", "name the fields to update: severity, category, description, customer, vin").ZhReason("请指定要更新的字段")
	}
	before := c.Severity
	for _, f := range mask {
		switch f {
		case "severity":
			c.Severity = in.Severity
		case "category":
			c.Category = in.Category
		case "description":
			c.Description = in.Description
		case "customer":
			c.Customer = in.Customer
		case "vin":
			c.VIN = in.VIN
		default:
			return false, apperr.Invalid("update_mask", "cannot update field \""+f+"\"").ZhReason("不能更新字段 \"" + f + "\"")
		}
	}
	if err := c.Validate(); err != nil {
		return false, err
	}
	return c.Severity != before, nil
}

// Action is a state transition a caller asks for.
type Action string

// Actions.
const (
	ActionAcknowledge     Action = "acknowledge"
	ActionStart           Action = "start"
	ActionWaitForCustomer Action = "waitForCustomer"
	ActionResume          Action = "resume"
	ActionResolve         Action = "resolve"
	ActionReopen          Action = "reopen"
	ActionClose           Action = "close"
)

// transition describes a state change: from which states, to which, and
// the change it records.
type transition struct {
	from   []string
	to     string
	change ChangeKind
}

var transitions = map[Action]transition{
	ActionAcknowledge:     {[]string{StateNew}, StateAcknowledged, ChangeAcknowledged},
	ActionStart:           {[]string{StateAcknowledged, StateReopened}, StateInProgress, ChangeStarted},
	ActionWaitForCustomer: {[]string{StateInProgress}, StatePendingCustomer, ChangePaused},
	ActionResume:          {[]string{StatePendingCustomer}, StateInProgress, ChangeResumed},
	ActionResolve:         {[]string{StateInProgress}, StateResolved, ChangeResolved},
	ActionReopen:          {[]string{StateResolved}, StateReopened, ChangeReopened},
	ActionClose:           {[]string{StateResolved}, StateClosed, ChangeClosed},
}

// ChangeOf is the change an action records.
func ChangeOf(a Action) ChangeKind { return transitions[a].change }

// Apply performs a state transition at time at. An illegal transition is
// ECONFLICT (HTTP 409) naming the current state and the allowed ones.
func (c *Complaint) Apply(action Action, at time.Time) error {
	t, ok := transitions[action]
	if !ok {
		return fmt.Errorf("unknown action %q", action)
	}
	if !slices.Contains(t.from, c.State) {
		return apperr.Errorf(apperr.ECONFLICT, "cannot %s a complaint that is %s (allowed from: %s)", action, c.State, strings.Join(t.from, ", ")).
			Zh(fmt.Sprintf("投诉当前状态为 %s，不能执行 %s（允许的状态：%s）", c.State, action, strings.Join(t.from, "、")))
	}
	c.State = t.to
	switch action {
	case ActionAcknowledge:
		c.AcknowledgeTime = at
	case ActionResolve:
		c.ResolveTime = at
	case ActionReopen:
		c.ReopenCount++
		c.ResolveTime = time.Time{}
	}
	return nil
}

// Open reports whether the complaint is still being handled.
func (c *Complaint) Open() bool { return c.State != StateResolved && c.State != StateClosed }

// Escalate is the customer's own escalation of an open complaint
// (escalation.ByCustomer).
func (c *Complaint) Escalate() error {
	if !c.Open() {
		return apperr.Errorf(apperr.ECONFLICT, "cannot escalate a complaint that is %s", c.State).Zh("投诉状态为 " + c.State + "，不能升级")
	}
	level, err := escalation.ByCustomer(c.Level)
	if err != nil {
		return err
	}
	c.Level = level
	return nil
}

// Changed builds the event that tells the escalation workflow the
// complaint's clock-relevant state after change.
func (c *Complaint) Changed(change ChangeKind, at time.Time) events.ComplaintChanged {
	return events.ComplaintChanged{
		ComplaintID: c.ID, OriginDealer: c.OriginDealer, Dealer: c.Dealer, Version: c.Version, Change: string(change), At: at,
		State: c.State, Severity: c.Severity, Level: c.Level, CreateTime: c.CreateTime,
	}
}
