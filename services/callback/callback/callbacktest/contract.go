package callbacktest

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/events"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/callback/callback"
)

var t0 = time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)

// StoreContract runs the cases every callback.Store must pass (the
// repository contract): open returns a store with no tasks.
func StoreContract(t *testing.T, open func(t *testing.T) callback.Store) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, callback.Store)
	}{
		{"UpdateWritesEveryUpdatableField", updateWritesEveryUpdatableField},
		{"NoChangeWritesNothing", noChangeWritesNothing},
		{"FailedUpdateChangesNothing", failedUpdateChangesNothing},
		{"OnlyAnAttemptChangeStoresTheAttempt", onlyAnAttemptChangeStoresTheAttempt},
		{"EnsureBySourceAnswersTheExisting", ensureBySourceAnswersTheExisting},
		{"RotationTakesTurns", rotationTakesTurns},
		{"OutOfScopeIsNotFound", outOfScopeIsNotFound},
		{"PolicyOverrideOverTheDefault", policyOverrideOverTheDefault},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
	}
}

// ensure creates a pending 3DC task of dealer's repair order source, due
// at t0, after publishing a questionnaire for it.
func ensure(t *testing.T, s callback.Store, dealer, source string) *callback.Task {
	t.Helper()
	ctx := context.Background()
	if _, err := s.CreateQuestionnaire(ctx, callback.Questionnaire{Kind: callback.Kind3DC, Title: "SSI",
		Questions: []callback.Question{{Code: "Q1", Text: "满意度", Type: callback.QuestionRating, Weight: 1, Scale: 5, Required: true}}}); err != nil {
		t.Fatal(err)
	}
	task, err := callback.NewTask(callback.Task{Dealer: dealer, Kind: callback.Kind3DC, SourceType: events.SourceRepairOrder, SourceID: source,
		WorkflowID: events.CallbackWorkflowID(callback.Kind3DC, source), DueTime: t0, Deadline: t0.Add(48 * time.Hour), CreateTime: t0}, false, t0)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Ensure(ctx, task)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fixedTaskFields are the fields a task is created with and no update
// changes; loadedTaskFields are read with the task from elsewhere.
var (
	fixedTaskFields = []string{"ID", "Dealer", "Kind", "SourceType", "SourceID", "WorkflowID", "Customer", "VIN",
		"RepairOrderNumber", "DueTime", "Deadline", "QuestionnaireID", "DealerVersion", "FeedbackRole", "CreateTime"}
	loadedTaskFields = []string{"Attempts", "Questionnaire"}
)

func equal(a, b any) bool {
	if at, ok := a.(time.Time); ok {
		return at.Equal(b.(time.Time))
	}
	return reflect.DeepEqual(a, b)
}

// An update that changes every field the task's methods may change is
// what a later read returns. Every field of callback.Task is either set
// here or listed as fixed or loaded, so a new field cannot go unwritten.
func updateWritesEveryUpdatableField(t *testing.T, s callback.Store) {
	ctx := context.Background()
	task := ensure(t, s, "SH001", "RO-1")
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
	answer, err := s.Update(ctx, pg.Dealers("SH001"), "SH001", task.ID, at, func(t *callback.Task) (callback.Change, error) {
		for _, fn := range changed {
			fn(t)
		}
		want = *t
		want.UpdateTime = at
		return callback.Change{Kind: callback.ChangeCompleted}, nil
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
		if equal(w, reflect.ValueOf(*task).FieldByName(name).Interface()) {
			t.Errorf("%s: the test's new value %v equals the old one", name, w)
		}
		for what, got := range map[string]*callback.Task{"update answered": answer, "stored": stored} {
			if g := reflect.ValueOf(*got).FieldByName(name).Interface(); !equal(g, w) {
				t.Errorf("%s %s = %#v, want %#v", what, name, g, w)
			}
		}
	}
	for _, name := range fixedTaskFields {
		if g, w := reflect.ValueOf(*stored).FieldByName(name).Interface(), reflect.ValueOf(*task).FieldByName(name).Interface(); !equal(g, w) {
			t.Errorf("fixed %s changed: %v, was %v", name, g, w)
		}
	}
}

// sameTask fails unless got is stored as it was.
func sameTask(t *testing.T, what string, got, was *callback.Task) {
	t.Helper()
	if got.Status != was.Status || got.Assignee != was.Assignee || !got.UpdateTime.Equal(was.UpdateTime) || len(got.Attempts) != len(was.Attempts) ||
		!got.NextAttemptTime.Equal(was.NextAttemptTime) {
		t.Errorf("%s: stored %+v, was %+v", what, got, was)
	}
}

// ChangeNone (a retried or stale request) writes nothing, whatever fn did
// to its copy, and answers the task as stored.
func noChangeWritesNothing(t *testing.T, s callback.Store) {
	ctx := context.Background()
	task := ensure(t, s, "SH001", "RO-1")
	answer, err := s.Update(ctx, pg.Dealers("SH001"), "SH001", task.ID, t0.Add(time.Hour), func(t *callback.Task) (callback.Change, error) {
		t.Assignee, t.Status = "someone", callback.StatusCancelled
		return callback.Change{}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sameTask(t, "answer", answer, task)
	stored, err := s.Get(ctx, pg.Dealers("SH001"), "SH001", task.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameTask(t, "stored", stored, task)
}

func failedUpdateChangesNothing(t *testing.T, s callback.Store) {
	ctx := context.Background()
	task := ensure(t, s, "SH001", "RO-1")
	_, err := s.Update(ctx, pg.Dealers("SH001"), "SH001", task.ID, t0.Add(time.Hour), func(t *callback.Task) (callback.Change, error) {
		t.Assignee = "someone"
		_, err := t.RecordAttempt(callback.Attempt{Number: 1, Outcome: callback.OutcomeAnswered, Time: t0, Agent: "a"})
		if err != nil {
			return callback.Change{}, err
		}
		return callback.Change{Kind: callback.ChangeAttempted}, apperr.Errorf(apperr.ECONFLICT, "refused")
	})
	if apperr.Code(err) != apperr.ECONFLICT {
		t.Fatalf("update: %v, want the closure's ECONFLICT", err)
	}
	stored, err := s.Get(ctx, pg.Dealers("SH001"), "SH001", task.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameTask(t, "stored", stored, task)
}

// The attempt fn appended is stored with ChangeAttempted, and only then.
func onlyAnAttemptChangeStoresTheAttempt(t *testing.T, s callback.Store) {
	ctx := context.Background()
	task := ensure(t, s, "SH001", "RO-1")
	record := func(n int, kind callback.ChangeKind) {
		t.Helper()
		at := t0.Add(time.Duration(n) * time.Minute)
		if _, err := s.Update(ctx, pg.Dealers("SH001"), "SH001", task.ID, at, func(t *callback.Task) (callback.Change, error) {
			_, err := t.RecordAttempt(callback.Attempt{Number: n, Outcome: callback.OutcomeNoAnswer, Time: at, Agent: "agent-1", Note: "响铃无人接"})
			return callback.Change{Kind: kind}, err
		}); err != nil {
			t.Fatal(err)
		}
	}
	record(1, callback.ChangeAttempted)
	record(2, callback.ChangeAssigned) // an attempt appended under another kind is not a row
	stored, err := s.Get(ctx, pg.Dealers("SH001"), "SH001", task.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := callback.Attempt{Number: 1, Outcome: callback.OutcomeNoAnswer, Time: t0.Add(time.Minute), Agent: "agent-1", Note: "响铃无人接"}
	if len(stored.Attempts) != 1 || !stored.Attempts[0].Time.Equal(want.Time) {
		t.Fatalf("attempts %+v, want [%+v]", stored.Attempts, want)
	}
	got := stored.Attempts[0]
	got.Time = want.Time
	if got != want {
		t.Errorf("attempt %+v, want %+v", got, want)
	}
}

func ensureBySourceAnswersTheExisting(t *testing.T, s callback.Store) {
	first := ensure(t, s, "SH001", "RO-1")
	again := ensure(t, s, "SH001", "RO-1")
	if again.ID != first.ID || again.Questionnaire == nil || again.Questionnaire.ID != first.QuestionnaireID {
		t.Fatalf("second Ensure: %+v, first %+v", again, first)
	}
	if other := ensure(t, s, "HZ001", "RO-1"); other.ID == first.ID {
		t.Fatal("another dealer's repair order of the same number reused the task")
	}
}

func rotationTakesTurns(t *testing.T, s callback.Store) {
	ctx := context.Background()
	for _, a := range []string{"agent-1", "agent-2"} {
		if err := s.PutAgent(ctx, pg.Dealers("SH001"), "SH001", a, a); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, ro := range []string{"RO-1", "RO-2", "RO-3"} {
		got = append(got, ensure(t, s, "SH001", ro).Assignee)
	}
	if !slices.Equal(got, []string{"agent-1", "agent-2", "agent-1"}) {
		t.Errorf("rotation %v", got)
	}
	agents, err := s.Agents(ctx, pg.Dealers("SH001"), "SH001")
	if err != nil || len(agents) != 2 || agents[0].OpenTasks != 2 || agents[1].OpenTasks != 1 {
		t.Errorf("agents %+v %v", agents, err)
	}
	if err := s.DeleteAgent(ctx, pg.Dealers("SH001"), "SH001", "agent-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAgent(ctx, pg.Dealers("SH001"), "SH001", "agent-1"); apperr.Code(err) != apperr.ENOTFOUND {
		t.Errorf("deleting twice: %v", err)
	}
	if a := ensure(t, s, "SH001", "RO-4").Assignee; a != "agent-2" {
		t.Errorf("after agent-1 left: %s", a)
	}
}

// Another dealer's scope, or another dealer's path, does not find a task.
func outOfScopeIsNotFound(t *testing.T, s callback.Store) {
	ctx := context.Background()
	task := ensure(t, s, "SH001", "RO-1")
	if _, err := s.Get(ctx, pg.Dealers("BJ001"), "SH001", task.ID); apperr.Code(err) != apperr.ENOTFOUND {
		t.Errorf("get in BJ001's scope: %v", err)
	}
	if _, err := s.Get(ctx, pg.Dealers("BJ001"), "BJ001", task.ID); apperr.Code(err) != apperr.ENOTFOUND {
		t.Errorf("get under BJ001: %v", err)
	}
	if _, err := s.Get(ctx, pg.Dealers("SH001"), "SH001", "not-a-uuid"); apperr.Code(err) != apperr.ENOTFOUND {
		t.Errorf("get of a malformed id: %v", err)
	}
	_, err := s.Update(ctx, pg.Dealers("BJ001"), "SH001", task.ID, t0, func(t *callback.Task) (callback.Change, error) {
		t.Assignee = "mole"
		return callback.Change{Kind: callback.ChangeAssigned}, nil
	})
	if apperr.Code(err) != apperr.ENOTFOUND {
		t.Errorf("update in BJ001's scope: %v", err)
	}
	list, _, err := s.List(ctx, pg.Dealers("BJ001"), callback.Filter{Dealer: "SH001", Size: 10})
	if err != nil || len(list) != 0 {
		t.Errorf("list in BJ001's scope: %v %v", list, err)
	}
	stored, err := s.Get(ctx, pg.Dealers("SH001"), "SH001", task.ID)
	if err != nil || stored.Assignee == "mole" {
		t.Errorf("after the attempts: %+v %v", stored, err)
	}
}

// A dealer's override is in force for it alone, over HQ's default.
func policyOverrideOverTheDefault(t *testing.T, s callback.Store) {
	ctx := context.Background()
	hq := callback.DefaultPolicy()
	hq.ScoreThreshold = 70
	if err := s.PutPolicy(ctx, callback.DefaultScope, hq); err != nil {
		t.Fatal(err)
	}
	own := callback.Policy{MaxAttempts: 5, RetryInterval: time.Hour, CallingStart: "08:00", CallingEnd: "20:00", ScoreThreshold: 90,
		ComplaintSeverity: callback.SeverityLow, ComplaintSeverityRules: []callback.SeverityRule{{ScoreBelow: 30, Severity: callback.SeverityCritical}}}
	if err := own.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPolicy(ctx, "SH001", own); err != nil {
		t.Fatal(err)
	}
	p, err := s.Policy(ctx, "SH001")
	if err != nil || !p.Overridden || p.MaxAttempts != 5 || p.ScoreThreshold != 90 || p.ComplaintSeverity != callback.SeverityLow ||
		!slices.Equal(p.ComplaintSeverityRules, own.ComplaintSeverityRules) || len(p.Timings) != len(callback.Kinds) {
		t.Errorf("SH001's policy %+v %v", p, err)
	}
	other, err := s.Policy(ctx, "BJ001")
	if err != nil || other.Overridden || other.ScoreThreshold != 70 || other.ComplaintSeverity != callback.SeverityMedium {
		t.Errorf("BJ001's policy %+v %v", other, err)
	}
	def, err := s.Policy(ctx, callback.DefaultScope)
	if err != nil || def.ScoreThreshold != 70 || def.Dealer != "" {
		t.Errorf("HQ's default %+v %v", def, err)
	}
}
