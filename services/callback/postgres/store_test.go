package postgres_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/pgtest"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/callback/callback"
	"github.com/dealercare/dealercare/services/callback/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var t0 = time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC) // 10:00 in Shanghai

func open(t *testing.T) (*postgres.Store, *pgxpool.Pool) {
	t.Helper()
	fsys, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	db := pgtest.New(t, postgres.Schema, fsys)
	if err := pg.VerifyTenantTables(context.Background(), db.Pool, postgres.Schema); err != nil {
		t.Fatal(err)
	}
	pool := db.AppPool(t, pg.Config{})
	return postgres.NewStore(pool), pool
}

func ensure(t *testing.T, s *postgres.Store, dealer, kind, source string, due time.Time, doNotCall bool) *callback.Task {
	t.Helper()
	task, err := callback.NewTask(callback.Task{
		Dealer: dealer, Kind: kind, SourceType: events.SourceRepairOrder, SourceID: source,
		WorkflowID: events.CallbackWorkflowID(kind, source), DueTime: due, Deadline: due.Add(48 * time.Hour), CreateTime: due,
	}, doNotCall, due)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Ensure(context.Background(), task)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// attempt records an attempt through Store.Update the way the gRPC layer does.
func attempt(s *postgres.Store, scope pg.Scope, task *callback.Task, n int, outcome string, at time.Time) (*callback.Task, error) {
	return s.Update(context.Background(), scope, task.Dealer, task.ID, at, func(t *callback.Task) (callback.Change, error) {
		ok, err := t.RecordAttempt(callback.Attempt{Number: n, Outcome: outcome, Time: at, Agent: "agent-1"})
		if err != nil || !ok {
			return callback.Change{}, err
		}
		return callback.Change{Kind: callback.ChangeAttempted, Event: &callback.WorkflowEvent{Kind: events.KindCallbackAttempted, Payload: t.Attempted()}}, nil
	})
}

func complete(s *postgres.Store, task *callback.Task, answers []callback.Answer, problem bool, findings string, at time.Time) (*callback.Task, error) {
	return s.Update(context.Background(), pg.Dealers(task.Dealer), task.Dealer, task.ID, at, func(t *callback.Task) (callback.Change, error) {
		if err := t.Complete(answers, problem, findings, 80, at); err != nil {
			return callback.Change{}, err
		}
		return callback.Change{Kind: callback.ChangeCompleted, Event: &callback.WorkflowEvent{Kind: events.KindCallbackCompleted, Payload: t.Completed()}}, nil
	})
}

func end(s *postgres.Store, task *callback.Task, status string, at time.Time) {
	_, err := s.Update(context.Background(), pg.Dealers(task.Dealer), task.Dealer, task.ID, at, func(t *callback.Task) (callback.Change, error) {
		ok, err := t.End(status, "test", at)
		return changeIf(ok, callback.ChangeEnded), err
	})
	if err != nil {
		panic(err)
	}
}

func outboxCount(t *testing.T, db *pgxpool.Pool, kind string) int {
	t.Helper()
	var n int
	err := pg.InReadOnlyTx(context.Background(), db, pg.AllDealers(), func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM outbox_events WHERE kind = $1`, kind).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEnsureIsIdempotentAndRotates(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	for _, a := range []string{"agent-1", "agent-2"} {
		if err := s.PutAgent(ctx, pg.Dealers("SH001"), "SH001", a, a); err != nil {
			t.Fatal(err)
		}
	}
	first := ensure(t, s, "SH001", callback.Kind3DC, "RO-1", t0, false)
	again := ensure(t, s, "SH001", callback.Kind3DC, "RO-1", t0.Add(time.Hour), false)
	if again.ID != first.ID || !again.DueTime.Equal(t0) || again.Assignee != first.Assignee {
		t.Fatalf("second Ensure changed the task: %+v vs %+v", again, first)
	}
	if first.Status != callback.StatusPending || !first.NextAttemptTime.Equal(t0) || first.Questionnaire == nil ||
		first.Questionnaire.Version != 1 || first.Questionnaire.Kind != callback.Kind3DC || first.FeedbackRole != callback.FeedbackServiceManager {
		t.Fatalf("new task: %+v", first)
	}
	// The same source under another kind is another task.
	if other := ensure(t, s, "SH001", callback.Kind7DC, "RO-1", t0, false); other.ID == first.ID {
		t.Fatal("a 7DC reused the 3DC task")
	}
	third := ensure(t, s, "SH001", callback.Kind3DC, "RO-3", t0, false)
	if got := []string{first.Assignee, third.Assignee}; got[0] != "agent-1" || got[1] != "agent-1" {
		// agent-1, then agent-2 (the 7DC), then agent-1 again.
		t.Fatalf("rotation: %v", got)
	}
	if err := s.DeleteAgent(ctx, pg.Dealers("SH001"), "SH001", "agent-2"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAgent(ctx, pg.Dealers("SH001"), "SH001", "agent-2"); apperr.Code(err) != apperr.ENOTFOUND {
		t.Fatalf("deleting twice: %v", err)
	}
	if fourth := ensure(t, s, "SH001", callback.Kind3DC, "RO-4", t0, false); fourth.Assignee != "agent-1" {
		t.Fatalf("an inactive agent got a task: %s", fourth.Assignee)
	}
	if none := ensure(t, s, "BJ001", callback.Kind3DC, "RO-5", t0, false); none.Assignee != "" {
		t.Fatalf("a dealer without agents assigned %q", none.Assignee)
	}
	dnc := ensure(t, s, "SH001", callback.Kind3DC, "RO-6", t0, true)
	if dnc.Status != callback.StatusCancelled || dnc.EndReason != "do not call" || !dnc.NextAttemptTime.IsZero() {
		t.Fatalf("do not call: %+v", dnc)
	}

	// A new HQ version and dealer questions reach new tasks only.
	v2 := callback.Questionnaire{Kind: callback.Kind3DC, Title: "SSI v2", Questions: []callback.Question{{Code: "Q1", Text: "总体", Type: callback.QuestionRating, Scale: 10, Weight: 1}}}
	if q, err := s.CreateQuestionnaire(ctx, v2); err != nil || q.Version != 2 {
		t.Fatalf("v2: %v %+v", err, q)
	}
	own := []callback.Question{{Code: "D1", Text: "是否愿意推荐本店?", Type: callback.QuestionYesNo}}
	q, err := s.PutDealerQuestions(ctx, pg.Dealers("SH001"), "SH001", callback.Kind3DC, own, func([]string) error { return nil })
	if err != nil || q.DealerVersion != 1 || len(q.Questions) != 2 {
		t.Fatalf("dealer questions: %v %+v", err, q)
	}
	newer := ensure(t, s, "SH001", callback.Kind3DC, "RO-7", t0, false)
	if newer.Questionnaire.Version != 2 || newer.Questionnaire.DealerVersion != 1 || len(newer.Questionnaire.Questions) != 2 {
		t.Fatalf("new task's questionnaire: %+v", newer.Questionnaire)
	}
	old, err := s.Get(ctx, pg.Dealers("SH001"), "SH001", first.ID)
	if err != nil || old.Questionnaire.Version != 1 || old.Questionnaire.DealerVersion != 0 || len(old.Questionnaire.Questions) != 6 {
		t.Fatalf("old task's questionnaire changed: %v %+v", err, old.Questionnaire)
	}
}

func TestAttemptsCountOnce(t *testing.T) {
	s, db := open(t)
	task := ensure(t, s, "SH001", callback.Kind3DC, "RO-1", t0, false)
	scope := pg.Dealers("SH001")
	if _, err := attempt(s, scope, task, 1, callback.OutcomeNoAnswer, t0); err != nil {
		t.Fatal(err)
	}
	got, err := attempt(s, scope, task, 1, callback.OutcomeNoAnswer, t0.Add(time.Minute))
	if err != nil || len(got.Attempts) != 1 || !got.Attempts[0].Time.Equal(t0) {
		t.Fatalf("retried attempt: %v %+v", err, got)
	}
	if n := outboxCount(t, db, events.KindCallbackAttempted); n != 1 {
		t.Fatalf("%d attempt events, want 1", n)
	}
	if _, err := attempt(s, scope, task, 1, callback.OutcomeAnswered, t0); apperr.Code(err) != apperr.ECONFLICT {
		t.Fatalf("same number, other outcome: %v", err)
	}
	if _, err := attempt(s, scope, task, 3, callback.OutcomeAnswered, t0); apperr.Code(err) != apperr.ECONFLICT {
		t.Fatalf("skipped number: %v", err)
	}
	got, err = attempt(s, scope, task, 2, callback.OutcomeAnswered, t0.Add(time.Hour))
	if err != nil || got.Status != callback.StatusInProgress || got.Assignee != "agent-1" || len(got.Attempts) != 2 {
		t.Fatalf("answered: %v %+v", err, got)
	}
	// The event is routed to the task's workflow and starts it if gone.
	var wf, wtype, queue, signal string
	var payload, start []byte
	err = pg.InReadOnlyTx(context.Background(), db, pg.AllDealers(), func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT workflow_id, workflow_type, task_queue, signal_name, payload, start_input
			FROM outbox_events WHERE kind = $1 ORDER BY created_at DESC LIMIT 1`, events.KindCallbackAttempted).Scan(&wf, &wtype, &queue, &signal, &payload, &start)
	})
	if err != nil {
		t.Fatal(err)
	}
	var ev events.CallbackAttempted
	var st events.CallbackStart
	_ = json.Unmarshal(payload, &ev)
	_ = json.Unmarshal(start, &st)
	if wf != "callback/3DC/RO-1" || wtype != events.CallbackWorkflowType || queue != events.CallbackTaskQueue || signal != events.CallbackSignal ||
		ev.Number != 2 || ev.Outcome != callback.OutcomeAnswered || ev.TaskID != task.ID || st.SourceID != "RO-1" || st.Kind != "3DC" {
		t.Fatalf("event %s %s %s %s %+v %+v", wf, wtype, queue, signal, ev, st)
	}

	// The attempts table is append-only, even for its owner's app role.
	err = pg.InTx(context.Background(), db, scope, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `UPDATE callback_attempts SET outcome = 'busy'`)
		return err
	})
	if err == nil {
		t.Fatal("an attempt was rewritten")
	}
}

func TestRowLevelSecurity(t *testing.T) {
	s, db := open(t)
	ctx := context.Background()
	task := ensure(t, s, "SH001", callback.Kind3DC, "RO-1", t0, false)
	bj := pg.Dealers("BJ001")
	// Through the store, with the other dealer's code in the query...
	if _, err := s.Get(ctx, bj, "SH001", task.ID); apperr.Code(err) != apperr.ENOTFOUND {
		t.Fatalf("BJ001 read SH001's task: %v", err)
	}
	if _, err := attempt(s, bj, task, 1, callback.OutcomeAnswered, t0); apperr.Code(err) != apperr.ENOTFOUND {
		t.Fatalf("BJ001 wrote SH001's task: %v", err)
	}
	// ...and in plain SQL, where only row-level security stands.
	err := pg.InTx(ctx, db, bj, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM callback_tasks`).Scan(&n); err != nil || n != 0 {
			return fmt.Errorf("BJ001 sees %d tasks (%v)", n, err)
		}
		tag, err := tx.Exec(ctx, `UPDATE callback_tasks SET status = 'cancelled'`)
		if err != nil || tag.RowsAffected() != 0 {
			return fmt.Errorf("BJ001 updated %d tasks (%v)", tag.RowsAffected(), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = pg.InTx(ctx, db, bj, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO callback_agents (dealer_id, subject, position) VALUES ('SH001', 'mole', 1)`)
		return err
	})
	if err == nil {
		t.Fatal("BJ001 inserted a row for SH001")
	}
	if got, err := s.Get(ctx, pg.Dealers("SH001"), "SH001", task.ID); err != nil || got.Status != callback.StatusPending {
		t.Fatalf("SH001's task after the attempts: %v %+v", err, got)
	}
}

func TestListQueueAndPages(t *testing.T) {
	s, db := open(t)
	ctx := context.Background()
	scope := pg.Dealers("SH001")
	var ids []string
	for i := range 5 {
		ids = append(ids, ensure(t, s, "SH001", callback.Kind3DC, fmt.Sprintf("RO-%d", i), t0.Add(time.Duration(5-i)*time.Hour), false).ID)
	}
	// RO-0 (due last) is unreached and waits for its retry plan: last.
	waiting, _ := s.Get(ctx, scope, "SH001", ids[0])
	if _, err := attempt(s, scope, waiting, 1, callback.OutcomeBusy, t0); err != nil {
		t.Fatal(err)
	}
	var seen []string
	tok := ""
	for {
		page, next, err := s.List(ctx, scope, callback.Filter{Dealer: "SH001", Size: 2, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page {
			seen = append(seen, p.ID)
		}
		if tok = next; tok == "" {
			break
		}
	}
	want := []string{ids[4], ids[3], ids[2], ids[1], ids[0]}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("order %v, want %v", seen, want)
	}
	due, _, err := s.List(ctx, scope, callback.Filter{Dealer: "SH001", DueOnly: true, Now: t0.Add(2 * time.Hour), Size: 100})
	if err != nil || len(due) != 2 {
		t.Fatalf("due by +2h: %d (%v)", len(due), err)
	}
	if _, _, err := s.List(ctx, scope, callback.Filter{Dealer: "SH001", PageToken: "x.y", Size: 2}); apperr.Code(err) != apperr.EINVALID {
		t.Fatalf("bad token: %v", err)
	}

	// Every filter, paged at several sizes, concatenates to exactly its
	// full list in order, over tasks made to tie: three due times, next
	// attempts planned at the due time or at one retry time for many tasks,
	// unplanned ones (ended, or waiting for a retry plan) that sort last and
	// then tie on due time, and pages that end inside each run of ties.
	for _, a := range []string{"agent-1", "agent-2"} {
		if err := s.PutAgent(ctx, scope, "SH001", a, a); err != nil {
			t.Fatal(err)
		}
	}
	base := t0.Add(24 * time.Hour)
	retry := base.Add(30 * time.Minute)
	good := []callback.Answer{{Question: "Q1", Rating: 10}, {Question: "Q2", YesNo: "yes"}}
	poor := []callback.Answer{{Question: "Q1", Rating: 2}, {Question: "Q2", YesNo: "no"}}
	for i := range 48 {
		kind := callback.Kind3DC
		if i%4 == 3 {
			kind = callback.Kind7DC
		}
		task := ensure(t, s, "SH001", kind, fmt.Sprintf("TIE-%d", i), base.Add(time.Duration(i%3)*time.Hour), i == 47)
		var err error
		switch i % 6 {
		case 0: // pending, planned at its due time
		case 1: // unreached, waiting for its retry plan: unplanned
			_, err = attempt(s, scope, task, 1, callback.OutcomeBusy, base)
		case 2: // unreached, retried at one time with the others
			if _, err = attempt(s, scope, task, 1, callback.OutcomeNoAnswer, base); err == nil {
				_, err = s.Update(ctx, scope, "SH001", task.ID, base, func(t *callback.Task) (callback.Change, error) {
					return changeIf(t.ScheduleRetry(1, retry), callback.ChangeRetryPlanned), nil
				})
			}
		case 3: // in progress
			_, err = attempt(s, scope, task, 1, callback.OutcomeAnswered, base)
		case 4: // completed, every other one dissatisfied (awaiting instruction)
			if task, err = attempt(s, scope, task, 1, callback.OutcomeAnswered, base); err == nil {
				if i%12 == 4 {
					_, err = complete(s, task, good, false, "", base)
				} else {
					_, err = complete(s, task, poor, false, "异响未修好", base)
				}
			}
		case 5: // expired (the last one is cancelled: do not call)
			end(s, task, callback.StatusExpired, base)
		}
		if err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
	}
	ensure(t, s, "BJ001", callback.Kind3DC, "TIE-0", base, false) // another dealer's: never listed

	all := listedTasks(t, db, "SH001")
	var planned, unplanned, ties int
	for i, r := range all {
		if r.next.IsZero() {
			unplanned++
		} else {
			planned++
		}
		if i > 0 && r.next.Equal(all[i-1].next) && r.due.Equal(all[i-1].due) {
			ties++
		}
	}
	if planned < 10 || unplanned < 10 || ties < 10 {
		t.Fatalf("the fixture does not tie: %d planned, %d unplanned, %d ties on (next, due)", planned, unplanned, ties)
	}
	now := base.Add(45 * time.Minute) // the retried ones and those due at base are due
	for _, f := range []callback.Filter{
		{},
		{Status: callback.StatusPending},
		{Status: callback.StatusCompleted},
		{Kind: callback.Kind7DC},
		{Assignee: "agent-1"},
		{DueOnly: true},
		{Assignee: "agent-2", DueOnly: true},
		{AwaitingInstruction: true},
		{Kind: callback.Kind3DC, Status: callback.StatusPending, Assignee: "agent-1"},
	} {
		f.Dealer, f.Now = "SH001", now
		var want []string
		for _, r := range all {
			if r.matches(f) {
				want = append(want, r.id)
			}
		}
		if len(want) < 4 {
			t.Fatalf("%+v matches %d tasks: too few to page", f, len(want))
		}
		for _, size := range []int{1, 2, 3, 5} {
			f.Size, f.PageToken = size, ""
			var got []string
			for pages := 0; ; pages++ {
				if pages > len(want)+1 {
					t.Fatalf("%+v: pages never end: %v", f, got)
				}
				page, next, err := s.List(ctx, scope, f)
				if err != nil {
					t.Fatalf("%+v: %v", f, err)
				}
				if len(page) > size {
					t.Fatalf("%+v: a page of %d", f, len(page))
				}
				for _, p := range page {
					got = append(got, p.ID)
				}
				if f.PageToken = next; next == "" {
					break
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("%+v: pages concatenate to\n%v, want\n%v", f, got, want)
			}
		}
	}
}

// listed is a task's row as List filters and orders it.
type listed struct {
	id, kind, status, assignee, findings, instruction string
	satisfied                                         bool
	next, due                                         time.Time // next zero while unplanned
}

// listedTasks reads dealer's tasks straight from the table and orders them
// as List promises: next attempt time (unplanned last), due time, id.
func listedTasks(t *testing.T, db *pgxpool.Pool, dealer string) []listed {
	t.Helper()
	var out []listed
	err := pg.InReadOnlyTx(context.Background(), db, pg.Dealers(dealer), func(tx pgx.Tx) error {
		rows, err := tx.Query(context.Background(), `SELECT id::text, kind, status, assignee, findings, instruction, satisfied,
			next_attempt_time, due_time FROM callback_tasks WHERE dealer_id = $1`, dealer)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (listed, error) {
			var l listed
			var next *time.Time
			err := r.Scan(&l.id, &l.kind, &l.status, &l.assignee, &l.findings, &l.instruction, &l.satisfied, &next, &l.due)
			if next != nil {
				l.next = *next
			}
			return l, err
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(out, func(a, b listed) int {
		if a.next.IsZero() != b.next.IsZero() {
			if a.next.IsZero() {
				return 1 // unplanned last
			}
			return -1
		}
		// A uuid's canonical text sorts as its bytes.
		return cmp.Or(a.next.Compare(b.next), a.due.Compare(b.due), strings.Compare(a.id, b.id))
	})
	return out
}

// matches says whether List's filter f selects r, per Filter's comments.
func (r listed) matches(f callback.Filter) bool {
	open := r.status == callback.StatusPending || r.status == callback.StatusInProgress
	return (f.Kind == "" || r.kind == f.Kind) && (f.Status == "" || r.status == f.Status) && (f.Assignee == "" || r.assignee == f.Assignee) &&
		(!f.DueOnly || open && !r.next.IsZero() && !r.next.After(f.Now)) &&
		(!f.AwaitingInstruction || r.status == callback.StatusCompleted && (r.findings != "" || !r.satisfied) && r.instruction == "")
}

func TestReportFigures(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	sh, _ := time.LoadLocation("Asia/Shanghai")
	day, _ := callback.PeriodOf(callback.PeriodDay, "2026-11-20", sh, t0)
	in := day.Start.Add(3 * time.Hour) // inside the day
	out := day.Start.Add(-time.Hour)   // the day before (23:00 local)
	scope := pg.Dealers("SH001")
	good := []callback.Answer{{Question: "Q1", Rating: 10}, {Question: "Q2", YesNo: "yes"}}

	// Completed inside the day: 100 and a problem at 100 (complaint opened).
	a := ensure(t, s, "SH001", callback.Kind3DC, "RO-1", in, false)
	_, _ = attempt(s, scope, a, 1, callback.OutcomeAnswered, in)
	if _, err := complete(s, a, good, false, "", in); err != nil {
		t.Fatal(err)
	}
	b := ensure(t, s, "SH001", callback.Kind3DC, "RO-2", in, false)
	_, _ = attempt(s, scope, b, 1, callback.OutcomeAnswered, in)
	if _, err := complete(s, b, []callback.Answer{{Question: "Q1", Rating: 1}, {Question: "Q2", YesNo: "no"}}, false, "异响未修好", in); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, scope, "SH001", b.ID, in, func(t *callback.Task) (callback.Change, error) {
		ok, err := t.LinkComplaint("11111111-1111-4111-8111-111111111111")
		return changeIf(ok, callback.ChangeComplaintLink), err
	}); err != nil {
		t.Fatal(err)
	}
	// Due the day before, unreachable inside the day after two attempts.
	c := ensure(t, s, "SH001", callback.Kind3DC, "RO-3", out, false)
	_, _ = attempt(s, scope, c, 1, callback.OutcomeNoAnswer, out)
	_, _ = attempt(s, scope, c, 2, callback.OutcomeNoAnswer, in)
	end(s, c, callback.StatusUnreachable, in)
	// 7DC: refused inside, expired inside, cancelled (not due), pending.
	d := ensure(t, s, "SH001", callback.Kind7DC, "S-1", in, false)
	_, _ = attempt(s, scope, d, 1, callback.OutcomeRefused, in)
	e := ensure(t, s, "SH001", callback.Kind7DC, "S-2", out, false)
	end(s, e, callback.StatusExpired, in)
	ensure(t, s, "SH001", callback.Kind7DC, "S-3", in, true)
	ensure(t, s, "SH001", callback.Kind7DC, "S-4", in, false)
	// Another dealer's and another day's work counts nowhere.
	ensure(t, s, "BJ001", callback.Kind3DC, "RO-9", in, false)
	ensure(t, s, "SH001", callback.Kind3DC, "RO-8", day.End.Add(time.Minute), false)

	got, err := s.Report(ctx, scope, "SH001", day.Start, day.End)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("kinds: %+v", got)
	}
	f3, f7 := got[0], got[1]
	// 3DC: due a, b (c was due the day before); completed a, b; unreachable
	// c; attempts a1, b1, c2; scores 100 and 0; b problem + complaint.
	want3 := callback.Figures{Kind: "3DC", Due: 2, Completed: 2, Unreachable: 1, Attempts: 3, ScoreSum: 100, ProblemsFound: 1, ComplaintsOpened: 1}
	if f3 != want3 || f3.AverageScore() != 50 || f3.CompletionRate() != 2.0/3 {
		t.Errorf("3DC %+v", f3)
	}
	want7 := callback.Figures{Kind: "7DC", Due: 2, Refused: 1, Expired: 1, Attempts: 1}
	if f7 != want7 || f7.CompletionRate() != 0 {
		t.Errorf("7DC %+v, want %+v", f7, want7)
	}
	if _, err := s.Report(ctx, pg.Dealers("BJ001"), "SH001", day.Start, day.End); err != nil {
		t.Fatal(err)
	} else if r, _ := s.Report(ctx, pg.Dealers("BJ001"), "SH001", day.Start, day.End); len(r) != 0 {
		t.Errorf("BJ001 counted SH001's tasks: %+v", r)
	}
}

// TestCompletionQueuesTheWebhookEvent: a completed callback's outbox holds
// the webhook event for the dealer's subscribers, bound for the task's
// delivery workflow, with the score and no personal data; an attempt
// queues none.
func TestCompletionQueuesTheWebhookEvent(t *testing.T) {
	s, db := open(t)
	task := ensure(t, s, "SH001", callback.Kind3DC, "RO-W1", t0, false)
	if _, err := attempt(s, pg.Dealers("SH001"), task, 1, callback.OutcomeAnswered, t0); err != nil {
		t.Fatal(err)
	}
	kind := "webhook." + events.WebhookCallbackCompleted
	if n := outboxCount(t, db, kind); n != 0 {
		t.Fatalf("%d webhook events after an attempt, want 0", n)
	}
	if _, err := complete(s, task, []callback.Answer{{Question: "Q1", Rating: 9}, {Question: "Q2", YesNo: "yes"}}, false, "", t0); err != nil {
		t.Fatal(err)
	}
	var dealer, wf, queue string
	var payload events.WebhookPayload
	err := pg.InReadOnlyTx(context.Background(), db, pg.AllDealers(), func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT dealer_id, workflow_id, task_queue, payload FROM outbox_events WHERE kind = $1`,
			kind).Scan(&dealer, &wf, &queue, &payload)
	})
	if err != nil {
		t.Fatal(err)
	}
	resource := "dealers/SH001/callbackTasks/" + task.ID
	if dealer != "SH001" || wf != events.WebhookWorkflowID(resource) || queue != events.WebhookTaskQueue ||
		payload.Type != events.WebhookCallbackCompleted || payload.Resource != resource {
		t.Errorf("webhook event: dealer %s, workflow %s, queue %s, payload %+v", dealer, wf, queue, payload)
	}
	var data events.CallbackCompleted
	if err := json.Unmarshal(payload.Data, &data); err != nil || data.TaskID != task.ID || data.Score == 0 {
		t.Errorf("data %s: %+v, %v", payload.Data, data, err)
	}
}

// A policy stored before the complaint severities were part of it (a row
// without the columns) reads with the default: HIGH under 50, MEDIUM
// otherwise, as the workflow did before.
func TestStoredPolicyWithoutSeveritiesTakesTheDefault(t *testing.T) {
	s, pool := open(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO callback_policies (scope, max_attempts, retry_interval_s, calling_start, calling_end, score_threshold)
		VALUES ('HZ001', 4, 3600, '08:00', '20:00', 75)`); err != nil {
		t.Fatal(err)
	}
	p, err := s.Policy(ctx, "HZ001")
	if err != nil {
		t.Fatal(err)
	}
	want := callback.DefaultPolicy()
	if !p.Overridden || p.MaxAttempts != 4 || p.ComplaintSeverity != want.ComplaintSeverity ||
		!slices.Equal(p.ComplaintSeverityRules, want.ComplaintSeverityRules) {
		t.Errorf("policy %+v", p)
	}
	own := callback.Policy{ComplaintSeverity: callback.SeverityLow, ComplaintSeverityRules: []callback.SeverityRule{{ScoreBelow: 20, Severity: callback.SeverityCritical}, {ScoreBelow: 45.5, Severity: callback.SeverityHigh}}}
	if err := own.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPolicy(ctx, "HZ001", own); err != nil {
		t.Fatal(err)
	}
	if p, err = s.Policy(ctx, "HZ001"); err != nil || p.ComplaintSeverity != callback.SeverityLow || !slices.Equal(p.ComplaintSeverityRules, own.ComplaintSeverityRules) {
		t.Errorf("stored own severities: %v %+v", err, p)
	}
}

// changeIf is a change of kind when changed, else none.
func changeIf(changed bool, kind callback.ChangeKind) callback.Change {
	if !changed {
		return callback.Change{}
	}
	return callback.Change{Kind: kind}
}
