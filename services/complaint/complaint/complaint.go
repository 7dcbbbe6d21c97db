// Package complaint holds the closed-loop complaint rules (抱怨/投诉闭环):
// the states and their transitions, who may act, the escalation levels and
// their recipients, and SLA policies as data. Timing lives in pkg/sla and
// the escalation workflow; this package decides what a change means.
package complaint

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/events"
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

// MaxLevel is HQ after-sales (L4).
const MaxLevel = 4

// RecipientRole is who an escalation to level notifies.
func RecipientRole(level int) string {
	switch level {
	case 0:
		return "agent"
	case 1:
		return "dealer_manager"
	case 2:
		return "dealer_gm"
	case 3:
		return "region_manager"
	}
	return "hq_admin"
}

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

// transition describes a state change: from which states, to which.
type transition struct {
	name string
	from []string
	to   string
}

var transitions = map[string]transition{
	"acknowledge":     {"acknowledge", []string{StateNew}, StateAcknowledged},
	"start":           {"start", []string{StateAcknowledged, StateReopened}, StateInProgress},
	"waitForCustomer": {"waitForCustomer", []string{StateInProgress}, StatePendingCustomer},
	"resume":          {"resume", []string{StatePendingCustomer}, StateInProgress},
	"resolve":         {"resolve", []string{StateInProgress}, StateResolved},
	"reopen":          {"reopen", []string{StateResolved}, StateReopened},
	"close":           {"close", []string{StateResolved}, StateClosed},
}

// EventKind names the timeline entry of each action.
var EventKind = map[string]string{
	"acknowledge": "acknowledged", "start": "started", "waitForCustomer": "paused", "resume": "resumed",
	"resolve": "resolved", "reopen": "reopened", "close": "closed",
}

// Apply performs a state transition at time at. An illegal transition is
// ECONFLICT (HTTP 409) naming the current state and the allowed ones.
func (c *Complaint) Apply(action string, at time.Time) error {
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
	case "acknowledge":
		c.AcknowledgeTime = at
	case "resolve":
		c.ResolveTime = at
	case "reopen":
		c.ReopenCount++
		c.ResolveTime = time.Time{}
	}
	return nil
}

// Open reports whether the complaint is still being handled.
func (c *Complaint) Open() bool { return c.State != StateResolved && c.State != StateClosed }

// Escalate raises the level by one (the customer's own escalation).
func (c *Complaint) Escalate() error {
	if !c.Open() {
		return apperr.Errorf(apperr.ECONFLICT, "cannot escalate a complaint that is %s", c.State).Zh("投诉状态为 " + c.State + "，不能升级")
	}
	if c.Level >= MaxLevel {
		return apperr.Errorf(apperr.ECONFLICT, "the complaint is already at HQ (level %d)", MaxLevel).Zh("投诉已升级至总部（L4）")
	}
	c.Level++
	return nil
}

// Changed builds the event that tells the escalation workflow the
// complaint's clock-relevant state after change.
func (c *Complaint) Changed(change string, at time.Time) events.ComplaintChanged {
	return events.ComplaintChanged{
		ComplaintID: c.ID, OriginDealer: c.OriginDealer, Dealer: c.Dealer, Version: c.Version, Change: change, At: at,
		State: c.State, Severity: c.Severity, Level: c.Level, CreateTime: c.CreateTime,
	}
}

// Target is the SLA of one severity.
type Target struct {
	Severity   string        `json:"severity"`
	Response   time.Duration `json:"response"`
	Resolution time.Duration `json:"resolution"`
}

// Policy is an SLA policy: HQ's default or a dealer's override.
type Policy struct {
	Dealer       string // "" for the default
	Targets      []Target
	WarningRatio float64
	Overridden   bool
	UpdateTime   time.Time
}

// DefaultPolicy is the built-in default until HQ sets one: critical 2 h /
// 1 day, high 4 h / 2 days, medium 8 h / 3 days, low 1 day / 5 days of
// business time; warn at 80 %.
func DefaultPolicy() Policy {
	h := time.Hour
	return Policy{WarningRatio: 0.8, Targets: []Target{
		{"low", 8 * h, 40 * h}, {"medium", 8 * h, 24 * h}, {"high", 4 * h, 16 * h}, {"critical", 2 * h, 8 * h},
	}}
}

// Validate checks every severity has positive targets.
func (p *Policy) Validate() error {
	if p.WarningRatio == 0 {
		p.WarningRatio = 0.8
	}
	if p.WarningRatio <= 0 || p.WarningRatio >= 1 {
		return apperr.Invalid("policy.warning_ratio", "must be between 0 and 1").ZhReason("须在 0 到 1 之间")
	}
	seen := map[string]bool{}
	for i, t := range p.Targets {
		if !slices.Contains(severities, t.Severity) {
			return apperr.Invalid(fmt.Sprintf("policy.targets[%d].severity", i), "is required").ZhReason("为必填项")
		}
		if seen[t.Severity] {
			return apperr.Invalid(fmt.Sprintf("policy.targets[%d].severity", i), "listed twice").ZhReason("重复")
		}
		seen[t.Severity] = true
		if t.Response <= 0 || t.Resolution <= 0 {
			return apperr.Invalid(fmt.Sprintf("policy.targets[%d]", i), "response and resolution must be positive").ZhReason("响应与解决时限须大于 0")
		}
		if t.Response > t.Resolution {
			return apperr.Invalid(fmt.Sprintf("policy.targets[%d].response", i), "must not exceed the resolution target").ZhReason("不能超过解决时限")
		}
	}
	for _, s := range severities {
		if !seen[s] {
			return apperr.Invalid("policy.targets", "missing severity "+s).ZhReason("缺少严重度 " + s)
		}
	}
	return nil
}

// For returns the target of a severity.
func (p Policy) For(severity string) Target {
	for _, t := range p.Targets {
		if t.Severity == severity {
			return t
		}
	}
	return Target{Severity: severity}
}
