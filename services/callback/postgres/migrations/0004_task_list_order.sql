-- The task list (an agent's queue, managers' lists) is ordered by next
-- attempt time with unplanned tasks last, then due time and id. No index
-- held that order, so every page sorted all the dealer's tasks: about
-- 200 ms for a dealer with 200,000 tasks, 600 ms under a generic plan,
-- against 0.2 to 0.6 ms with these indexes. An index on
-- coalesce(next_attempt_time, 'infinity') would serve ORDER BY but not the
-- page keyset: under row-level security only leakproof operators become
-- index conditions, and coalesce is not one. So the sort key is a stored
-- column, which the keyset compares directly. A release rolled back across
-- this migration still works: it never names the column.
--
-- Adding a stored column rewrites callback_tasks and rebuilds its indexes
-- under an ACCESS EXCLUSIVE lock held to the end of the migration: no task
-- can be read or written meanwhile. The rewrite took 5 to 15 s per million
-- tasks in tests, the new indexes and ANALYZE 3 to 10 s more; migrate at a
-- quiet hour.
ALTER TABLE callback_tasks ADD COLUMN next_key timestamptz
    GENERATED ALWAYS AS (coalesce(next_attempt_time, 'infinity'::timestamptz)) STORED;
CREATE INDEX callback_tasks_list_idx ON callback_tasks (dealer_id, next_key, due_time, id);

-- The queue index ordered an agent's tasks by next_attempt_time, which is
-- no longer the list's order. Kept, the planner still chose it for an
-- agent's list and sorted all 10,000 of the agent's tasks (40 ms); dropped,
-- listing an agent with no tasks walked the dealer's whole list (50 to
-- 140 ms). Keyed like the list, both take 0.3 ms or less.
DROP INDEX callback_tasks_queue_idx;
CREATE INDEX callback_tasks_assignee_idx ON callback_tasks (dealer_id, assignee, next_key, due_time, id);

-- Agents counts each agent's open tasks, which through the queue index
-- read every task of the agent (250 to 390 ms for 20 agents of 10,000
-- tasks each, 1.5 ms with this). The predicate is the one Agents uses, so
-- the planner can prove the index applies.
CREATE INDEX callback_tasks_open_idx ON callback_tasks (dealer_id, assignee) WHERE status IN ('pending', 'in_progress');

-- The rewrite leaves next_key without statistics until the next ANALYZE;
-- plan the list with them from the start.
ANALYZE callback_tasks;
