package postgres_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/callback/callback"
	"github.com/dealercare/dealercare/services/callback/postgres"
)

// fixedTaskFields are the fields a task is created with and no update
// changes; loadedTaskFields are read with the task from other tables.
var (
	fixedTaskFields = []string{"ID", "Dealer", "Kind", "SourceType", "SourceID", "WorkflowID", "Customer", "VIN",
		"RepairOrderNumber", "DueTime", "Deadline", "QuestionnaireID", "DealerVersion", "FeedbackRole", "CreateTime"}
	loadedTaskFields = []string{"Attempts", "Questionnaire"}
)

// An update that changes every field the task's methods may change is
// what a later read returns. Every field of callback.Task is either set
// here or listed as fixed or loaded, so a new field cannot go unwritten.
func TestUpdateWritesEveryUpdatableTaskField(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	task := ensure(t, s, "SH001", callback.Kind3DC, "RO-1", t0, false)
	at := t0.Add(2 * time.Hour)
	set := func(n time.Duration) time.Time { return t0.Add(n * time.Minute) }
	changed := map[string]func(*callback.Task){
		"Status":          func(t *callback.Task) { t.Status = callback.StatusCompleted },
		"NextAttemptTime": func(t *callback.Task) { t.NextAttemptTime = set(1) },
		"Assignee":        func(t *callback.Task) { t.Assignee = "agent-9" },
		"Answers":         func(t *callback.Task) { t.Answers = []callback.Answer{{Question: "q1", Rating: 4}} },
		"Score":           func(t *callback.Task) { t.Score = 42.5 },
		"ProblemReported": func(t *callback.Task) { t.ProblemReported = true },
		"Satisfied":       func(t *callback.Task) { t.Satisfied = true },
		"Findings":        func(t *callback.Task) { t.Findings = "the car was dirty" },
		"Complaint":       func(t *callback.Task) { t.Complaint = "c-1" },
		"Instruction":     func(t *callback.Task) { t.Instruction = "wash every car" },
		"InstructedBy":    func(t *callback.Task) { t.InstructedBy = "manager-1" },
		"InstructTime":    func(t *callback.Task) { t.InstructTime = set(2) },
		"Rectification":   func(t *callback.Task) { t.Rectification = "washing bay added" },
		"RectifiedBy":     func(t *callback.Task) { t.RectifiedBy = "manager-2" },
		"RectifyTime":     func(t *callback.Task) { t.RectifyTime = set(3) },
		"EndReason":       func(t *callback.Task) { t.EndReason = "done" },
		"EndTime":         func(t *callback.Task) { t.EndTime = set(4) },
		"CompleteTime":    func(t *callback.Task) { t.CompleteTime = set(5) },
		"UpdateTime":      func(*callback.Task) {}, // the update's own time
	}
	typ := reflect.TypeFor[callback.Task]()
	for i := range typ.NumField() {
		name := typ.Field(i).Name
		_, ok := changed[name]
		if !ok && !slices.Contains(fixedTaskFields, name) && !slices.Contains(loadedTaskFields, name) {
			t.Fatalf("callback.Task.%s is neither changed by this test nor listed as fixed or loaded", name)
		}
	}
	var want callback.Task
	answer, err := s.Update(ctx, pg.Dealers("SH001"), "SH001", task.ID, at, func(t *callback.Task) (postgres.Change, error) {
		for _, fn := range changed {
			fn(t)
		}
		want = *t
		want.UpdateTime = at
		return postgres.Change{}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.Get(ctx, pg.Dealers("SH001"), "SH001", task.ID)
	if err != nil {
		t.Fatal(err)
	}
	for name := range changed {
		w := reflect.ValueOf(want).FieldByName(name).Interface()
		if reflect.DeepEqual(w, reflect.ValueOf(*task).FieldByName(name).Interface()) {
			t.Errorf("%s: the test's new value %v equals the old one", name, w)
		}
		for what, got := range map[string]*callback.Task{"update answered": answer, "stored": stored} {
			g := reflect.ValueOf(*got).FieldByName(name).Interface()
			if gt, ok := g.(time.Time); ok {
				if !gt.Equal(w.(time.Time)) {
					t.Errorf("%s %s = %v, want %v", what, name, g, w)
				}
				continue
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("%s %s = %#v, want %#v", what, name, g, w)
			}
		}
	}
	for _, name := range fixedTaskFields {
		g, w := reflect.ValueOf(*stored).FieldByName(name).Interface(), reflect.ValueOf(*task).FieldByName(name).Interface()
		if gt, ok := g.(time.Time); ok && gt.Equal(w.(time.Time)) {
			continue
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("fixed %s changed: %v, was %v", name, g, w)
		}
	}
}
