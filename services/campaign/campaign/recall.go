package campaign

import (
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/validate"
)

// This file is a recall's VIN list (召回): HQ (or a dealer) uploads it, each
// VIN's completion is tracked wherever it is repaired, and the dealer that
// owns an open VIN is given a callback task to chase it.

// Recall VIN states.
const (
	RecallOpen      = "open"
	RecallCompleted = "completed"
)

// RecallVIN is one VIN of a recall and where it stands.
type RecallVIN struct {
	VIN string
	// OwnerDealer is the dealer whose archive holds the vehicle (the last
	// visited one when several do), OwnerCustomer its archive id there;
	// empty when no archive knows the VIN.
	OwnerDealer, OwnerCustomer, Region string
	State                              string
	CompletedDealer, RepairOrder       string
	CompleteTime                       time.Time
	ChaseTask                          string
}

// maxEndReason is the longest reason the callback service's
// EndCallbackTask takes, in characters.
const maxEndReason = 500

// RecallChase is a chase task still to be ended: of a completed VIN, or
// of any VIN of a cancelled recall (Cancelled, with the recall's
// CancelReason).
type RecallChase struct {
	Owner, Campaign, VIN, OwnerDealer, Task string
	CompletedDealer, RepairOrder            string
	Cancelled                               bool
	CancelReason                            string
}

// TaskEnder ends a callback task the campaign opened (the callback
// channel). An error wrapping ErrPermanent means the task cannot be ended
// by any retry (gone, refused).
type TaskEnder interface {
	EndTask(ctx context.Context, dealer, task, reason string, at time.Time) error
}

// RecallTally is the completion of a set of a recall's VINs.
type RecallTally struct {
	Key, Region                                     string
	VINs, Completed, CompletedElsewhere, RepairedAt int64
}

// Rate is the completed share.
func (t RecallTally) Rate() float64 {
	if t.VINs == 0 {
		return 0
	}
	return float64(t.Completed) / float64(t.VINs)
}

// RecallCompletion is a recall's completion for the network, per region
// and per dealer (owning or repairing).
type RecallCompletion struct {
	Network RecallTally
	Regions []RecallTally
	Dealers []RecallTally
}

// RecallStore keeps recalls' VIN lists. Scoped methods run under row-level
// security; the workflow's run across dealers.
type RecallStore interface {
	// AddRecallVINs adds VINs not yet on the recall (existing ones keep
	// their state) and returns how many were new and the total.
	AddRecallVINs(ctx context.Context, scope Scope, owner, id string, vins []RecallVIN, now time.Time) (added, total int, err error)
	ListRecallVINs(ctx context.Context, scope Scope, owner, id, state, ownerDealer string, p Page) ([]RecallVIN, string, error)
	// RecallTallies counts per owning dealer (with its region) and the
	// repairs per repairing dealer.
	RecallTallies(ctx context.Context, scope Scope, owner, id string) (owned []RecallTally, repaired map[string]int64, err error)
	// CompleteRecallVIN completes vin, if open, on every recall not
	// cancelled whose code is code; it returns how many.
	CompleteRecallVIN(ctx context.Context, vin, code, dealer, repairOrder string, at time.Time) (int, error)
	// UnchasedRecallVINs lists open VINs with an owner and no chase task.
	UnchasedRecallVINs(ctx context.Context, owner, id string, limit int) ([]RecallVIN, error)
	SetChaseTask(ctx context.Context, owner, id, vin, task string) error
	// UnendedChases lists the chase tasks still to be ended (of completed
	// VINs, and of every VIN of a cancelled recall): of the recall (owner,
	// id) when id is set, else of vin on every recall.
	UnendedChases(ctx context.Context, owner, id, vin string, limit int) ([]RecallChase, error)
	// SetChaseEnded records that the VIN's chase task was ended.
	SetChaseEnded(ctx context.Context, owner, id, vin string, at time.Time) error
	OpenRecallVINs(ctx context.Context, owner, id string) (int64, error)
}

// MaxRecallCSVLines bounds one upload.
const MaxRecallCSVLines = MaxVINs

// ParseRecallCSV reads a VIN list: the first column of each line, an
// optional header naming it `vin`, blank lines skipped, VINs normalised and
// kept once. A bad line is EINVALID naming it (field `csv`, line n).
func ParseRecallCSV(text string) ([]string, error) {
	text = strings.TrimPrefix(text, "\ufeff") // a BOM from spreadsheet exports
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	var out []string
	seen := map[string]bool{}
	for first := true; ; first = false {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			line := 0
			if errors.As(err, &pe) {
				line, err = pe.StartLine, pe.Err
			}
			return nil, apperr.Invalid("csv", fmt.Sprintf("line %d: %v", line, err)).ZhReason(fmt.Sprintf("第 %d 行无法解析", line))
		}
		line, _ := r.FieldPos(0)
		cell := strings.TrimSpace(rec[0])
		if cell == "" && len(rec) == 1 {
			continue
		}
		if first && strings.EqualFold(cell, "vin") {
			continue
		}
		vin, err := validate.VIN(cell)
		if err != nil {
			return nil, apperr.Invalid("csv", fmt.Sprintf("line %d: VIN %q %v", line, cell, err)).ZhReason(fmt.Sprintf("第 %d 行 VIN 无效", line))
		}
		if !seen[vin] {
			seen[vin] = true
			out = append(out, vin)
		}
		if len(out) > MaxRecallCSVLines {
			return nil, apperr.Invalid("csv", fmt.Sprintf("at most %d VINs", MaxRecallCSVLines)).ZhReason(fmt.Sprintf("最多 %d 个 VIN", MaxRecallCSVLines))
		}
	}
	if len(out) == 0 {
		return nil, apperr.Invalid("csv", "holds no VIN").ZhReason("没有 VIN")
	}
	return out, nil
}

// ImportResult is what an upload did.
type ImportResult struct{ Read, Added, Total, Unknown int }

// recall loads owner's campaign id for a caller allowed to read it (write:
// to change it). Another kind of campaign has an empty VIN list.
func (s *Service) recall(ctx context.Context, owner, id string, write bool) (*Campaign, Scope, error) {
	access := s.reader
	if write {
		access = s.writer
	}
	_, scope, err := access(ctx, owner)
	if err != nil {
		return nil, Scope{}, err
	}
	c, err := s.store.Get(ctx, scope, owner, id)
	if err != nil {
		return nil, Scope{}, err
	}
	return c, scope, nil
}

// ImportRecallVINs adds a CSV VIN list to a recall that has not ended.
// While the recall is a draft, the VINs also join its audience (their
// customers get its message); later additions are tracked and chased.
// The campaign is checked before the file, so a caller who may not see it
// learns nothing from its errors. Errors: ENOTFOUND, EFORBIDDEN, ECONFLICT
// (not a recall, or ended), EINVALID (the file).
func (s *Service) ImportRecallVINs(ctx context.Context, owner, id, text string) (ImportResult, error) {
	c, scope, err := s.recall(ctx, owner, id, true)
	if err != nil {
		return ImportResult{}, err
	}
	if c.Kind != KindRecall {
		return ImportResult{}, apperr.Errorf(apperr.ECONFLICT, "campaign %s is a %s campaign, not a recall", id, c.Kind).
			Zh(fmt.Sprintf("活动 %s 不是召回活动", id))
	}
	vins, err := ParseRecallCSV(text)
	if err != nil {
		return ImportResult{}, err
	}
	if c.State == StateCancelled || c.State == StateCompleted {
		return ImportResult{}, conflict(c, "import VINs into")
	}
	if c.State == StateDraft {
		merged := slices.Clone(c.Audience.VINs)
		for _, v := range vins {
			if !slices.Contains(c.Audience.VINs, v) {
				merged = append(merged, v)
			}
		}
		if len(merged) > MaxVINs {
			return ImportResult{}, apperr.Invalid("csv", fmt.Sprintf("the recall would hold %d VINs, at most %d", len(merged), MaxVINs)).
				ZhReason(fmt.Sprintf("最多 %d 个 VIN", MaxVINs))
		}
		if len(merged) > len(c.Audience.VINs) {
			if _, err := s.store.Update(ctx, scope, owner, id, func(cur *Campaign) error {
				return cur.Update(s.now(), func(n *Campaign) { n.Audience.VINs = merged })
			}); err != nil {
				return ImportResult{}, err
			}
		}
	}
	res, err := s.trackRecallVINs(ctx, scope, c, vins)
	res.Read = len(vins)
	return res, err
}

// trackRecallVINs resolves the VINs' owning dealers through the archive and
// adds them to the recall's list.
func (s *Service) trackRecallVINs(ctx context.Context, scope Scope, c *Campaign, vins []string) (ImportResult, error) {
	owners, err := s.vinOwners(ctx, vins)
	if err != nil {
		return ImportResult{}, err
	}
	regions, err := s.dir.Regions(ctx)
	if err != nil {
		return ImportResult{}, err
	}
	rows := make([]RecallVIN, len(vins))
	unknown := 0
	for i, v := range vins {
		o := owners[v]
		if o.Dealer == "" {
			unknown++
		}
		rows[i] = RecallVIN{VIN: v, OwnerDealer: o.Dealer, OwnerCustomer: o.Customer, Region: regions[o.Dealer], State: RecallOpen}
	}
	added, total, err := s.store.AddRecallVINs(ctx, scope, c.Owner, c.ID, rows, s.now())
	if err != nil {
		return ImportResult{}, err
	}
	return ImportResult{Added: added, Total: total, Unknown: unknown}, nil
}

// vinOwners finds, for each VIN, the archive that holds it: of several
// dealers' archives, the one whose customer last visited.
func (s *Service) vinOwners(ctx context.Context, vins []string) (map[string]Contact, error) {
	dealers, err := s.dir.Dealers(ctx, nil, nil)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Contact, len(vins))
	for chunk := range slices.Chunk(vins, 2000) {
		after := ""
		for {
			members, next, err := s.dir.Members(ctx, dealers, Audience{VINs: chunk}, s.now(), after, AudiencePage)
			if err != nil {
				return nil, err
			}
			for _, m := range members {
				cur, ok := out[m.VIN]
				if !ok || m.LastVisit.After(cur.LastVisit) ||
					m.LastVisit.Equal(cur.LastVisit) && cmp.Compare(m.Dealer+"/"+m.Customer, cur.Dealer+"/"+cur.Customer) < 0 {
					out[m.VIN] = m
				}
			}
			if next == "" {
				break
			}
			after = next
		}
	}
	return out, nil
}

// RecallVINs lists a recall's VINs (state and ownerDealer filter).
func (s *Service) RecallVINs(ctx context.Context, owner, id, state, ownerDealer string, p Page) ([]RecallVIN, string, error) {
	if state != "" && state != RecallOpen && state != RecallCompleted {
		return nil, "", apperr.Invalid("state", "must be open or completed").ZhReason("须为 open 或 completed")
	}
	c, scope, err := s.recall(ctx, owner, id, false)
	if err != nil {
		return nil, "", err
	}
	return s.store.ListRecallVINs(ctx, scope, c.Owner, c.ID, state, ownerDealer, p)
}

// RecallCompletion is the recall's completion per dealer, region and for
// the network. A dealer's figures are of the VINs it owns, plus the
// repairs it did of anyone's.
func (s *Service) RecallCompletion(ctx context.Context, owner, id string) (*RecallCompletion, error) {
	c, scope, err := s.recall(ctx, owner, id, false)
	if err != nil {
		return nil, err
	}
	owned, repaired, err := s.store.RecallTallies(ctx, scope, c.Owner, c.ID)
	if err != nil {
		return nil, err
	}
	regionOf, err := s.dir.Regions(ctx)
	if err != nil {
		return nil, err
	}
	out := &RecallCompletion{}
	dealers := map[string]*RecallTally{}
	regions := map[string]*RecallTally{}
	for _, t := range owned {
		out.Network.VINs += t.VINs
		out.Network.Completed += t.Completed
		out.Network.CompletedElsewhere += t.CompletedElsewhere
		if t.Key == "" {
			continue // VINs no archive knows: the network's only
		}
		d := t
		dealers[t.Key] = &d
		r := regions[t.Region]
		if r == nil {
			r = &RecallTally{Key: t.Region}
			regions[t.Region] = r
		}
		r.VINs += t.VINs
		r.Completed += t.Completed
		r.CompletedElsewhere += t.CompletedElsewhere
	}
	for dealer, n := range repaired {
		out.Network.RepairedAt += n
		d := dealers[dealer]
		if d == nil {
			d = &RecallTally{Key: dealer, Region: regionOf[dealer]}
			dealers[dealer] = d
		}
		d.RepairedAt += n
		if r := regions[d.Region]; r != nil {
			r.RepairedAt += n
		} else {
			regions[d.Region] = &RecallTally{Key: d.Region, RepairedAt: n}
		}
	}
	for _, d := range dealers {
		out.Dealers = append(out.Dealers, *d)
	}
	for _, r := range regions {
		out.Regions = append(out.Regions, *r)
	}
	byKey := func(a, b RecallTally) int { return cmp.Compare(a.Key, b.Key) }
	slices.SortFunc(out.Dealers, byKey)
	slices.SortFunc(out.Regions, byKey)
	return out, nil
}

// RecordRecallRepair completes vin on the recalls whose code a recall-type
// repair order at dealer quoted (the vehicle workflow, idempotent).
func (s *Service) RecordRecallRepair(ctx context.Context, vin, dealer, repairOrder, code string, at time.Time) (int, error) {
	v, err := validate.VIN(vin)
	if err != nil {
		return 0, apperr.Invalid("vin", err.Error()).ZhReason("VIN 无效")
	}
	if strings.TrimSpace(code) == "" {
		return 0, apperr.Invalid("campaign_code", "is required").ZhReason("必填")
	}
	n, err := s.store.CompleteRecallVIN(ctx, v, strings.TrimSpace(code), dealer, repairOrder, at.UTC())
	if err != nil {
		return 0, err
	}
	// The owning dealer stops chasing a VIN repaired anywhere. A retry
	// (the completion already stored) ends what the last call left.
	return n, s.endChases(ctx, "", "", v)
}

// endChases ends, through the callback service, the chase task of each
// completed VIN that still has one open (of the recall, or of vin), and
// records each end, so every task is ended once however often this runs.
func (s *Service) endChases(ctx context.Context, owner, id, vin string) error {
	ender, ok := s.senders[ChannelCallback].(TaskEnder)
	if !ok {
		return nil // no callback channel: no chase task was opened
	}
	_, err := eachChasePage(func() ([]RecallChase, error) { return s.store.UnendedChases(ctx, owner, id, vin, chasePage) },
		func(c RecallChase) error {
			reason := fmt.Sprintf("召回已完成：%s 维修工单 %s（recall completed at %s, repair order %s）",
				c.CompletedDealer, c.RepairOrder, c.CompletedDealer, c.RepairOrder)
			if c.Cancelled && c.RepairOrder == "" {
				reason = "召回已取消（recall cancelled）"
				if c.CancelReason != "" {
					reason += "：" + c.CancelReason
				}
				// The callback service takes 500 characters and refuses
				// more, which would count here as a task ended for good.
				if r := []rune(reason); len(r) > maxEndReason {
					reason = string(r[:maxEndReason-1]) + "…"
				}
			}
			if err := ender.EndTask(ctx, c.OwnerDealer, c.Task, reason, s.now()); err != nil && !errors.Is(err, ErrPermanent) {
				return err
			}
			return s.store.SetChaseEnded(ctx, c.Owner, c.Campaign, c.VIN, s.now())
		})
	return err
}

// chasePage is how many VINs one pass of the chase takes.
const chasePage = 200

// eachChasePage runs do on every item page lists, chasePage at a time,
// until a page comes back short: do takes its item off the list, so each
// page lists what is left. It returns how many items were done.
func eachChasePage[T any](page func() ([]T, error), do func(T) error) (int, error) {
	done := 0
	for {
		items, err := page()
		if err != nil {
			return done, err
		}
		for _, it := range items {
			if err := do(it); err != nil {
				return done, err
			}
			done++
		}
		if len(items) < chasePage {
			return done, nil
		}
	}
}

// ChaseRecall opens a callback task at the owning dealer of each open VIN
// that has none yet, through the callback channel, whose task is unique
// per source: a repeat after a crash finds the task it made. Then it ends
// the chase tasks of VINs completed since (a repair that raced the chase,
// or whose end failed). It returns the tasks opened and the VINs still
// open. A cancelled recall opens nothing: its chase tasks still open are
// ended instead, each once (the campaign workflow calls this when the
// recall is cancelled, and retries until every one is ended).
func (s *Service) ChaseRecall(ctx context.Context, owner, id string) (opened int, open int64, err error) {
	c, err := s.store.Get(ctx, all, owner, id)
	if err != nil {
		return 0, 0, err
	}
	if c.Kind != KindRecall {
		return 0, 0, nil
	}
	if c.State == StateCancelled {
		return 0, 0, s.endChases(ctx, owner, id, "")
	}
	sender := s.senders[ChannelCallback]
	if sender == nil {
		return 0, 0, apperr.Errorf(apperr.EINTERNAL, "no callback channel configured")
	}
	opened, err = eachChasePage(func() ([]RecallVIN, error) { return s.store.UnchasedRecallVINs(ctx, owner, id, chasePage) },
		func(v RecallVIN) error {
			task, err := sender.Send(ctx, Message{ID: ChaseID(c.ID, v.VIN), Campaign: c.ID, Owner: c.Owner, Kind: c.Kind,
				Channel: ChannelCallback, Dealer: v.OwnerDealer, Customer: v.OwnerCustomer, VIN: v.VIN})
			if errors.Is(err, ErrPermanent) {
				task = "refused" // the callback service will not take it; not retried
			} else if err != nil {
				return err
			}
			return s.store.SetChaseTask(ctx, owner, id, v.VIN, task)
		})
	if err != nil {
		return opened, 0, err
	}
	if err := s.endChases(ctx, owner, id, ""); err != nil {
		return opened, 0, err
	}
	open, err = s.store.OpenRecallVINs(ctx, owner, id)
	return opened, open, err
}

// ChaseID is the source id of the chase task of a recall's VIN.
func ChaseID(campaign, vin string) string { return MessageID(campaign, "recall-chase", vin) }
