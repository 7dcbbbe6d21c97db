// Package postgres is the callback service's PostgreSQL adapter.
package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/events"
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

// Store persists callbacks. Methods on dealer data take the caller's scope;
// row-level security backs every query up.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore returns a store over pool (the service role).
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

const taskColumns = `dealer_id, id::text, kind, status, source_type, source_id, workflow_id, customer_id, vin, repair_order_number,
	complaint_id, due_time, deadline, next_attempt_time, assignee, questionnaire_id::text, dealer_questions_version, answers, score,
	problem_reported, satisfied, findings, feedback_role, instruction, instructed_by, instruct_time, rectification, rectified_by,
	rectify_time, end_reason, end_time, complete_time, create_time, update_time`

// optTime reads a nullable timestamp.
type optTime struct{ dst *time.Time }

func (o optTime) Scan(src any) error {
	if src == nil {
		*o.dst = time.Time{}
		return nil
	}
	t, ok := src.(time.Time)
	if !ok {
		return fmt.Errorf("scan %T into a time", src)
	}
	*o.dst = t
	return nil
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func scanTask(row pgx.Row) (*callback.Task, error) {
	var t callback.Task
	var answers []byte
	err := row.Scan(&t.Dealer, &t.ID, &t.Kind, &t.Status, &t.SourceType, &t.SourceID, &t.WorkflowID, &t.Customer, &t.VIN,
		&t.RepairOrderNumber, &t.Complaint, &t.DueTime, &t.Deadline, optTime{&t.NextAttemptTime}, &t.Assignee, &t.QuestionnaireID,
		&t.DealerVersion, &answers, &t.Score, &t.ProblemReported, &t.Satisfied, &t.Findings, &t.FeedbackRole, &t.Instruction,
		&t.InstructedBy, optTime{&t.InstructTime}, &t.Rectification, &t.RectifiedBy, optTime{&t.RectifyTime}, &t.EndReason,
		optTime{&t.EndTime}, optTime{&t.CompleteTime}, &t.CreateTime, &t.UpdateTime)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(answers, &t.Answers); err != nil {
		return nil, fmt.Errorf("task %s answers: %w", t.ID, err)
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
		err := r.Scan(&a.Number, &a.Time, &a.Outcome, optTime{&a.CallBackTime}, &a.Note, &a.Agent)
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
			t.Complaint, t.DueTime, t.Deadline, nullTime(t.NextAttemptTime), t.Assignee, t.QuestionnaireID, t.DealerVersion,
			answers, t.FeedbackRole, t.EndReason, nullTime(t.EndTime), t.CreateTime))
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

// Change is what an update did besides the task's own columns.
type Change struct {
	// Unchanged: nothing to write (a retried or stale request).
	Unchanged bool
	// Attempted: the task's last attempt is new.
	Attempted bool
	// Event, if set, is queued for the task's workflow with Payload.
	Event   string
	Payload any
}

// Update locks dealer's task id, applies fn and writes the task, a new
// attempt and the workflow's event in one transaction.
func (s *Store) Update(ctx context.Context, scope pg.Scope, dealer, id string, at time.Time, fn func(*callback.Task) (Change, error)) (*callback.Task, error) {
	var out *callback.Task
	err := pg.InTx(ctx, s.pool, scope, func(tx pgx.Tx) error {
		t, err := load(ctx, tx, dealer, id, true)
		if err != nil {
			return err
		}
		ch, err := fn(t)
		if err != nil {
			return err
		}
		if ch.Unchanged {
			out = t
			return nil
		}
		answers, err := json.Marshal(t.Answers)
		if err != nil {
			return err
		}
		attempts, q := t.Attempts, t.Questionnaire
		out, err = scanTask(tx.QueryRow(ctx, `UPDATE callback_tasks SET status = $3, next_attempt_time = $4, assignee = $5, answers = $6,
			score = $7, problem_reported = $8, satisfied = $9, findings = $10, complaint_id = $11, instruction = $12, instructed_by = $13,
			instruct_time = $14, rectification = $15, rectified_by = $16, rectify_time = $17, end_reason = $18, end_time = $19,
			complete_time = $20, update_time = $21
			WHERE dealer_id = $1 AND id = $2 RETURNING `+taskColumns,
			dealer, id, t.Status, nullTime(t.NextAttemptTime), t.Assignee, answers, t.Score, t.ProblemReported, t.Satisfied, t.Findings,
			t.Complaint, t.Instruction, t.InstructedBy, nullTime(t.InstructTime), t.Rectification, t.RectifiedBy, nullTime(t.RectifyTime),
			t.EndReason, nullTime(t.EndTime), nullTime(t.CompleteTime), at))
		if err != nil {
			return err
		}
		out.Attempts, out.Questionnaire = attempts, q
		if ch.Attempted {
			a := attempts[len(attempts)-1]
			if _, err := tx.Exec(ctx, `INSERT INTO callback_attempts (dealer_id, task_id, number, time, outcome, call_back_time, note, agent)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, dealer, id, a.Number, a.Time, a.Outcome, nullTime(a.CallBackTime), a.Note, a.Agent); err != nil {
				return err
			}
		}
		if ch.Event == "" {
			return nil
		}
		return outbox.Add(ctx, tx, outbox.Event{
			DealerID: dealer, Kind: ch.Event, WorkflowID: out.WorkflowID, WorkflowType: events.CallbackWorkflowType,
			TaskQueue: events.CallbackTaskQueue, SignalName: events.CallbackSignal, StartInput: out.Start(),
			Payload: ch.Payload, OccurredAt: at,
		})
	})
	if err != nil {
		if _, ok := apperr.As(err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("update callback task %s: %w", id, err)
	}
	return out, nil
}

// Filter selects tasks of one dealer.
type Filter struct {
	Dealer   string
	Kind     string
	Status   string
	Assignee string
	// DueOnly: pending or in progress with the next attempt due by Now.
	DueOnly bool
	// AwaitingInstruction: completed with findings or a dissatisfied
	// customer, and no instruction yet.
	AwaitingInstruction bool
	Now                 time.Time
	PageToken           string
	Size                int
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
func (s *Store) List(ctx context.Context, scope pg.Scope, f Filter) ([]callback.Task, string, error) {
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
	afterNext, afterID, afterDue, limit := q.Add(nullTime(after.next)), q.Add(after.id), q.Add(nullTime(after.due)), q.Add(f.Size)
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
