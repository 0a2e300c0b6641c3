-- The planner inlines a SQL function into the query that calls it only when the function's
-- body has no sub-SELECT and is no more volatile than declared; otherwise it runs the function
-- once per row, which costs far more than the expression itself. late_at() had both faults (a
-- sub-SELECT counting requests; timestamptz + interval, which is STABLE, under IMMUTABLE), and
-- supplement_time() has a sub-SELECT by nature. So:
--
-- - late_at() takes the columns it reads and the waiting time, and has no sub-SELECT: requests
--   are kept in time order, so "more than one before t" is "the second one before t";
-- - the waiting time before x is, for any x after every answered request (always so for
--   x = now, or the end), the answered waiting plus the time since the unanswered request: three
--   stored columns, computed when the row is written, make that an expression; only an earlier
--   x (a past bucket's t) still sums the periods.

DROP FUNCTION late_at(applications, timestamptz);
DROP FUNCTION digitized_at(applications, timestamptz, boolean);

CREATE FUNCTION answered_waiting(periods tstzmultirange) RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT coalesce(sum(upper(r) - lower(r)), interval '0') FROM unnest(periods) r WHERE NOT upper_inf(r) $$;

CREATE FUNCTION answered_until(periods tstzmultirange) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT max(upper(r)) FROM unnest(periods) r WHERE NOT upper_inf(r) $$;

CREATE FUNCTION waiting_since(periods tstzmultirange) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT lower(r) FROM unnest(periods) r WHERE upper_inf(r) $$;

ALTER TABLE applications
    ADD COLUMN answered_waiting interval GENERATED ALWAYS AS (answered_waiting(supplement_periods)) STORED,
    ADD COLUMN answered_until timestamptz GENERATED ALWAYS AS (answered_until(supplement_periods)) STORED,
    ADD COLUMN waiting_since timestamptz GENERATED ALWAYS AS (waiting_since(supplement_periods)) STORED;

-- The supplement waiting before x of a stored application (supplement_time, fast).
CREATE FUNCTION waited_before(periods tstzmultirange, answered interval, answered_until timestamptz,
                              since timestamptz, x timestamptz) RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN isempty(periods) THEN interval '0'
                WHEN answered_until IS NULL OR x >= answered_until
                THEN answered + CASE WHEN x > since THEN x - since ELSE interval '0' END
                ELSE supplement_time(periods, x) END
$$;

-- Rule 3 at t, given the waiting before least(t, end): late with more than one request before
-- t, or ended before t after its deadline, or open at t past it; NULL without a due date. The
-- deadline test subtracts instants (exact elapsed time, as kpi/reference.py's timedeltas do)
-- rather than adding the waiting to due_at, which would count days in the session's time zone.
CREATE FUNCTION late_at(requested timestamptz[], due_at timestamptz, ended_at timestamptz,
                        t timestamptz, waited interval) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT coalesce(requested[2] < t, false) OR least(t, ended_at) - due_at > waited
$$;

-- Rule 5 at t (as in 0010, on columns).
CREATE FUNCTION digitized_at(application_digitized_at timestamptz, result_digitized_at timestamptz,
                             ended_at timestamptz, end_kind text, result text, t timestamptz,
                             document boolean) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT coalesce(application_digitized_at < t
                    AND (NOT (coalesce(ended_at < t, false) AND end_kind = 'resolved'
                              AND result = 'approved' AND document)
                         OR coalesce(result_digitized_at < t, false)), false)
$$;

-- As in 0010, on the new functions. The row may be one not stored yet (ingest's new state),
-- whose generated columns are not computed: the waiting is summed from the periods.
CREATE OR REPLACE FUNCTION rollup_contributions(a applications, tz text)
RETURNS TABLE (
    day date, unit_code text, agency_code text, procedure_code text, channel text,
    received int, received_full_online int, received_vneid int, received_reused int,
    received_with_fee int, received_paid_online int,
    settled_on_time int, settled_digitized int, settled_digitized_unless_document int,
    settled_late_or_unsatisfied int,
    resolved int, resolved_approved int, resolved_approved_e_result int,
    processed int, processing_days bigint)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT a.received_day, a.unit_code, a.agency_code, a.procedure_code, coalesce(a.channel, ''),
           1,
           coalesce(a.channel = 'online' AND a.online_level = 'full', false)::int,
           coalesce(a.vneid_authenticated, false)::int,
           coalesce(a.reused_data, false)::int,
           (a.paid_vnd > 0)::int,
           (a.paid_vnd > 0 AND a.paid_online)::int,
           coalesce(s.ended AND NOT s.late, false)::int,
           (s.ended AND s.digitized)::int,
           (s.ended AND s.digitized_unless_document AND NOT s.digitized)::int,
           coalesce(s.ended AND (s.late OR coalesce(a.rating <= 2, false)), false)::int,
           0, 0, 0, 0, 0::bigint
      FROM (SELECT a.ended_at IS NOT NULL AS ended,
                   late_at(a.supplement_requested_at, a.due_at, a.ended_at, 'infinity',
                           supplement_time(a.supplement_periods, a.ended_at)) AS late,
                   digitized_at(a.application_digitized_at, a.result_digitized_at, a.ended_at, a.end_kind,
                                a.result, 'infinity', true) AS digitized,
                   digitized_at(a.application_digitized_at, a.result_digitized_at, a.ended_at, a.end_kind,
                                a.result, 'infinity', false) AS digitized_unless_document) s
     WHERE a.received_day IS NOT NULL
    UNION ALL
    SELECT a.resolved_day, a.unit_code, a.agency_code, a.procedure_code, coalesce(a.channel, ''),
           0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
           1,
           coalesce(a.result = 'approved', false)::int,
           coalesce(a.result = 'approved' AND a.e_result, false)::int,
           (a.received_day IS NOT NULL)::int,
           coalesce(processing_days(a, tz), 0)
     WHERE a.resolved_day IS NOT NULL
$$;
