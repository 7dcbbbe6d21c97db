-- The relay's hand-off continues the trace of the request that recorded
-- the event (pkg/outbox: TraceContextSQL).
-- The W3C traceparent of the span that recorded the event, so the
-- relay's hand-off continues the request's trace.
ALTER TABLE outbox_events ADD COLUMN trace_context text;
