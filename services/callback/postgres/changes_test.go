package postgres_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/dealercare/dealercare/pkg/pgtest"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/callback/callback"
	"github.com/dealercare/dealercare/services/callback/postgres"
	"github.com/jackc/pgx/v5"
)

// The feed never skips a change committed after a later-numbered one: it
// waits for the earlier transaction, then hands out both.
func TestTaskChangesWaitForEarlierTransactions(t *testing.T) {
	s, pool := open(t)
	ctx := context.Background()
	a := ensure(t, s, "D1", "3DC", "ro-a", t0, false)
	b := ensure(t, s, "D1", "3DC", "ro-b", t0, false)
	all, more, err := pgtest.ChangesReady(t, 2, func() ([]postgres.TaskChange, bool, error) { return s.ListTaskChanges(ctx, pg.ChangeCursor{}, 0) })
	if err != nil || more || len(all) != 2 || all[0].Task != a.ID || all[1].Task != b.ID || all[0].Kind != "3DC" || all[0].Status != "pending" {
		t.Fatalf("first read: %+v %v %v", all, more, err)
	}
	cursor := all[1].Cursor

	// Transaction A stamps task a first (smaller change_seq) and stays open
	// while B stamps task b and commits.
	txA, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer txA.Rollback(ctx)
	if _, err := txA.Exec(ctx, `SELECT set_config('app.all_dealers', 'on', true)`); err != nil {
		t.Fatal(err)
	}
	if _, err := txA.Exec(ctx, `UPDATE callback_tasks SET status = 'completed', score = 80 WHERE id = $1`, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := pg.InTx(ctx, pool, pg.AllDealers(), func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE callback_tasks SET status = 'cancelled' WHERE id = $1`, b.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.ListTaskChanges(ctx, cursor, 0)
	if err != nil || len(got) != 0 {
		t.Fatalf("while A runs the feed hands out %+v (%v); B's change must wait", got, err)
	}
	if err := txA.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got, _, err = pgtest.ChangesReady(t, 2, func() ([]postgres.TaskChange, bool, error) { return s.ListTaskChanges(ctx, cursor, 0) })
	if err != nil || len(got) != 2 {
		t.Fatalf("after A commits: %+v %v", got, err)
	}
	seen := map[string]postgres.TaskChange{got[0].Task: got[0], got[1].Task: got[1]}
	if seen[a.ID].Status != "completed" || seen[a.ID].Score != 80 || seen[b.ID].Status != "cancelled" {
		t.Errorf("changes %+v", got)
	}
	// Paging: one at a time reaches the same end.
	c := cursor
	for i := 0; i < 2; i++ {
		page, more, err := s.ListTaskChanges(ctx, c, 1)
		if err != nil || len(page) != 1 || more != (i == 0) {
			t.Fatalf("page %d: %+v %v %v", i, page, more, err)
		}
		c = page[0].Cursor
	}
	if c != got[1].Cursor {
		t.Errorf("paged to %v, want %v", c, got[1].Cursor)
	}
	if _, err := pg.ParseChangeCursor("after", "bogus"); err == nil {
		t.Error("a cursor no call returned is refused")
	}
}

// A completed task's change carries its questionnaire's versions and its
// answers with their questions' types, HQ's and the dealer's own; a text
// answer's words never leave the callback service; an open task carries
// no answers.
func TestTaskChangesCarryTypedAnswers(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	scope := pg.Dealers("SH001")
	own := []callback.Question{{Code: "D1", Text: "是否愿意推荐本店?", Type: callback.QuestionYesNo, ProblemAnswer: "no"}}
	if _, err := s.PutDealerQuestions(ctx, scope, "SH001", callback.Kind3DC, own, func([]string) error { return nil }); err != nil {
		t.Fatal(err)
	}
	done := ensure(t, s, "SH001", callback.Kind3DC, "RO-1", t0, false)
	open := ensure(t, s, "SH001", callback.Kind3DC, "RO-2", t0, false)
	if _, err := attempt(s, scope, done, 1, callback.OutcomeAnswered, t0); err != nil {
		t.Fatal(err)
	}
	answers := []callback.Answer{{Question: "Q1", Rating: 3}, {Question: "Q2", YesNo: "no"}, {Question: "Q4", Choice: "C"},
		{Question: "Q6", Text: "请联系欧阳先生 13912345678"}, {Question: "D1", YesNo: "yes"}}
	if _, err := complete(s, done, answers, false, "未一次修复", t0); err != nil {
		t.Fatal(err)
	}
	all, _, err := pgtest.ChangesReady(t, 2, func() ([]postgres.TaskChange, bool, error) { return s.ListTaskChanges(ctx, pg.ChangeCursor{}, 0) })
	if err != nil {
		t.Fatal(err)
	}
	byTask := map[string]postgres.TaskChange{}
	for _, c := range all {
		byTask[c.Task] = c
	}
	got := byTask[done.ID]
	want := []callback.AnswerFact{
		{Question: "Q1", Type: callback.QuestionRating, Scale: 10, Rating: 3},
		{Question: "Q2", Type: callback.QuestionYesNo, YesNo: "no", Problem: true},
		{Question: "Q4", Type: callback.QuestionChoice, Choice: "C"},
		{Question: "Q6", Type: callback.QuestionText},
		{Question: "D1", Type: callback.QuestionYesNo, DealerQuestion: true, YesNo: "yes"},
	}
	if got.QuestionnaireID != done.QuestionnaireID || got.QuestionnaireVersion != 1 || got.DealerVersion != 1 || !reflect.DeepEqual(got.Answers, want) {
		t.Errorf("completed task's change: %+v\nwant answers %+v", got, want)
	}
	if strings.Contains(fmt.Sprintf("%+v", all), "13912345678") {
		t.Errorf("a text answer's words are in the feed: %+v", got)
	}
	if o := byTask[open.ID]; o.Answers != nil || o.QuestionnaireVersion != 1 {
		t.Errorf("open task's change: %+v", o)
	}
}
