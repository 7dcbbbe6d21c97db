-- Callback tasks (回访). No personal data: the customer is referenced by
-- the archive's id, never by mobile or ID number.
CREATE TABLE callback_tasks (
    dealer_id                text NOT NULL,
    id                       uuid NOT NULL,
    kind                     text NOT NULL CHECK (kind IN ('3DC', '7DC', 'NEW_CUSTOMER', 'COMPLAINT_FOLLOW_UP', 'REVISIT_OVERDUE', 'CAMPAIGN')),
    status                   text NOT NULL CHECK (status IN ('pending', 'in_progress', 'completed', 'unreachable', 'refused', 'cancelled', 'expired')),
    source_type              text NOT NULL,
    source_id                text NOT NULL,
    workflow_id              text NOT NULL,
    customer_id              text NOT NULL DEFAULT '',
    vin                      text NOT NULL DEFAULT '',
    repair_order_number      text NOT NULL DEFAULT '',
    complaint_id             text NOT NULL DEFAULT '',
    due_time                 timestamptz NOT NULL,
    deadline                 timestamptz NOT NULL,
    next_attempt_time        timestamptz,
    assignee                 text NOT NULL DEFAULT '',
    questionnaire_id         uuid NOT NULL,
    dealer_questions_version integer NOT NULL DEFAULT 0,
    answers                  jsonb NOT NULL DEFAULT '[]',
    score                    double precision NOT NULL DEFAULT 0,
    problem_reported         boolean NOT NULL DEFAULT false,
    satisfied                boolean NOT NULL DEFAULT false,
    findings                 text NOT NULL DEFAULT '',
    feedback_role            text NOT NULL,
    instruction              text NOT NULL DEFAULT '',
    instructed_by            text NOT NULL DEFAULT '',
    instruct_time            timestamptz,
    rectification            text NOT NULL DEFAULT '',
    rectified_by             text NOT NULL DEFAULT '',
    rectify_time             timestamptz,
    end_reason               text NOT NULL DEFAULT '',
    end_time                 timestamptz,
    complete_time            timestamptz,
    create_time              timestamptz NOT NULL DEFAULT now(),
    update_time              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dealer_id, id),
    -- One source never gets two tasks of a kind, however often its event
    -- arrives.
    UNIQUE (dealer_id, kind, source_id)
);
-- An agent's queue, and the reports by due and by end time.
CREATE INDEX callback_tasks_queue_idx ON callback_tasks (dealer_id, assignee, next_attempt_time);
CREATE INDEX callback_tasks_due_idx ON callback_tasks (dealer_id, due_time);
CREATE INDEX callback_tasks_end_idx ON callback_tasks (dealer_id, end_time) WHERE end_time IS NOT NULL;

-- Call attempts: append-only.
CREATE TABLE callback_attempts (
    dealer_id      text NOT NULL,
    task_id        uuid NOT NULL,
    number         integer NOT NULL CHECK (number >= 1),
    time           timestamptz NOT NULL,
    outcome        text NOT NULL CHECK (outcome IN ('answered', 'no_answer', 'busy', 'wrong_number', 'refused', 'call_back_later')),
    call_back_time timestamptz,
    note           text NOT NULL DEFAULT '',
    agent          text NOT NULL,
    PRIMARY KEY (dealer_id, task_id, number),
    FOREIGN KEY (dealer_id, task_id) REFERENCES callback_tasks (dealer_id, id)
);
CREATE INDEX callback_attempts_time_idx ON callback_attempts (dealer_id, time);

CREATE FUNCTION callback_attempts_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'callback_attempts is append-only';
END $$;
CREATE TRIGGER callback_attempts_append_only BEFORE UPDATE OR DELETE ON callback_attempts
    FOR EACH ROW EXECUTE FUNCTION callback_attempts_append_only();

-- The dealer's agents; new tasks go round-robin by position.
CREATE TABLE callback_agents (
    dealer_id    text NOT NULL,
    subject      text NOT NULL,
    display_name text NOT NULL DEFAULT '',
    active       boolean NOT NULL DEFAULT true,
    position     bigint NOT NULL,
    create_time  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dealer_id, subject)
);
CREATE INDEX callback_agents_rotation_idx ON callback_agents (dealer_id, position) WHERE active;

-- Where each dealer's rotation stands: the position last assigned.
CREATE TABLE callback_rotation (
    dealer_id     text PRIMARY KEY,
    last_position bigint NOT NULL DEFAULT 0
);

-- HQ's standard questionnaires, versioned per kind (HQ data, no dealer).
CREATE TABLE questionnaires (
    id          uuid PRIMARY KEY,
    kind        text NOT NULL,
    version     integer NOT NULL CHECK (version >= 1),
    title       text NOT NULL,
    script      text NOT NULL DEFAULT '',
    questions   jsonb NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, version)
);

-- A dealer's own questions after HQ's, versioned per kind; tasks keep the
-- version they were created with.
CREATE TABLE dealer_questions (
    dealer_id   text NOT NULL,
    kind        text NOT NULL,
    version     integer NOT NULL CHECK (version >= 1),
    questions   jsonb NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dealer_id, kind, version)
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['callback_tasks', 'callback_attempts', 'callback_agents', 'callback_rotation', 'dealer_questions'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant_isolation ON %I
            USING (current_setting('app.all_dealers', true) = 'on' OR dealer_id = ANY (string_to_array(current_setting('app.dealer_ids', true), ',')))
            WITH CHECK (current_setting('app.all_dealers', true) = 'on' OR dealer_id = ANY (string_to_array(current_setting('app.dealer_ids', true), ',')))$p$, t);
    END LOOP;
END $$;

-- Callback policies are policy data, not dealer records: scope is
-- 'default' (HQ) or a dealer code (its override). Durations in seconds.
CREATE TABLE callback_policies (
    scope            text PRIMARY KEY,
    timings          jsonb NOT NULL DEFAULT '[]',
    max_attempts     integer NOT NULL,
    retry_interval_s bigint NOT NULL,
    calling_start    text NOT NULL,
    calling_end      text NOT NULL,
    score_threshold  double precision NOT NULL,
    update_time      timestamptz NOT NULL DEFAULT now()
);
