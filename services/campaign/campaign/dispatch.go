package campaign

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
)

// This file is the sending half the campaign's workflow drives. Each call
// is idempotent and works across dealers as the service.

// all is the service's scope for the workflow's calls.
var all = Scope{All: true}

// AudiencePage is how many members one StartPage call resolves.
const AudiencePage = 5000

// StartPage moves a scheduled campaign to running (once) and resolves one
// page of its audience into recipients; done reports the audience
// complete. Recipients are keyed by (campaign, dealer, customer), so a
// repeated page adds nobody twice.
func (s *Service) StartPage(ctx context.Context, owner, id string) (c *Campaign, targeted int64, done bool, err error) {
	c, err = s.store.Update(ctx, all, owner, id, func(c *Campaign) error {
		_, err := c.Start(s.now())
		return err
	})
	if err != nil {
		if apperr.Code(err) == apperr.ECONFLICT {
			if cur, gerr := s.store.Get(ctx, all, owner, id); gerr == nil {
				return cur, 0, true, err
			}
		}
		return nil, 0, false, err
	}
	cursor, resolved, err := s.store.Resolution(ctx, owner, id)
	if err != nil {
		return nil, 0, false, err
	}
	if resolved {
		st, err := s.store.Stats(ctx, all, owner, id)
		return c, st.Targeted, true, err
	}
	dealers, err := s.audienceDealers(ctx, c)
	if err != nil {
		return nil, 0, false, err
	}
	members, next, err := s.dir.Members(ctx, dealers, c.Audience, c.StartTime, cursor, AudiencePage)
	if err != nil {
		return nil, 0, false, err
	}
	rs := make([]Recipient, 0, len(members))
	for _, m := range members {
		rs = append(rs, Recipient{Owner: owner, Campaign: id, Dealer: m.Dealer, Customer: m.Customer, VIN: m.VIN,
			State: RecipientPending, NextAttemptTime: c.Audience.SendTime(m.TimeZone, c.StartTime)})
	}
	targeted, err = s.store.AddRecipients(ctx, owner, id, rs, next, next == "")
	return c, targeted, next == "", err
}

// Batch is what one DispatchBatch did.
type Batch struct {
	Sent, Suppressed, Failed int
	Remaining                int64
	NextDue                  time.Time
	Cancelled                bool
}

// Dispatch claims up to limit due recipients and sends them, in three
// steps that make a crash at any point harmless:
//
//  1. Claim: the rows become "sending" until now+Lease (a dead sender's
//     rows come back once the lease ends).
//  2. Decide and record: the rules run on the archive's current consents
//     and the opt-outs; suppressions and quiet-hour deferrals are written,
//     and each message to send is written with its id (MessageID) before
//     it leaves.
//  3. Send with the message id as the provider's idempotency key, then
//     mark sent. A crash between send and mark leaves the row claimed with
//     its message id; the next claim resends the same id and the provider
//     answers with the message it already has, so the customer gets one.
func (s *Service) Dispatch(ctx context.Context, owner, id string, limit int) (Batch, error) {
	if limit <= 0 {
		limit = 200
	}
	c, err := s.store.Get(ctx, all, owner, id)
	if err != nil {
		return Batch{}, err
	}
	switch c.State {
	case StateCancelled:
		if err := s.store.SuppressRemaining(ctx, owner, id, SuppressCancelled); err != nil {
			return Batch{}, err
		}
		return Batch{Cancelled: true}, nil
	case StateRunning:
	default:
		return Batch{}, apperr.Errorf(apperr.ECONFLICT, "campaign %s is %s, not running", id, c.State)
	}
	policy, err := s.store.Policy(ctx)
	if err != nil {
		return Batch{}, err
	}
	now := s.now()
	claimed, err := s.store.Claim(ctx, owner, id, limit, now, s.Lease)
	if err != nil {
		return Batch{}, err
	}
	var b Batch
	if len(claimed) > 0 {
		if b, err = s.dispatch(ctx, c, policy, claimed, now); err != nil {
			return Batch{}, err
		}
	}
	b.Remaining, b.NextDue, err = s.store.Remaining(ctx, owner, id)
	if !b.NextDue.After(s.now()) {
		b.NextDue = time.Time{}
	}
	return b, err
}

func (s *Service) dispatch(ctx context.Context, c *Campaign, policy Policy, claimed []Recipient, now time.Time) (Batch, error) {
	refs := make([]CustomerRef, len(claimed))
	byDealer := map[string][]string{}
	for i, r := range claimed {
		refs[i] = CustomerRef{r.Dealer, r.Customer}
		byDealer[r.Dealer] = append(byDealer[r.Dealer], r.Customer)
	}
	contacts := map[CustomerRef]Contact{}
	dealers := make([]string, 0, len(byDealer))
	for d := range byDealer {
		dealers = append(dealers, d)
	}
	slices.Sort(dealers)
	for _, d := range dealers {
		cs, err := s.dir.Contacts(ctx, d, byDealer[d])
		if err != nil {
			return Batch{}, fmt.Errorf("load contacts of %d customers at %s: %w", len(byDealer[d]), d, err)
		}
		for _, ct := range cs {
			ct.Found = true
			contacts[CustomerRef{ct.Dealer, ct.Customer}] = ct
		}
	}
	optOuts, err := s.store.OptOuts(ctx, refs)
	if err != nil {
		return Batch{}, err
	}
	// Each customer's messages obey their dealer's policy: HQ's with the
	// dealer's overrides.
	overrides, err := s.store.DealerPolicies(ctx, all, dealers)
	if err != nil {
		return Batch{}, err
	}
	policyOf := func(dealer string) Policy { return overrides[dealer].Apply(policy) }
	byWindow := map[time.Duration][]CustomerRef{}
	for _, ref := range refs {
		w := policyOf(ref.Dealer).FrequencyWindow
		byWindow[w] = append(byWindow[w], ref)
	}
	recent := map[CustomerRef]int{}
	for w, group := range byWindow {
		counts, err := s.store.RecentMarketing(ctx, c.ID, group, now.Add(-w))
		if err != nil {
			return Batch{}, err
		}
		maps.Copy(recent, counts)
	}

	var b Batch
	outcomes := make([]Outcome, 0, len(claimed))
	var toSend []Message
	sendable := map[string]Recipient{}
	for _, r := range claimed {
		ref := CustomerRef{r.Dealer, r.Customer}
		ct := contacts[ref]
		var d Decision
		if r.MessageID != "" {
			// Decided before a crash: only the quiet hours are judged again,
			// the rest was settled when its message was recorded.
			d, err = resendDecision(c, policyOf(r.Dealer), ct, r, now)
		} else {
			d, err = Decide(c, policyOf(r.Dealer), ct, optOuts[ref], recent[ref], now)
		}
		if err != nil {
			return Batch{}, err
		}
		if d.Channel != "" {
			r.Channel = d.Channel
			r.MessageID = MessageID(c.ID, r.Dealer, r.Customer)
			toSend = append(toSend, c.message(r, ct))
			sendable[r.MessageID] = r
		} else if d.Suppress != "" {
			b.Suppressed++
		}
		outcomes = append(outcomes, Outcome{Recipient: r, Decision: d})
	}
	if err := s.store.Decide(ctx, c, outcomes, !c.Kind.CapExempt(policy), now); err != nil {
		return Batch{}, err
	}

	results := make([]SendResult, len(toSend))
	sem := make(chan struct{}, max(1, s.SendConcurrency))
	var wg sync.WaitGroup
	for i, m := range toSend {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			res := SendResult{Recipient: sendable[m.ID]}
			sender := s.senders[m.Channel]
			if sender == nil {
				res.Err, res.Permanent = fmt.Errorf("no provider configured for channel %s", m.Channel), true
			} else {
				res.ProviderID, res.Err = sender.Send(ctx, m)
				res.Permanent = errors.Is(res.Err, ErrPermanent)
			}
			results[i] = res
		}()
	}
	wg.Wait()
	var transient error
	for _, r := range results {
		switch {
		case r.Err == nil:
			b.Sent++
		case r.Permanent:
			b.Failed++
		default:
			transient = r.Err
		}
	}
	if err := s.store.MarkSent(ctx, c.Owner, c.ID, results, s.now()); err != nil {
		return Batch{}, err
	}
	if transient != nil && b.Sent == 0 {
		// Nothing got through: the provider is down. The claimed rows come
		// back after the lease; tell the workflow to back off.
		return b, apperr.Errorf(apperr.EUNAVAILABLE, "provider unavailable: %v", transient)
	}
	return b, nil
}

// resendDecision judges a recipient whose message was recorded before a
// crash: it goes again (same id) unless its quiet hours began meanwhile.
func resendDecision(c *Campaign, policy Policy, ct Contact, r Recipient, now time.Time) (Decision, error) {
	if r.Channel == ChannelCallback {
		return Decision{Channel: r.Channel}, nil
	}
	probe := Campaign{Channels: []Channel{r.Channel}, Kind: c.Kind}
	ct.Found = true
	ct.Consents = map[string]bool{r.Channel.ConsentChannel(): true}
	d, err := Decide(&probe, Policy{QuietStart: policy.QuietStart, QuietEnd: policy.QuietEnd}, ct, nil, 0, now)
	if err != nil {
		return Decision{}, err
	}
	if d.Channel == "" && d.NotBefore.IsZero() {
		// The address disappeared from the archive: the recorded message
		// still goes to the provider, which has it or takes it now.
		return Decision{Channel: r.Channel}, nil
	}
	return d, nil
}

// message renders the message for a recipient.
func (c *Campaign) message(r Recipient, ct Contact) Message {
	vars := c.Vars(ct)
	m := Message{ID: r.MessageID, Campaign: c.ID, Owner: c.Owner, Kind: c.Kind, Channel: r.Channel, Dealer: r.Dealer, Customer: r.Customer, VIN: r.VIN,
		Title: Render(c.Template.Title, vars), Body: Render(c.Template.Body, vars)}
	switch r.Channel {
	case ChannelSMS:
		m.To = ct.Mobile
	case ChannelEmail:
		m.To = ct.Email
	case ChannelWeChat:
		m.To = ct.WeChatOpenID
		if m.To == "" {
			m.To = r.Customer
		}
	case ChannelCallback:
		m.To = r.Customer
	}
	return m
}

// Reconcile records the campaign's returns: for recipients with a VIN, the
// first repair order opened at any dealer within [start, start+window)
// (for a recall, the recall-type one quoting the campaign's code). It
// returns the returned count and the window's end.
func (s *Service) Reconcile(ctx context.Context, owner, id string) (int64, time.Time, error) {
	c, err := s.store.Get(ctx, all, owner, id)
	if err != nil {
		return 0, time.Time{}, err
	}
	end := c.StartTime.Add(c.ReturnWindow)
	if c.StartTime.IsZero() {
		return 0, end, nil
	}
	after := ""
	for {
		rs, err := s.store.ReturnCandidates(ctx, owner, id, after, 2000)
		if err != nil {
			return 0, end, err
		}
		if len(rs) == 0 {
			break
		}
		after = rs[len(rs)-1].Dealer + "/" + rs[len(rs)-1].Customer
		vins := make([]string, 0, len(rs))
		for _, r := range rs {
			vins = append(vins, r.VIN)
		}
		visits, err := s.dir.Visits(ctx, vins, c.StartTime, end)
		if err != nil {
			return 0, end, err
		}
		first := map[string]Visit{}
		for _, v := range visits {
			if c.Kind == KindRecall && (v.Type != "recall" || v.CampaignCode != c.Code) {
				continue
			}
			if f, ok := first[v.VIN]; !ok || v.OpenTime.Before(f.OpenTime) {
				first[v.VIN] = v
			}
		}
		var returned []Recipient
		for _, r := range rs {
			if v, ok := first[r.VIN]; ok {
				r.ReturnTime, r.ReturnDealer = v.OpenTime, v.Dealer
				returned = append(returned, r)
			}
		}
		if err := s.store.MarkReturned(ctx, owner, id, returned); err != nil {
			return 0, end, err
		}
		if len(rs) < 2000 {
			break
		}
	}
	st, err := s.store.Stats(ctx, all, owner, id)
	return st.Returned, end, err
}

// Complete moves a running campaign to completed (once).
func (s *Service) Complete(ctx context.Context, owner, id string) (*Campaign, error) {
	return s.store.Update(ctx, all, owner, id, func(c *Campaign) error {
		_, err := c.Complete(s.now())
		return err
	})
}

// Receipts records a provider's batch of delivery receipts at once (one
// statement, not one transaction per message: a campaign's receipts come
// back as fast as it sends). A message's latest receipt wins, within the
// batch and against what is recorded. It returns how many of the messages
// are known; a bad status is EINVALID naming the receipt, and records
// nothing.
func (s *Service) Receipts(ctx context.Context, rs []Receipt) (int, error) {
	latest := make(map[string]int, len(rs))
	batch := make([]Receipt, 0, len(rs))
	for i, r := range rs {
		if !slices.Contains([]string{DeliveryAccepted, DeliveryDelivered, DeliveryUndelivered}, r.Delivery) {
			return 0, apperr.Invalid(fmt.Sprintf("receipts[%d].status", i), "must be accepted, delivered or undelivered").
				ZhReason("须为 accepted、delivered 或 undelivered")
		}
		if j, ok := latest[r.MessageID]; ok {
			if !r.Time.Before(batch[j].Time) {
				batch[j] = r
			}
			continue
		}
		latest[r.MessageID] = len(batch)
		batch = append(batch, r)
	}
	if len(batch) == 0 {
		return 0, nil
	}
	return s.store.RecordReceipts(ctx, batch)
}
