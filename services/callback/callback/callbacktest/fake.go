// Package callbacktest holds the callback.Store contract, which every
// store must pass (the PostgreSQL adapter and Fake), and Fake, an
// in-memory store for service and handler tests.
package callbacktest

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/outbox"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/validate"
	"github.com/dealercare/dealercare/services/callback/callback"
)

// Fake is an in-memory callback.Store. It keeps the scope rules (a task is
// visible and written only in a scope holding its dealer) and the order
// and paging of lists, and records the workflow events it is given
// (Events) where the PostgreSQL store writes its outbox.
type Fake struct {
	mu             sync.Mutex
	tasks          map[string]callback.Task // by id
	agents         map[string][]fakeAgent   // by dealer, in rotation order
	rotation       map[string]int           // dealer → last position given a task
	policies       map[string]callback.Policy
	questionnaires []callback.Questionnaire
	dealerQs       map[string][][]callback.Question // dealer/kind → versions
	events         []callback.WorkflowEvent
}

type fakeAgent struct {
	callback.Agent
	position int
	active   bool
}

var _ callback.Store = (*Fake)(nil)

// NewFake returns an empty store.
func NewFake() *Fake {
	return &Fake{tasks: map[string]callback.Task{}, agents: map[string][]fakeAgent{}, rotation: map[string]int{},
		policies: map[string]callback.Policy{}, dealerQs: map[string][][]callback.Question{}}
}

// Events returns the workflow events the updates wrote, oldest first.
func (f *Fake) Events() []callback.WorkflowEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.events)
}

func inScope(scope pg.Scope, dealer string) bool {
	return scope.All() || slices.Contains(scope.DealerCodes(), dealer)
}

func notFound(id string) error { return apperr.NotFound("callback task", "回访任务", id) }

// copyTask is t with its own slices, as a fresh read would be.
func copyTask(t callback.Task) *callback.Task {
	t.Attempts, t.Answers = slices.Clone(t.Attempts), slices.Clone(t.Answers)
	if t.Questionnaire != nil {
		q := *t.Questionnaire
		q.Questions = slices.Clone(q.Questions)
		t.Questionnaire = &q
	}
	return &t
}

// current is HQ's newest questionnaire of kind followed by dealer's
// newest questions (none for dealer "").
func (f *Fake) current(dealer, kind string) (*callback.Questionnaire, error) {
	var hq *callback.Questionnaire
	for i := range f.questionnaires {
		if q := &f.questionnaires[i]; q.Kind == kind && (hq == nil || q.Version > hq.Version) {
			hq = q
		}
	}
	if hq == nil {
		return nil, apperr.NotFound("questionnaire", "问卷", kind)
	}
	return f.questionnaire(hq.ID, dealer, len(f.dealerQs[dealer+"/"+kind]))
}

func (f *Fake) questionnaire(id, dealer string, dealerVersion int) (*callback.Questionnaire, error) {
	for _, q := range f.questionnaires {
		if q.ID != id {
			continue
		}
		q.Questions = slices.Clone(q.Questions)
		if dealer != "" {
			q.Dealer = dealer
		}
		if dealerVersion > 0 {
			q.Questions = append(q.Questions, f.dealerQs[dealer+"/"+q.Kind][dealerVersion-1]...)
			q.DealerVersion = dealerVersion
		}
		return &q, nil
	}
	return nil, fmt.Errorf("questionnaire %s not found", id)
}

// Ensure implements callback.Store.
func (f *Fake) Ensure(_ context.Context, t *callback.Task) (*callback.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, old := range f.tasks {
		if old.Dealer == t.Dealer && old.Kind == t.Kind && old.SourceID == t.SourceID {
			return copyTask(old), nil
		}
	}
	q, err := f.current(t.Dealer, t.Kind)
	if apperr.Code(err) == apperr.ENOTFOUND {
		return nil, apperr.Errorf(apperr.EFAILEDPRECOND, "HQ has no questionnaire for %s callbacks", t.Kind).Zh("总部尚未发布 " + t.Kind + " 回访问卷")
	}
	if err != nil {
		return nil, err
	}
	n := *copyTask(*t)
	n.ID, n.QuestionnaireID, n.DealerVersion, n.Questionnaire, n.UpdateTime = outbox.NewID(), q.ID, q.DealerVersion, q, n.CreateTime
	if n.Status == callback.StatusPending {
		n.Assignee = f.nextAgent(n.Dealer)
	}
	f.tasks[n.ID] = n
	return copyTask(n), nil
}

// nextAgent advances dealer's rotation to its next active agent.
func (f *Fake) nextAgent(dealer string) string {
	var next *fakeAgent
	for i := range f.agents[dealer] {
		a := &f.agents[dealer][i]
		if !a.active {
			continue
		}
		after := a.position > f.rotation[dealer]
		if next == nil || (after && next.position <= f.rotation[dealer]) {
			next = a
		}
		if after {
			break
		}
	}
	if next == nil {
		return ""
	}
	f.rotation[dealer] = next.position
	return next.Subject
}

func (f *Fake) get(scope pg.Scope, dealer, id string) (callback.Task, error) {
	t, ok := f.tasks[id]
	if !validate.IsUUID(id) || !ok || t.Dealer != dealer || !inScope(scope, dealer) {
		return callback.Task{}, notFound(id)
	}
	return t, nil
}

// Get implements callback.Store.
func (f *Fake) Get(_ context.Context, scope pg.Scope, dealer, id string) (*callback.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, err := f.get(scope, dealer, id)
	if err != nil {
		return nil, err
	}
	return copyTask(t), nil
}

// Update implements callback.Store.
func (f *Fake) Update(_ context.Context, scope pg.Scope, dealer, id string, at time.Time, fn func(*callback.Task) (callback.Change, error)) (*callback.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	stored, err := f.get(scope, dealer, id)
	if err != nil {
		return nil, err
	}
	t := copyTask(stored)
	ch, err := fn(t)
	if err != nil {
		return nil, err
	}
	if ch.Kind == callback.ChangeNone {
		return copyTask(stored), nil
	}
	t.UpdateTime = at
	// What the columns hold: the fields fixed at creation stay as stored.
	t.ID, t.Dealer, t.Kind, t.SourceType, t.SourceID, t.WorkflowID = stored.ID, stored.Dealer, stored.Kind, stored.SourceType, stored.SourceID, stored.WorkflowID
	t.Customer, t.VIN, t.RepairOrderNumber, t.DueTime, t.Deadline = stored.Customer, stored.VIN, stored.RepairOrderNumber, stored.DueTime, stored.Deadline
	t.QuestionnaireID, t.DealerVersion, t.FeedbackRole, t.CreateTime, t.Questionnaire = stored.QuestionnaireID, stored.DealerVersion, stored.FeedbackRole, stored.CreateTime, stored.Questionnaire
	// Attempts are rows of their own: only ChangeAttempted adds one, the
	// task's last.
	attempts := slices.Clone(stored.Attempts)
	if ch.Kind == callback.ChangeAttempted && len(t.Attempts) > 0 {
		attempts = append(attempts, t.Attempts[len(t.Attempts)-1])
	}
	t.Attempts = attempts
	f.tasks[id] = *t
	if ch.Event != nil {
		f.events = append(f.events, *ch.Event)
	}
	return copyTask(*t), nil
}

// listKey is a task's place in a list: next attempt (unplanned last), due
// time, id.
type listKey struct {
	next, due time.Time
	id        string
}

var unplanned = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

func keyOf(t callback.Task) listKey {
	next := t.NextAttemptTime
	if next.IsZero() {
		next = unplanned
	}
	return listKey{next, t.DueTime, t.ID}
}

func (k listKey) compare(o listKey) int {
	return cmp.Or(k.next.Compare(o.next), k.due.Compare(o.due), strings.Compare(k.id, o.id))
}

func (k listKey) token() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(k.next.UnixNano(), 10) + "|" + strconv.FormatInt(k.due.UnixNano(), 10) + "|" + k.id))
}

func parseToken(tok string) (*listKey, error) {
	if tok == "" {
		return nil, nil
	}
	bad := apperr.Invalid("page_token", "is not a token returned by a previous call").ZhReason("不是上一次调用返回的分页令牌")
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	parts := strings.Split(string(raw), "|")
	if err != nil || len(parts) != 3 {
		return nil, bad
	}
	next, err1 := strconv.ParseInt(parts[0], 10, 64)
	due, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil {
		return nil, bad
	}
	return &listKey{time.Unix(0, next).UTC(), time.Unix(0, due).UTC(), parts[2]}, nil
}

// List implements callback.Store.
func (f *Fake) List(_ context.Context, scope pg.Scope, fl callback.Filter) ([]callback.Task, string, error) {
	after, err := parseToken(fl.PageToken)
	if err != nil {
		return nil, "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []callback.Task
	for _, t := range f.tasks {
		open := t.Status == callback.StatusPending || t.Status == callback.StatusInProgress
		switch {
		case t.Dealer != fl.Dealer || !inScope(scope, t.Dealer):
		case fl.Kind != "" && t.Kind != fl.Kind, fl.Status != "" && t.Status != fl.Status, fl.Assignee != "" && t.Assignee != fl.Assignee:
		case fl.DueOnly && (!open || keyOf(t).next.After(fl.Now)):
		case fl.AwaitingInstruction && !(t.Status == callback.StatusCompleted && (t.Findings != "" || !t.Satisfied) && t.Instruction == ""):
		case after != nil && keyOf(t).compare(*after) <= 0:
		default:
			c := copyTask(t)
			c.Attempts, c.Questionnaire = nil, nil // a list carries the task's columns only
			out = append(out, *c)
		}
	}
	slices.SortFunc(out, func(a, b callback.Task) int { return keyOf(a).compare(keyOf(b)) })
	next := ""
	if fl.Size > 0 && len(out) >= fl.Size {
		out = out[:fl.Size]
		next = keyOf(out[len(out)-1]).token()
	}
	return out, next, nil
}

// Agents implements callback.Store.
func (f *Fake) Agents(_ context.Context, scope pg.Scope, dealer string) ([]callback.Agent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !inScope(scope, dealer) {
		return nil, nil
	}
	var out []callback.Agent
	for _, a := range f.agents[dealer] {
		if !a.active {
			continue
		}
		a.OpenTasks = 0
		for _, t := range f.tasks {
			if t.Dealer == dealer && t.Assignee == a.Subject && !t.Ended() {
				a.OpenTasks++
			}
		}
		out = append(out, a.Agent)
	}
	return out, nil
}

// PutAgent implements callback.Store.
func (f *Fake) PutAgent(_ context.Context, scope pg.Scope, dealer, subject, displayName string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !inScope(scope, dealer) {
		return fmt.Errorf("store callback agent: dealer %s outside the scope", dealer)
	}
	for i := range f.agents[dealer] {
		if a := &f.agents[dealer][i]; a.Subject == subject {
			a.active, a.DisplayName = true, displayName
			return nil
		}
	}
	pos := 1
	if n := len(f.agents[dealer]); n > 0 {
		pos = f.agents[dealer][n-1].position + 1
	}
	f.agents[dealer] = append(f.agents[dealer], fakeAgent{Agent: callback.Agent{Subject: subject, DisplayName: displayName, Dealer: dealer,
		CreateTime: time.Now().UTC()}, position: pos, active: true})
	return nil
}

// DeleteAgent implements callback.Store.
func (f *Fake) DeleteAgent(_ context.Context, scope pg.Scope, dealer, subject string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.agents[dealer] {
		if a := &f.agents[dealer][i]; a.Subject == subject && a.active && inScope(scope, dealer) {
			a.active = false
			return nil
		}
	}
	return apperr.NotFound("callback agent", "回访专员", subject)
}

// Policy implements callback.Store.
func (f *Fake) Policy(_ context.Context, dealer string) (callback.Policy, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	hq, ok := f.policies[callback.DefaultScope]
	if !ok {
		hq = callback.DefaultPolicy()
	}
	if dealer == callback.DefaultScope {
		return callback.Effective("", hq, nil), nil
	}
	var own *callback.Policy
	if p, ok := f.policies[dealer]; ok {
		own = &p
	}
	return callback.Effective(dealer, hq, own), nil
}

// PutPolicy implements callback.Store.
func (f *Fake) PutPolicy(_ context.Context, scope string, p callback.Policy) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p.Timings, p.ComplaintSeverityRules = slices.Clone(p.Timings), slices.Clone(p.ComplaintSeverityRules)
	p.UpdateTime = time.Now().UTC()
	f.policies[scope] = p
	return nil
}

// Questionnaires implements callback.Store.
func (f *Fake) Questionnaires(_ context.Context, kind string) ([]callback.Questionnaire, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []callback.Questionnaire
	for _, q := range f.questionnaires {
		if kind == "" || q.Kind == kind {
			q.Questions = slices.Clone(q.Questions)
			out = append(out, q)
		}
	}
	slices.SortFunc(out, func(a, b callback.Questionnaire) int {
		return cmp.Or(strings.Compare(a.Kind, b.Kind), b.Version-a.Version)
	})
	return out, nil
}

// CreateQuestionnaire implements callback.Store.
func (f *Fake) CreateQuestionnaire(_ context.Context, q callback.Questionnaire) (*callback.Questionnaire, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q.ID, q.Version, q.CreateTime, q.Questions = outbox.NewID(), 1, time.Now().UTC(), slices.Clone(q.Questions)
	for _, o := range f.questionnaires {
		if o.Kind == q.Kind {
			q.Version = max(q.Version, o.Version+1)
		}
	}
	f.questionnaires = append(f.questionnaires, q)
	return &q, nil
}

// DealerQuestionnaire implements callback.Store.
func (f *Fake) DealerQuestionnaire(_ context.Context, scope pg.Scope, dealer, kind string) (*callback.Questionnaire, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !inScope(scope, dealer) {
		return f.current("", kind)
	}
	return f.current(dealer, kind)
}

// PutDealerQuestions implements callback.Store.
func (f *Fake) PutDealerQuestions(_ context.Context, scope pg.Scope, dealer, kind string, qs []callback.Question, check func(hqCodes []string) error) (*callback.Questionnaire, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	hq, err := f.current("", kind)
	if err != nil {
		return nil, err
	}
	if err := check(hq.Codes()); err != nil {
		return nil, err
	}
	if !inScope(scope, dealer) {
		return nil, fmt.Errorf("store dealer questions %s %s: outside the scope", dealer, kind)
	}
	if qs == nil {
		qs = []callback.Question{}
	}
	f.dealerQs[dealer+"/"+kind] = append(f.dealerQs[dealer+"/"+kind], slices.Clone(qs))
	return f.current(dealer, kind)
}

// Report implements callback.Store, counting as the PostgreSQL store does.
func (f *Fake) Report(_ context.Context, scope pg.Scope, dealer string, start, end time.Time) ([]callback.Figures, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	in := func(at time.Time) bool { return !at.IsZero() && !at.Before(start) && at.Before(end) }
	byKind := map[string]*callback.Figures{}
	for _, t := range f.tasks {
		if t.Dealer != dealer || !inScope(scope, dealer) {
			continue
		}
		var g callback.Figures
		if in(t.DueTime) && t.Status != callback.StatusCancelled {
			g.Due++
		}
		if in(t.EndTime) {
			switch t.Status {
			case callback.StatusCompleted:
				g.Completed, g.ScoreSum = 1, t.Score
				if !t.Satisfied {
					g.ProblemsFound++
				}
				if t.Complaint != "" && t.Kind != callback.KindComplaintFollowUp {
					g.ComplaintsOpened++
				}
			case callback.StatusUnreachable:
				g.Unreachable++
			case callback.StatusRefused:
				g.Refused++
			case callback.StatusExpired:
				g.Expired++
			}
		}
		for _, a := range t.Attempts {
			if in(a.Time) {
				g.Attempts++
			}
		}
		if !in(t.DueTime) && !in(t.EndTime) && g.Attempts == 0 {
			continue
		}
		if byKind[t.Kind] == nil {
			byKind[t.Kind] = &callback.Figures{Kind: t.Kind}
		}
		g.Kind = t.Kind
		byKind[t.Kind].Add(g)
	}
	var out []callback.Figures
	for _, k := range callback.Kinds {
		if g := byKind[k]; g != nil {
			out = append(out, *g)
		}
	}
	return out, nil
}
