package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/callback/callback"
	"github.com/jackc/pgx/v5"
)

// TaskChange is a task as the change feed hands it out.
type TaskChange struct {
	Dealer, Task, Kind, SourceID, Status string
	DueTime, Deadline, CompleteTime      time.Time
	Score                                float64
	Cursor                               pg.ChangeCursor
	// QuestionnaireID and QuestionnaireVersion are HQ's questionnaire the
	// task was asked with; DealerVersion the dealer's own questions' (0:
	// none).
	QuestionnaireID                     string
	QuestionnaireVersion, DealerVersion int
	// Answers are a completed task's, with their questions' types.
	Answers []callback.AnswerFact
}

// ListTaskChanges returns up to limit task changes after the cursor, in
// feed order (pkg/postgres change feed), and whether more are ready. It
// reads across dealers: only the platform's service identity calls it.
func (s *Store) ListTaskChanges(ctx context.Context, after pg.ChangeCursor, limit int) ([]TaskChange, bool, error) {
	limit = pg.ChangeLimit(limit)
	var out []TaskChange
	err := pg.InReadOnlyTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		// The questions a completed task was asked (HQ's version, then the
		// dealer's own of its version) give its answers their types.
		rows, err := tx.Query(ctx, `SELECT t.dealer_id, t.id::text, t.kind, t.source_id, t.status, t.due_time, t.deadline, t.complete_time, t.score,
			t.change_xid::text, t.change_seq, t.questionnaire_id::text, coalesce(q.version, 0), t.dealer_questions_version,
			CASE WHEN t.status = 'completed' THEN t.answers ELSE '[]' END,
			CASE WHEN t.status = 'completed' THEN coalesce(q.questions, '[]') ELSE '[]' END,
			CASE WHEN t.status = 'completed' THEN coalesce(d.questions, '[]') ELSE '[]' END
			FROM callback_tasks t
			LEFT JOIN questionnaires q ON q.id = t.questionnaire_id
			LEFT JOIN dealer_questions d ON d.dealer_id = t.dealer_id AND d.kind = t.kind AND d.version = t.dealer_questions_version
			WHERE `+pg.ChangesAfter("t", "$1", "$2")+` ORDER BY `+pg.ChangeOrder("t")+` LIMIT $3`,
			strconv.FormatUint(after.Xid, 10), after.Seq, limit+1)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (TaskChange, error) {
			var c TaskChange
			var xid string
			var answers, hq, own []byte
			if err := r.Scan(&c.Dealer, &c.Task, &c.Kind, &c.SourceID, &c.Status, &c.DueTime, &c.Deadline, pg.OptTime{Dst: &c.CompleteTime},
				&c.Score, &xid, &c.Cursor.Seq, &c.QuestionnaireID, &c.QuestionnaireVersion, &c.DealerVersion, &answers, &hq, &own); err != nil {
				return c, err
			}
			if c.Answers, err = answerFacts(answers, hq, own); err != nil {
				return c, fmt.Errorf("task %s/%s answers: %w", c.Dealer, c.Task, err)
			}
			c.Cursor.Xid, err = strconv.ParseUint(xid, 10, 64)
			return c, err
		})
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("list task changes: %w", err)
	}
	page, more := pg.ChangePage(out, limit)
	return page, more, nil
}

// answerFacts reads stored answers with the questions they answer (HQ's
// and the dealer's own); the questions are read only for answers.
func answerFacts(answers, hq, own []byte) ([]callback.AnswerFact, error) {
	var as []callback.Answer
	if err := json.Unmarshal(answers, &as); err != nil || len(as) == 0 {
		return nil, err
	}
	var q, d []callback.Question
	if err := json.Unmarshal(hq, &q); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(own, &d); err != nil {
		return nil, err
	}
	full := callback.Questionnaire{Questions: append(q, d...)}
	return full.AnswerFacts(as), nil
}
