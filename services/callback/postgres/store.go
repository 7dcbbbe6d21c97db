// Package postgres is the callback service's PostgreSQL adapter.
package postgres

import (
	"context"
	"database/sql/driver"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/idempotency"
	"github.com/dealercare/dealercare/pkg/outbox"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/validate"
	"github.com/dealercare/dealercare/services/callback/callback"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Schema is the callback service's PostgreSQL schema.
const Schema = "callback"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded, versioned migrations.
func Migrations() (fs.FS, error) { return fs.Sub(migrationFiles, "migrations") }

// Store is the callback.Store over PostgreSQL. Methods on dealer data take
// the caller's scope; row-level security backs every query up.
type Store struct {
	pool *pgxpool.Pool
}

var _ callback.Store = (*Store)(nil)

// NewStore returns a store over pool (the service role).
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// taskFields are the columns of callback_tasks: where a read puts each
// and, unless it is fixed when the task is created, what Update writes.
// The select list, scanTask and Update's SET clause all come from this one
// list, so a field that is read is also written.
var taskFields = pg.Fields[callback.Task]{
	{Column: "dealer_id", Dst: func(t *callback.Task) any { return &t.Dealer }},
	{Column: "id::text", Dst: func(t *callback.Task) any { return &t.ID }},
	{Column: "kind", Dst: func(t *callback.Task) any { return &t.Kind }},
	{Column: "status", Dst: func(t *callback.Task) any { return &t.Status }, Value: func(t *callback.Task) any { return t.Status }},
	{Column: "source_type", Dst: func(t *callback.Task) any { return &t.SourceType }},
	{Column: "source_id", Dst: func(t *callback.Task) any { return &t.SourceID }},
	{Column: "workflow_id", Dst: func(t *callback.Task) any { return &t.WorkflowID }},
	{Column: "customer_id", Dst: func(t *callback.Task) any { return &t.Customer }},
	{Column: "vin", Dst: func(t *callback.Task) any { return &t.VIN }},
	{Column: "repair_order_number", Dst: func(t *callback.Task) any { return &t.RepairOrderNumber }},
	{Column: "complaint_id", Dst: func(t *callback.Task) any { return &t.Complaint }, Value: func(t *callback.Task) any { return t.Complaint }},
	{Column: "due_time", Dst: func(t *callback.Task) any { return &t.DueTime }},
	{Column: "deadline", Dst: func(t *callback.Task) any { return &t.Deadline }},
	{Column: "next_attempt_time", Dst: func(t *callback.Task) any { return pg.OptTime{Dst: &t.NextAttemptTime} }, Value: func(t *callback.Task) any { return pg.NullTime(t.NextAttemptTime) }},
	{Column: "assignee", Dst: func(t *callback.Task) any { return &t.Assignee }, Value: func(t *callback.Task) any { return t.Assignee }},
	{Column: "questionnaire_id::text", Dst: func(t *callback.Task) any { return &t.QuestionnaireID }},
	{Column: "dealer_questions_version", Dst: func(t *callback.Task) any { return &t.DealerVersion }},
	{Column: "answers", Dst: func(t *callback.Task) any { return jsonAnswers{&t.Answers} }, Value: func(t *callback.Task) any { return jsonAnswers{&t.Answers} }},
	{Column: "score", Dst: func(t *callback.Task) any { return &t.Score }, Value: func(t *callback.Task) any { return t.Score }},
	{Column: "problem_reported", Dst: func(t *callback.Task) any { return &t.ProblemReported }, Value: func(t *callback.Task) any { return t.ProblemReported }},
	{Column: "satisfied", Dst: func(t *callback.Task) any { return &t.Satisfied }, Value: func(t *callback.Task) any { return t.Satisfied }},
	{Column: "findings", Dst: func(t *callback.Task) any { return &t.Findings }, Value: func(t *callback.Task) any { return t.Findings }},
	{Column: "feedback_role", Dst: func(t *callback.Task) any { return &t.FeedbackRole }},
	{Column: "instruction", Dst: func(t *callback.Task) any { return &t.Instruction }, Value: func(t *callback.Task) any { return t.Instruction }},
	{Column: "instructed_by", Dst: func(t *callback.Task) any { return &t.InstructedBy }, Value: func(t *callback.Task) any { return t.InstructedBy }},
	{Column: "instruct_time", Dst: func(t *callback.Task) any { return pg.OptTime{Dst: &t.InstructTime} }, Value: func(t *callback.Task) any { return pg.NullTime(t.InstructTime) }},
	{Column: "rectification", Dst: func(t *callback.Task) any { return &t.Rectification }, Value: func(t *callback.Task) any { return t.Rectification }},
	{Column: "rectified_by", Dst: func(t *callback.Task) any { return &t.RectifiedBy }, Value: func(t *callback.Task) any { return t.RectifiedBy }},
	{Column: "rectify_time", Dst: func(t *callback.Task) any { return pg.OptTime{Dst: &t.RectifyTime} }, Value: func(t *callback.Task) any { return pg.NullTime(t.RectifyTime) }},
	{Column: "end_reason", Dst: func(t *callback.Task) any { return &t.EndReason }, Value: func(t *callback.Task) any { return t.EndReason }},
	{Column: "end_time", Dst: func(t *callback.Task) any { return pg.OptTime{Dst: &t.EndTime} }, Value: func(t *callback.Task) any { return pg.NullTime(t.EndTime) }},
	{Column: "complete_time", Dst: func(t *callback.Task) any { return pg.OptTime{Dst: &t.CompleteTime} }, Value: func(t *callback.Task) any { return pg.NullTime(t.CompleteTime) }},
	{Column: "create_time", Dst: func(t *callback.Task) any { return &t.CreateTime }},
	{Column: "update_time", Dst: func(t *callback.Task) any { return &t.UpdateTime }, Value: func(t *callback.Task) any { return t.UpdateTime }},
}

// taskColumns is the select list of a task.
var taskColumns = taskFields.Columns()

// jsonAnswers reads and writes the answers column as JSON.
type jsonAnswers struct{ a *[]callback.Answer }

func (j jsonAnswers) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*j.a = nil
		return nil
	case []byte:
		return json.Unmarshal(v, j.a)
	case string:
		return json.Unmarshal([]byte(v), j.a)
	}
	return fmt.Errorf("scan %T into answers", src)
}

func (j jsonAnswers) Value() (driver.Value, error) {
	raw, err := json.Marshal(*j.a)
	return string(raw), err
}

func scanTask(row pgx.Row) (*callback.Task, error) {
	var t callback.Task
	if err := taskFields.Scan(row, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

func notFound(id string) error { return apperr.NotFound("callback task", "回访任务", id) }

// load reads dealer's task id with its attempts and questionnaire.
func load(ctx context.Context, tx pgx.Tx, dealer, id string, lock bool) (*callback.Task, error) {
	if !validate.IsUUID(id) {
		return nil, notFound(id)
	}
	q := `SELECT ` + taskColumns + ` FROM callback_tasks WHERE dealer_id = $1 AND id = $2`
	if lock {
		q += ` FOR UPDATE`
	}
	t, err := scanTask(tx.QueryRow(ctx, q, dealer, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, `SELECT number, time, outcome, call_back_time, note, agent FROM callback_attempts
		WHERE dealer_id = $1 AND task_id = $2 ORDER BY number`, dealer, id)
	if err != nil {
		return nil, err
	}
	t.Attempts, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (callback.Attempt, error) {
		var a callback.Attempt
		err := r.Scan(&a.Number, &a.Time, &a.Outcome, pg.OptTime{Dst: &a.CallBackTime}, &a.Note, &a.Agent)
		return a, err
	})
	if err != nil {
		return nil, err
	}
	t.Questionnaire, err = questionnaire(ctx, tx, t.QuestionnaireID, dealer, t.DealerVersion)
	return t, err
}

// questionnaire assembles HQ's questionnaire id followed by the dealer's
// questions of version dealerVersion (none when 0).
func questionnaire(ctx context.Context, tx pgx.Tx, id, dealer string, dealerVersion int) (*callback.Questionnaire, error) {
	q, err := scanQuestionnaire(tx.QueryRow(ctx, `SELECT `+questionnaireColumns+` FROM questionnaires WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("questionnaire %s: %w", id, err)
	}
	if dealerVersion == 0 {
		return q, nil
	}
	var raw []byte
	if err := tx.QueryRow(ctx, `SELECT questions FROM dealer_questions WHERE dealer_id = $1 AND kind = $2 AND version = $3`,
		dealer, q.Kind, dealerVersion).Scan(&raw); err != nil {
		return nil, fmt.Errorf("dealer questions %s %s v%d: %w", dealer, q.Kind, dealerVersion, err)
	}
	var own []callback.Question
	if err := json.Unmarshal(raw, &own); err != nil {
		return nil, err
	}
	q.Questions = append(q.Questions, own...)
	q.Dealer, q.DealerVersion = dealer, dealerVersion
	return q, nil
}

const questionnaireColumns = `id::text, kind, version, title, script, questions, create_time`

func scanQuestionnaire(row pgx.Row) (*callback.Questionnaire, error) {
	var q callback.Questionnaire
	var raw []byte
	if err := row.Scan(&q.ID, &q.Kind, &q.Version, &q.Title, &q.Script, &raw, &q.CreateTime); err != nil {
		return nil, err
	}
	return &q, json.Unmarshal(raw, &q.Questions)
}

// errRaced: another request inserted the same source's task first.
var errRaced = errors.New("task inserted concurrently")

// Ensure creates t (from callback.NewTask) unless its source already has
// a task of its kind, which it returns unchanged instead. A new task gets
// the next agent of the dealer's rotation (none when the dealer has no
// active agents) and the questionnaire in force: HQ's current version for
// the kind and the dealer's current questions.
func (s *Store) Ensure(ctx context.Context, t *callback.Task) (*callback.Task, error) {
	scope := pg.Dealers(t.Dealer)
	var out *callback.Task
	err := pg.InTx(ctx, s.pool, scope, func(tx pgx.Tx) error {
		var id string
		err := tx.QueryRow(ctx, `SELECT id::text FROM callback_tasks WHERE dealer_id = $1 AND kind = $2 AND source_id = $3`,
			t.Dealer, t.Kind, t.SourceID).Scan(&id)
		if err == nil {
			out, err = load(ctx, tx, t.Dealer, id, false)
			return err
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT id::text FROM questionnaires WHERE kind = $1 ORDER BY version DESC LIMIT 1`, t.Kind).Scan(&t.QuestionnaireID); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return apperr.Errorf(apperr.EFAILEDPRECOND, "HQ has no questionnaire for %s callbacks", t.Kind).Zh("总部尚未发布 " + t.Kind + " 回访问卷")
			}
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM dealer_questions WHERE dealer_id = $1 AND kind = $2`,
			t.Dealer, t.Kind).Scan(&t.DealerVersion); err != nil {
			return err
		}
		if t.Status == callback.StatusPending {
			if t.Assignee, err = nextAgent(ctx, tx, t.Dealer); err != nil {
				return err
			}
		}
		t.ID = outbox.NewID()
		answers, _ := json.Marshal(t.Answers)
		out, err = scanTask(tx.QueryRow(ctx, `INSERT INTO callback_tasks (dealer_id, id, kind, status, source_type, source_id, workflow_id,
			customer_id, vin, repair_order_number, complaint_id, due_time, deadline, next_attempt_time, assignee, questionnaire_id,
			dealer_questions_version, answers, feedback_role, end_reason, end_time, create_time, update_time)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $22)
			ON CONFLICT (dealer_id, kind, source_id) DO NOTHING RETURNING `+taskColumns,
			t.Dealer, t.ID, t.Kind, t.Status, t.SourceType, t.SourceID, t.WorkflowID, t.Customer, t.VIN, t.RepairOrderNumber,
			t.Complaint, t.DueTime, t.Deadline, pg.NullTime(t.NextAttemptTime), t.Assignee, t.QuestionnaireID, t.DealerVersion,
			answers, t.FeedbackRole, t.EndReason, pg.NullTime(t.EndTime), t.CreateTime))
		if errors.Is(err, pgx.ErrNoRows) {
			return errRaced // roll the rotation back; the winner's task is read below
		}
		if err != nil {
			return err
		}
		out.Questionnaire, err = questionnaire(ctx, tx, out.QuestionnaireID, out.Dealer, out.DealerVersion)
		return err
	})
	if errors.Is(err, errRaced) {
		return s.Ensure(ctx, t)
	}
	if err != nil {
		if _, ok := apperr.As(err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("ensure callback task %s/%s: %w", t.Kind, t.SourceID, err)
	}
	return out, nil
}

// nextAgent advances dealer's rotation to its next active agent, "" when
// it has none.
func nextAgent(ctx context.Context, tx pgx.Tx, dealer string) (string, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO callback_rotation (dealer_id) VALUES ($1) ON CONFLICT DO NOTHING`, dealer); err != nil {
		return "", err
	}
	var last int64
	if err := tx.QueryRow(ctx, `SELECT last_position FROM callback_rotation WHERE dealer_id = $1 FOR UPDATE`, dealer).Scan(&last); err != nil {
		return "", err
	}
	var subject string
	var pos int64
	err := tx.QueryRow(ctx, `SELECT subject, position FROM callback_agents WHERE dealer_id = $1 AND active
		ORDER BY position > $2 DESC, position LIMIT 1`, dealer, last).Scan(&subject, &pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	_, err = tx.Exec(ctx, `UPDATE callback_rotation SET last_position = $2 WHERE dealer_id = $1`, dealer, pos)
	return subject, err
}

// Get returns dealer's task id, visible in scope.
func (s *Store) Get(ctx context.Context, scope pg.Scope, dealer, id string) (*callback.Task, error) {
	var t *callback.Task
	err := pg.InReadOnlyTx(ctx, s.pool, scope, func(tx pgx.Tx) (err error) {
		t, err = load(ctx, tx, dealer, id, false)
		return err
	})
	return t, err
}

// Update implements callback.Store: it locks dealer's task id, applies fn
// and writes the task, a new attempt and the workflow's event in one
// transaction.
func (s *Store) Update(ctx context.Context, scope pg.Scope, dealer, id string, at time.Time, fn func(*callback.Task) (callback.Change, error)) (*callback.Task, error) {
	var out *callback.Task
	err := pg.InTx(ctx, s.pool, scope, func(tx pgx.Tx) error {
		t, err := load(ctx, tx, dealer, id, true)
		if err != nil {
			return err
		}
		// A retry of a keyed action whose answer was lost gets the task as
		// it is now instead of acting twice (pkg/idempotency).
		if _, repeated, err := idempotency.Lookup(ctx, tx, dealer); err != nil || repeated {
			out = t
			return err
		}
		if err := idempotency.Remember(ctx, tx, dealer, id); err != nil {
			return err
		}
		loaded := *t
		loaded.Attempts, loaded.Answers = slices.Clone(t.Attempts), slices.Clone(t.Answers)
		ch, err := fn(t)
		if err != nil {
			return err
		}
		if ch.Kind == callback.ChangeNone {
			out = &loaded // as stored, whatever fn did to its copy
			return nil
		}
		attempts, q := t.Attempts, t.Questionnaire
		t.UpdateTime = at
		var p pg.Params
		where := ` WHERE dealer_id = ` + p.Add(dealer) + ` AND id = ` + p.Add(id)
		set := taskFields.Set(&p, t)
		out, err = scanTask(tx.QueryRow(ctx, `UPDATE callback_tasks SET `+set+where+` RETURNING `+taskColumns, p.Args...))
		if err != nil {
			return err
		}
		out.Attempts, out.Questionnaire = attempts, q
		if ch.Kind == callback.ChangeAttempted {
			a := attempts[len(attempts)-1]
			if _, err := tx.Exec(ctx, `INSERT INTO callback_attempts (dealer_id, task_id, number, time, outcome, call_back_time, note, agent)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, dealer, id, a.Number, a.Time, a.Outcome, pg.NullTime(a.CallBackTime), a.Note, a.Agent); err != nil {
				return err
			}
		}
		if ch.Event == nil {
			return nil
		}
		if err := outbox.Add(ctx, tx, outbox.Event{
			DealerID: dealer, Kind: ch.Event.Kind, WorkflowID: out.WorkflowID, WorkflowType: events.CallbackWorkflowType,
			TaskQueue: events.CallbackTaskQueue, SignalName: events.CallbackSignal, StartInput: out.Start(),
			Payload: ch.Event.Payload, OccurredAt: at,
		}); err != nil {
			return err
		}
		if ch.Event.Kind != events.KindCallbackCompleted {
			return nil
		}
		// A completion reaches the webhook subscribers too: the score and
		// outcome, no personal data.
		hook, err := events.WebhookEvent(dealer, events.WebhookCallbackCompleted, "dealers/"+dealer+"/callbackTasks/"+id, at, ch.Event.Payload)
		if err != nil {
			return err
		}
		return outbox.Add(ctx, tx, hook)
	})
	if err != nil {
		if _, ok := apperr.As(err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("update callback task %s: %w", id, err)
	}
	return out, nil
}

// List lists tasks by next attempt time (unplanned last), then due time
// and id; pages continue after the last row's keys.
//
// The order is the stored column next_key (migration 0004), so the list
// and assignee indexes supply it: under row-level security only leakproof
// operators become index conditions, and coalesce(next_attempt_time, ...)
// made every page sort all the dealer's tasks. The keyset is one row
// comparison whose right side on the first page sorts before every row
// ('-infinity' and the nil uuid, which Go never writes), and DueOnly also
// bounds next_key, so a generic plan (pgx prepares statements) still
// starts and stops the index scan where the page does. ORDER BY says
// t.id: a bare id names the id::text output column and sorts text.
func (s *Store) List(ctx context.Context, scope pg.Scope, f callback.Filter) ([]callback.Task, string, error) {
	after, err := decodeListToken(f.PageToken)
	if err != nil {
		return nil, "", err
	}
	// Only the filters asked for are written: each combination is its own
	// prepared statement, so a generic plan never carries a "$n = '' OR"
	// filter it cannot use (an agent with no tasks walked the dealer's
	// whole list, 255 ms for 200,000 tasks).
	var q pg.Params
	where := `t.dealer_id = ` + q.Add(f.Dealer)
	afterNext, afterID, afterDue, limit := q.Add(pg.NullTime(after.next)), q.Add(after.id), q.Add(pg.NullTime(after.due)), q.Add(f.Size)
	if f.Kind != "" {
		where += ` AND t.kind = ` + q.Add(f.Kind)
	}
	if f.Status != "" {
		where += ` AND t.status = ` + q.Add(f.Status)
	}
	if f.Assignee != "" {
		where += ` AND t.assignee = ` + q.Add(f.Assignee)
	}
	if f.DueOnly {
		where += ` AND t.status IN ('pending', 'in_progress') AND t.next_key <= ` + q.Add(f.Now) + `::timestamptz`
	}
	if f.AwaitingInstruction {
		where += ` AND t.status = 'completed' AND (t.findings <> '' OR NOT t.satisfied) AND t.instruction = ''`
	}
	var out []callback.Task
	err = pg.InReadOnlyTx(ctx, s.pool, scope, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+taskColumns+` FROM callback_tasks t
			WHERE `+where+`
			  AND (t.next_key, t.due_time, t.id) > (
			      CASE WHEN `+afterID+`::uuid IS NULL THEN '-infinity'::timestamptz WHEN `+afterNext+`::timestamptz IS NULL THEN 'infinity'::timestamptz ELSE `+afterNext+` END,
			      CASE WHEN `+afterID+`::uuid IS NULL THEN '-infinity'::timestamptz ELSE `+afterDue+`::timestamptz END,
			      CASE WHEN `+afterID+`::uuid IS NULL THEN '00000000-0000-0000-0000-000000000000'::uuid ELSE `+afterID+` END)
			ORDER BY t.next_key, t.due_time, t.id LIMIT `+limit, q.Args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (callback.Task, error) {
			t, err := scanTask(r)
			if err != nil {
				return callback.Task{}, err
			}
			return *t, nil
		})
		return err
	})
	if err != nil {
		if _, ok := apperr.As(err); ok {
			return nil, "", err
		}
		return nil, "", fmt.Errorf("list callback tasks: %w", err)
	}
	next := ""
	if len(out) == f.Size && f.Size > 0 {
		last := out[len(out)-1]
		next = encodeListToken(last)
	}
	return out, next, nil
}

// listKey is where a page ends: the last row's sort keys.
type listKey struct {
	next, due time.Time
	id        any // nil on the first page
}

// encodeListToken joins two pg page tokens, (next attempt, id) (empty
// while no attempt is planned) and (due time, id), with a dot, which the
// tokens' base64url alphabet never holds.
func encodeListToken(t callback.Task) string {
	next := ""
	if !t.NextAttemptTime.IsZero() {
		next = pg.EncodePageToken(t.NextAttemptTime, t.ID)
	}
	return next + "." + pg.EncodePageToken(t.DueTime, t.ID)
}

func decodeListToken(tok string) (listKey, error) {
	if tok == "" {
		return listKey{}, nil
	}
	bad := apperr.Invalid("page_token", "is not a token returned by a previous call").ZhReason("不是上一次调用返回的分页令牌")
	nextTok, dueTok, ok := strings.Cut(tok, ".")
	if !ok || dueTok == "" {
		return listKey{}, bad
	}
	due, id, err := pg.DecodePageToken(dueTok)
	if err != nil {
		return listKey{}, err
	}
	k := listKey{due: due, id: id}
	if nextTok != "" {
		next, nid, err := pg.DecodePageToken(nextTok)
		if err != nil {
			return listKey{}, err
		}
		if nid != id {
			return listKey{}, bad
		}
		k.next = next
	}
	return k, nil
}
