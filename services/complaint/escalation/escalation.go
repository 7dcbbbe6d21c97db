// Package escalation is where a complaint escalates, to whom, and when
// (SPEC "complaint"): the ladder L0 assignee → L1 dealer CS manager → L2
// dealer GM → L3 region manager → L4 HQ after-sales, who each level
// notifies and what the notice says, the first-response and resolution
// clocks counted in the owning dealer's business time, the warnings and
// breaches they reach, the deadlines they show, and what each clock event
// does to the complaint.
//
// Where a complaint escalates to L2 and who is notified: a breach of the
// first resolution target (ladder.go: the k-th resolution breach raises to
// L1+k) raises it to LevelDealerGM, and RecipientRole(2) is the dealer GM.
//
// It is pure: no clock, no I/O, no Temporal, so it is deterministic as
// workflow code must be. The escalation workflow (workflows/complaint)
// decides only when: it keeps a Clock, moves it with Advance, waits for
// Next and records what Reach returns. The complaint service applies a
// recorded event with OnClockEvent, and the store writes the result.
package escalation

import (
	"fmt"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
)

// Levels of the ladder.
const (
	LevelAssignee       = 0
	LevelDealerManager  = 1
	LevelDealerGM       = 2
	LevelRegionManager  = 3
	LevelHQ             = 4
	LevelResponseBreach = LevelDealerManager
	// MaxLevel is HQ after-sales, the top of the ladder.
	MaxLevel = LevelHQ
	// ResolutionBreaches is how many multiples of the resolution target
	// breach: the k-th raises to L1+k, so the third reaches MaxLevel.
	ResolutionBreaches = MaxLevel - LevelResponseBreach
)

// RecipientRole is who a complaint at level notifies: the role on the
// hook at that level.
func RecipientRole(level int) string {
	switch level {
	case LevelAssignee:
		return string(auth.RoleAgent)
	case LevelDealerManager:
		return string(auth.RoleDealerManager)
	case LevelDealerGM:
		return string(auth.RoleDealerGM)
	case LevelRegionManager:
		return string(auth.RoleRegionManager)
	}
	return string(auth.RoleHQAdmin)
}

// Raise returns the level after a breach of breachLevel (or an event
// reporting breachLevel): at least both, at most MaxLevel. Breaches never
// lower a level a manual escalation set.
func Raise(level, breachLevel int) int {
	return min(max(level, breachLevel), MaxLevel)
}

// EscalatedKey is the idempotency key of the escalation to level, e.g.
// "escalated/L2": each level is notified once per complaint.
func EscalatedKey(level int) string {
	return fmt.Sprintf("%s/L%d", KindEscalated, level)
}

// ByCustomer is the customer's own escalation (客户手动上报): one level up
// at once from level. ECONFLICT at the top of the ladder.
func ByCustomer(level int) (int, error) {
	if level >= MaxLevel {
		return level, apperr.Errorf(apperr.ECONFLICT, "the complaint is already at HQ (level %d)", MaxLevel).Zh("投诉已升级至总部（L4）")
	}
	return level + 1, nil
}

// ByCustomerWhy is what the notice of a customer's escalation says.
const ByCustomerWhy = "escalated by the customer"

// ByCustomerDetail is the timeline entry of a customer's escalation to
// level, with the handler's note.
func ByCustomerDetail(level int, note string) string {
	return fmt.Sprintf("customer escalation to L%d: %s", level, note)
}

// Subject is what a notice says of its complaint.
type Subject struct {
	Complaint, Severity, Category string
	Level                         int
}

// Notice is a notification to the role on the hook at a level.
type Notice struct {
	Role    string
	Level   int
	Message string
}

// NoticeOf is the notification about s to the role on the hook at its
// level, saying why.
func NoticeOf(s Subject, why string) Notice {
	return Notice{Role: RecipientRole(s.Level), Level: s.Level,
		Message: fmt.Sprintf("complaint %s (%s, %s) is at level L%d: %s", s.Complaint, s.Severity, s.Category, s.Level, why)}
}
