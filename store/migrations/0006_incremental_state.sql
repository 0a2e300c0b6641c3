-- Incremental ingest (DESIGN.md §3): an application's state goes on from its stored row when
-- new events come after its last one, and rollups change by the difference between an
-- application's old and new contributions.
--
-- `last_event_id` completes the fold's order key (occurred_at, event_id) of the last event.
-- `rollup_contributions(a)` is the one definition of what an application adds to the daily
-- rollups: a row for its received day, its resolved day and its withdrawn day. Ingest adds
-- new minus old contributions; store/rollups.py sums them from scratch for the invariant.

ALTER TABLE applications ADD COLUMN last_event_id text;
UPDATE applications a
   SET last_event_id = (SELECT e.event_id FROM events e
                         WHERE e.application_id = a.application_id AND e.occurred_at = a.last_event_at
                         ORDER BY e.event_id COLLATE "C" DESC LIMIT 1);
ALTER TABLE applications ALTER COLUMN last_event_id SET NOT NULL;

-- The rollups no longer look applications up by rollup key: those indexes only slowed
-- every write. Room on each page lets updates that change no indexed column stay HOT.
DROP INDEX applications_received_idx;
DROP INDEX applications_resolved_idx;
DROP INDEX applications_withdrawn_idx;
ALTER TABLE applications SET (fillfactor = 80);
-- Events are read by application and by time (the latest ones, retention); every index
-- costs each insert. TimescaleDB creates the time index itself; plain PostgreSQL gets it here.
DROP INDEX events_unit_time_idx;
CREATE INDEX IF NOT EXISTS events_occurred_at_idx ON events (occurred_at DESC);
ALTER TABLE rollup_daily SET (fillfactor = 80);

CREATE FUNCTION rollup_contributions(a applications)
RETURNS TABLE (
    day date, unit_code text, agency_code text, procedure_code text,
    received int, received_online int, received_full_online int, received_vneid int,
    received_reused int, received_digitized int, received_with_fee int, received_paid_online int,
    received_unsatisfied int,
    resolved int, resolved_online int, resolved_approved int, resolved_refused int,
    resolved_not_accepted int, resolved_stopped int, resolved_e_result int,
    withdrawn int)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT a.received_day, a.unit_code, a.agency_code, a.procedure_code,
           1,
           coalesce(a.channel = 'online', false)::int,
           coalesce(a.channel = 'online' AND a.online_level = 'full', false)::int,
           coalesce(a.vneid_authenticated, false)::int,
           coalesce(a.reused_data, false)::int,
           (a.application_digitized_at IS NOT NULL)::int,
           (a.paid_vnd > 0)::int,
           (a.paid_vnd > 0 AND coalesce(a.paid_online, false))::int,
           coalesce(a.rating <= 2, false)::int,
           0, 0, 0, 0, 0, 0, 0, 0
     WHERE a.received_day IS NOT NULL
    UNION ALL
    SELECT a.resolved_day, a.unit_code, a.agency_code, a.procedure_code,
           0, 0, 0, 0, 0, 0, 0, 0, 0,
           1,
           coalesce(a.channel = 'online', false)::int,
           coalesce(a.result = 'approved', false)::int,
           coalesce(a.result = 'refused', false)::int,
           coalesce(a.result = 'not_accepted', false)::int,
           coalesce(a.result = 'stopped', false)::int,
           coalesce(a.e_result, false)::int,
           0
     WHERE a.resolved_day IS NOT NULL
    UNION ALL
    SELECT a.withdrawn_day, a.unit_code, a.agency_code, a.procedure_code,
           0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
           1
     WHERE a.withdrawn_day IS NOT NULL
$$;
