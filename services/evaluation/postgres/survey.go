package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
	"github.com/jackc/pgx/v5"
)

// applySurvey stores a callback fact's answers when the copy is newer
// than the stored answers' (survey_tasks.source_seq): they replace the
// task's earlier answers, and the local days of both completions are
// marked dirty. A task without answers has no row, unless an earlier copy
// had answers (then they are removed). It runs after applyCallback, in
// its transaction; stale is applyCallback's finding that the task's
// stored fact is newer than this copy (a stale copy changes nothing, even
// when no answers are stored: the newer copy had none).
func applySurvey(ctx context.Context, tx pgx.Tx, v evaluation.Versioned[evaluation.CallbackFact], stale bool) (bool, error) {
	f := v.Fact
	if stale {
		return false, nil
	}
	var old *time.Time
	var oldSeq int64
	err := tx.QueryRow(ctx, `SELECT complete_time, source_seq FROM survey_tasks WHERE dealer_id = $1 AND task_id = $2 FOR UPDATE`,
		f.Dealer, f.TaskID).Scan(&old, &oldSeq)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if len(f.Answers) == 0 {
			return false, nil
		}
	case err != nil:
		return false, err
	case oldSeq >= v.Seq:
		return false, nil
	}
	if _, err := tx.Exec(ctx, `DELETE FROM survey_answer_facts WHERE dealer_id = $1 AND task_id = $2`, f.Dealer, f.TaskID); err != nil {
		return false, err
	}
	if len(f.Answers) == 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM survey_tasks WHERE dealer_id = $1 AND task_id = $2`, f.Dealer, f.TaskID); err != nil {
			return false, err
		}
		return true, markInstants(ctx, tx, f.Dealer, deref(old))
	}
	if _, err := tx.Exec(ctx, `INSERT INTO survey_tasks (dealer_id, task_id, complete_time, source_seq) VALUES ($1, $2, $3, $4)
		ON CONFLICT (dealer_id, task_id) DO UPDATE SET complete_time = excluded.complete_time, source_seq = excluded.source_seq`,
		f.Dealer, f.TaskID, f.CompleteTime, v.Seq); err != nil {
		return false, err
	}
	// One statement per task (COPY is not allowed under row-level security).
	n := len(f.Answers)
	questions, types, answers := make([]string, n), make([]string, n), make([]string, n)
	own, problems := make([]bool, n), make([]bool, n)
	versions, scales := make([]int32, n), make([]int32, n)
	for i, a := range f.Answers {
		questions[i], types[i], answers[i], own[i], problems[i], scales[i] = a.Question, a.Type, a.Answer, a.DealerQuestion, a.Problem, int32(a.Scale)
		versions[i] = int32(f.QuestionnaireVersion)
		if a.DealerQuestion {
			versions[i] = int32(f.DealerQuestionsVersion)
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO survey_answer_facts (dealer_id, task_id, question, kind, dealer_question, version, type, scale, answer, problem, complete_time)
		SELECT $1, $2, q, $3, o, v, t, s, a, p, $4
		FROM unnest($5::text[], $6::bool[], $7::int[], $8::text[], $9::int[], $10::text[], $11::bool[]) x(q, o, v, t, s, a, p)
		ON CONFLICT (dealer_id, task_id, question) DO NOTHING`,
		f.Dealer, f.TaskID, f.Kind, f.CompleteTime, questions, own, versions, types, scales, answers, problems); err != nil {
		return false, err
	}
	return true, markInstants(ctx, tx, f.Dealer, f.CompleteTime, deref(old))
}

// surveyDays recomputes dealer's survey counts of the local days
// r.from..r.to in zone, straight from the answers: part of the dealer's
// rollup, in its transaction.
func surveyDays(ctx context.Context, tx pgx.Tx, dealer string, r dayRange, zone string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM survey_days WHERE dealer_id = $1 AND day BETWEEN $2 AND $3`, dealer, r.from, r.to); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO survey_days (dealer_id, day, kind, dealer_question, version, question, answer, type, scale, problem, count)
		SELECT $1, (a.complete_time AT TIME ZONE $4)::date, a.kind, a.dealer_question, a.version, a.question, a.answer,
		       max(a.type), max(a.scale), bool_or(a.problem), count(*)
		FROM survey_answer_facts a
		WHERE a.dealer_id = $1 AND a.complete_time >= ($2::date)::timestamp AT TIME ZONE $4 AND a.complete_time < ($3::date + 1)::timestamp AT TIME ZONE $4
		GROUP BY 2, 3, 4, 5, 6, 7`, dealer, r.from, r.to, zone)
	return err
}

// SurveyCounts implements evaluation.SurveyStore from the rolled-up days.
func (s *Store) SurveyCounts(ctx context.Context, scope pg.Scope, dealers []string, withDealerQuestions bool, f evaluation.SurveyFilter,
	starts, ends []evaluation.Date) (map[evaluation.Date][]evaluation.SurveyCount, error) {
	out := map[evaluation.Date][]evaluation.SurveyCount{}
	err := pg.InReadOnlyTx(ctx, s.pool, scope, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT p.start, d.kind, d.dealer_question, d.version, d.question, d.answer,
				max(d.type), max(d.scale), bool_or(d.problem), sum(d.count)::bigint
			FROM unnest($1::date[], $2::date[]) p(start, finish)
			JOIN survey_days d ON d.day >= p.start AND d.day < p.finish
			WHERE ($3::text[] IS NULL OR d.dealer_id = ANY($3)) AND ($4 OR NOT d.dealer_question) AND ($5 = '' OR d.kind = $5)
				AND ($6 = 0 OR d.version = $6) AND ($7 = '' OR d.question = $7)
			GROUP BY 1, 2, 3, 4, 5, 6`, starts, ends, dealers, withDealerQuestions, f.Kind, f.Version, f.Question)
		if err != nil {
			return err
		}
		var start time.Time
		var c evaluation.SurveyCount
		_, err = pgx.ForEachRow(rows, []any{&start, &c.Kind, &c.DealerQuestion, &c.Version, &c.Question, &c.Answer, &c.Type, &c.Scale, &c.Problem, &c.Count},
			func() error {
				out[start] = append(out[start], c)
				return nil
			})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read survey counts: %w", err)
	}
	return out, nil
}
