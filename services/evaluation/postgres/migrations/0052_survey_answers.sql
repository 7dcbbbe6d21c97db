-- The survey analysis: each completed callback's answers, from the
-- callback service's change feed (replaced with the task's newer copy, so
-- an answer sent twice counts once and a corrected one moves), and their
-- counts per local day of completion, rolled up with the KPIs' days. A
-- text answer is only counted: its words never reach this schema.
--
-- survey_tasks holds the feed's sequence of each answered task's copy,
-- on its own (not callback_facts'), so re-reading the callback feed from
-- the start backfills the answers of tasks completed before this
-- migration without touching the KPIs' facts.
CREATE TABLE survey_tasks (
    dealer_id     text NOT NULL,
    task_id       text NOT NULL,
    complete_time timestamptz NOT NULL,
    source_seq    bigint NOT NULL,
    PRIMARY KEY (dealer_id, task_id)
);

CREATE TABLE survey_answer_facts (
    dealer_id       text NOT NULL,
    task_id         text NOT NULL,
    question        text NOT NULL,
    kind            text NOT NULL,
    -- One of the dealer's own questions; version is then the dealer's
    -- questions' version, else HQ's questionnaire's.
    dealer_question boolean NOT NULL,
    version         integer NOT NULL,
    type            text NOT NULL CHECK (type IN ('rating', 'yes_no', 'choice', 'text')),
    scale           integer NOT NULL DEFAULT 0,
    answer          text NOT NULL DEFAULT '',
    problem         boolean NOT NULL DEFAULT false,
    complete_time   timestamptz NOT NULL,
    PRIMARY KEY (dealer_id, task_id, question)
);
CREATE INDEX survey_answer_facts_complete_idx ON survey_answer_facts (dealer_id, complete_time);

CREATE TABLE survey_days (
    dealer_id       text NOT NULL,
    day             date NOT NULL,
    kind            text NOT NULL,
    dealer_question boolean NOT NULL,
    version         integer NOT NULL,
    question        text NOT NULL,
    answer          text NOT NULL,
    type            text NOT NULL,
    scale           integer NOT NULL,
    problem         boolean NOT NULL,
    count           bigint NOT NULL,
    PRIMARY KEY (dealer_id, day, kind, dealer_question, version, question, answer)
);
-- A region's or the network's periods.
CREATE INDEX survey_days_day_idx ON survey_days (day);

ALTER TABLE survey_tasks ENABLE ROW LEVEL SECURITY;
ALTER TABLE survey_tasks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON survey_tasks
    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));
ALTER TABLE survey_answer_facts ENABLE ROW LEVEL SECURITY;
ALTER TABLE survey_answer_facts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON survey_answer_facts
    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));
ALTER TABLE survey_days ENABLE ROW LEVEL SECURITY;
ALTER TABLE survey_days FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON survey_days
    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));

-- Read the callback feed again from its start: the backfill above (a
-- callback fact already stored is not changed by its copy read again).
DELETE FROM feed_cursors WHERE source = 'callback';
