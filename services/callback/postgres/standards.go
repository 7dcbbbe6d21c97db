package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/outbox"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/callback/callback"
	"github.com/jackc/pgx/v5"
)

// DefaultScope is the policy row of HQ's default.
const DefaultScope = callback.DefaultScope

type storedTiming struct {
	Kind    string `json:"kind"`
	DelayS  int64  `json:"delay_s"`
	WindowS int64  `json:"window_s"`
}

type storedSeverityRule struct {
	ScoreBelow float64 `json:"score_below"`
	Severity   string  `json:"severity"`
}

// policyRow reads the policy of scope; nil when none is stored.
func policyRow(ctx context.Context, tx pgx.Tx, scope string) (*callback.Policy, error) {
	var p callback.Policy
	var raw, rawRules []byte
	var retry int64
	err := tx.QueryRow(ctx, `SELECT timings, max_attempts, retry_interval_s, calling_start, calling_end, score_threshold,
		complaint_severity, complaint_severity_rules, update_time
		FROM callback_policies WHERE scope = $1`, scope).Scan(&raw, &p.MaxAttempts, &retry, &p.CallingStart, &p.CallingEnd, &p.ScoreThreshold,
		&p.ComplaintSeverity, &rawRules, &p.UpdateTime)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ts []storedTiming
	if err := json.Unmarshal(raw, &ts); err != nil {
		return nil, err
	}
	for _, t := range ts {
		p.Timings = append(p.Timings, callback.Timing{Kind: t.Kind, Delay: time.Duration(t.DelayS) * time.Second, Window: time.Duration(t.WindowS) * time.Second})
	}
	var rules []storedSeverityRule
	if err := json.Unmarshal(rawRules, &rules); err != nil {
		return nil, err
	}
	for _, r := range rules {
		p.ComplaintSeverityRules = append(p.ComplaintSeverityRules, callback.SeverityRule{ScoreBelow: r.ScoreBelow, Severity: r.Severity})
	}
	p.RetryInterval = time.Duration(retry) * time.Second
	return &p, nil
}

// Policy returns the policy in force for dealer (DefaultScope for HQ's
// default): its override over HQ's default over the built-in one.
func (s *Store) Policy(ctx context.Context, dealer string) (callback.Policy, error) {
	var out callback.Policy
	err := pg.InReadOnlyTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		hq, err := policyRow(ctx, tx, DefaultScope)
		if err != nil {
			return err
		}
		if hq == nil {
			d := callback.DefaultPolicy()
			hq = &d
		}
		if dealer == DefaultScope {
			out = callback.Effective("", *hq, nil)
			out.UpdateTime = hq.UpdateTime
			return nil
		}
		own, err := policyRow(ctx, tx, dealer)
		if err != nil {
			return err
		}
		out = callback.Effective(dealer, *hq, own)
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("load callback policy of %s: %w", dealer, err)
	}
	return out, nil
}

// PutPolicy stores the policy of scope (a dealer code or DefaultScope).
func (s *Store) PutPolicy(ctx context.Context, scope string, p callback.Policy) error {
	ts := []storedTiming{}
	for _, t := range p.Timings {
		ts = append(ts, storedTiming{t.Kind, int64(t.Delay / time.Second), int64(t.Window / time.Second)})
	}
	raw, _ := json.Marshal(ts)
	rules := []storedSeverityRule{}
	for _, r := range p.ComplaintSeverityRules {
		rules = append(rules, storedSeverityRule{r.ScoreBelow, r.Severity})
	}
	rawRules, _ := json.Marshal(rules)
	err := pg.InTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO callback_policies (scope, timings, max_attempts, retry_interval_s, calling_start, calling_end, score_threshold,
				complaint_severity, complaint_severity_rules)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (scope) DO UPDATE SET timings = EXCLUDED.timings, max_attempts = EXCLUDED.max_attempts,
				retry_interval_s = EXCLUDED.retry_interval_s, calling_start = EXCLUDED.calling_start, calling_end = EXCLUDED.calling_end,
				score_threshold = EXCLUDED.score_threshold, complaint_severity = EXCLUDED.complaint_severity,
				complaint_severity_rules = EXCLUDED.complaint_severity_rules, update_time = now()`,
			scope, raw, p.MaxAttempts, int64(p.RetryInterval/time.Second), p.CallingStart, p.CallingEnd, p.ScoreThreshold,
			p.ComplaintSeverity, rawRules)
		return err
	})
	if err != nil {
		return fmt.Errorf("store callback policy of %s: %w", scope, err)
	}
	return nil
}

// Questionnaires lists HQ's questionnaires (of kind, or all), newest
// version first.
func (s *Store) Questionnaires(ctx context.Context, kind string) ([]callback.Questionnaire, error) {
	var out []callback.Questionnaire
	err := pg.InReadOnlyTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+questionnaireColumns+` FROM questionnaires WHERE $1 = '' OR kind = $1
			ORDER BY kind, version DESC`, kind)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (callback.Questionnaire, error) {
			q, err := scanQuestionnaire(r)
			if err != nil {
				return callback.Questionnaire{}, err
			}
			return *q, nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list questionnaires: %w", err)
	}
	return out, nil
}

// CreateQuestionnaire publishes q as the next version of its kind.
func (s *Store) CreateQuestionnaire(ctx context.Context, q callback.Questionnaire) (*callback.Questionnaire, error) {
	raw, err := json.Marshal(q.Questions)
	if err != nil {
		return nil, err
	}
	var out *callback.Questionnaire
	err = pg.InTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		// Publishers of one kind queue here, so versions never collide.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('callback/questionnaire/' || $1))`, q.Kind); err != nil {
			return err
		}
		out, err = scanQuestionnaire(tx.QueryRow(ctx, `INSERT INTO questionnaires (id, kind, version, title, script, questions)
			SELECT $1, $2, coalesce(max(version), 0) + 1, $3, $4, $5 FROM questionnaires WHERE kind = $2
			RETURNING `+questionnaireColumns, outbox.NewID(), q.Kind, q.Title, q.Script, raw))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create questionnaire: %w", err)
	}
	return out, nil
}

// DealerQuestionnaire is what dealer's new tasks of kind use: HQ's current
// version followed by the dealer's current questions.
func (s *Store) DealerQuestionnaire(ctx context.Context, scope pg.Scope, dealer, kind string) (*callback.Questionnaire, error) {
	var out *callback.Questionnaire
	err := pg.InReadOnlyTx(ctx, s.pool, scope, func(tx pgx.Tx) (err error) {
		out, err = current(ctx, tx, dealer, kind)
		return err
	})
	return out, err
}

func current(ctx context.Context, tx pgx.Tx, dealer, kind string) (*callback.Questionnaire, error) {
	var id string
	var version int
	err := tx.QueryRow(ctx, `SELECT q.id::text, coalesce((SELECT max(version) FROM dealer_questions d WHERE d.dealer_id = $1 AND d.kind = $2), 0)
		FROM questionnaires q WHERE q.kind = $2 ORDER BY q.version DESC LIMIT 1`, dealer, kind).Scan(&id, &version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apperr.NotFound("questionnaire", "问卷", kind)
	}
	if err != nil {
		return nil, err
	}
	q, err := questionnaire(ctx, tx, id, dealer, version)
	if err == nil {
		q.Dealer = dealer
	}
	return q, err
}

// PutDealerQuestions stores qs as the next version of dealer's questions
// for kind; validate checks them against HQ's current codes first.
func (s *Store) PutDealerQuestions(ctx context.Context, scope pg.Scope, dealer, kind string, qs []callback.Question,
	validate func(hqCodes []string) error) (*callback.Questionnaire, error) {
	var out *callback.Questionnaire
	err := pg.InTx(ctx, s.pool, scope, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('callback/dealer_questions/' || $1 || '/' || $2))`, dealer, kind); err != nil {
			return err
		}
		hq, err := current(ctx, tx, "", kind)
		if err != nil {
			return err
		}
		if err := validate(hq.Codes()); err != nil {
			return err
		}
		if qs == nil {
			qs = []callback.Question{}
		}
		raw, err := json.Marshal(qs)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO dealer_questions (dealer_id, kind, version, questions)
			SELECT $1, $2, coalesce(max(version), 0) + 1, $3 FROM dealer_questions WHERE dealer_id = $1 AND kind = $2`, dealer, kind, raw); err != nil {
			return err
		}
		out, err = current(ctx, tx, dealer, kind)
		return err
	})
	if err != nil {
		if _, ok := apperr.As(err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("store dealer questions %s %s: %w", dealer, kind, err)
	}
	return out, nil
}

// Agents lists dealer's active agents in rotation order, with the open
// tasks assigned to each.
func (s *Store) Agents(ctx context.Context, scope pg.Scope, dealer string) ([]callback.Agent, error) {
	var out []callback.Agent
	err := pg.InReadOnlyTx(ctx, s.pool, scope, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT a.subject, a.display_name, a.dealer_id, a.create_time,
				(SELECT count(*) FROM callback_tasks t WHERE t.dealer_id = a.dealer_id AND t.assignee = a.subject
				   AND t.status IN ('pending', 'in_progress'))
			FROM callback_agents a WHERE a.dealer_id = $1 AND a.active ORDER BY a.position`, dealer)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (callback.Agent, error) {
			var a callback.Agent
			err := r.Scan(&a.Subject, &a.DisplayName, &a.Dealer, &a.CreateTime, &a.OpenTasks)
			return a, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list callback agents: %w", err)
	}
	return out, nil
}

// PutAgent adds an agent at the end of the rotation, or reactivates one
// at its old place.
func (s *Store) PutAgent(ctx context.Context, scope pg.Scope, dealer, subject, displayName string) error {
	err := pg.InTx(ctx, s.pool, scope, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('callback/agents/' || $1))`, dealer); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO callback_agents (dealer_id, subject, display_name, position)
			SELECT $1, $2, $3, coalesce(max(position), 0) + 1 FROM callback_agents WHERE dealer_id = $1
			ON CONFLICT (dealer_id, subject) DO UPDATE SET active = true, display_name = EXCLUDED.display_name`, dealer, subject, displayName)
		return err
	})
	if err != nil {
		return fmt.Errorf("store callback agent: %w", err)
	}
	return nil
}

// DeleteAgent takes an agent out of the rotation; ENOTFOUND when not in it.
func (s *Store) DeleteAgent(ctx context.Context, scope pg.Scope, dealer, subject string) error {
	return pg.InTx(ctx, s.pool, scope, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE callback_agents SET active = false WHERE dealer_id = $1 AND subject = $2 AND active`, dealer, subject)
		if err != nil {
			return fmt.Errorf("delete callback agent: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return apperr.NotFound("callback agent", "回访专员", subject)
		}
		return nil
	})
}

// Report counts dealer's figures per kind over [start, end): tasks due
// (cancelled ones excluded, as the callback-rate KPI does), tasks ended
// completed, unreachable, refused or expired, and attempts made, each by
// its own time.
func (s *Store) Report(ctx context.Context, scope pg.Scope, dealer string, start, end time.Time) ([]callback.Figures, error) {
	byKind := map[string]*callback.Figures{}
	get := func(k string) *callback.Figures {
		if byKind[k] == nil {
			byKind[k] = &callback.Figures{Kind: k}
		}
		return byKind[k]
	}
	err := pg.InReadOnlyTx(ctx, s.pool, scope, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT kind,
				count(*) FILTER (WHERE due_time >= $2 AND due_time < $3 AND status <> 'cancelled'),
				count(*) FILTER (WHERE status = 'completed' AND end_time >= $2 AND end_time < $3),
				count(*) FILTER (WHERE status = 'unreachable' AND end_time >= $2 AND end_time < $3),
				count(*) FILTER (WHERE status = 'refused' AND end_time >= $2 AND end_time < $3),
				count(*) FILTER (WHERE status = 'expired' AND end_time >= $2 AND end_time < $3),
				coalesce(sum(score) FILTER (WHERE status = 'completed' AND end_time >= $2 AND end_time < $3), 0),
				count(*) FILTER (WHERE status = 'completed' AND end_time >= $2 AND end_time < $3 AND NOT satisfied),
				count(*) FILTER (WHERE status = 'completed' AND end_time >= $2 AND end_time < $3 AND complaint_id <> ''
				                   AND kind <> 'COMPLAINT_FOLLOW_UP')
			FROM callback_tasks
			WHERE dealer_id = $1 AND ((due_time >= $2 AND due_time < $3) OR (end_time >= $2 AND end_time < $3))
			GROUP BY kind`, dealer, start, end)
		if err != nil {
			return err
		}
		var f callback.Figures
		_, err = pgx.ForEachRow(rows, []any{&f.Kind, &f.Due, &f.Completed, &f.Unreachable, &f.Refused, &f.Expired, &f.ScoreSum,
			&f.ProblemsFound, &f.ComplaintsOpened}, func() error {
			get(f.Kind).Add(f)
			return nil
		})
		if err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT t.kind, count(*) FROM callback_attempts a
			JOIN callback_tasks t ON t.dealer_id = a.dealer_id AND t.id = a.task_id
			WHERE a.dealer_id = $1 AND a.time >= $2 AND a.time < $3 GROUP BY t.kind`, dealer, start, end)
		if err != nil {
			return err
		}
		var kind string
		var n int
		_, err = pgx.ForEachRow(rows, []any{&kind, &n}, func() error {
			get(kind).Attempts += n
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("callback report of %s: %w", dealer, err)
	}
	var out []callback.Figures
	for _, k := range callback.Kinds {
		if f := byKind[k]; f != nil {
			out = append(out, *f)
		}
	}
	return out, nil
}
