-- Rollups that answer KPIs for any period exactly (DOMAIN.md §3, kpi/queries.py).
--
-- A KPI over a period [start, stop) is evaluated at t = min(stop, now). Most of what an
-- application adds does not depend on t: its receipt, its resolution, its channel, fee,
-- VNeID, reuse. What does (on time, digitized, open) stops changing once the application has
-- ended and every timestamp that matters is behind t: from `settled_at` on, its facts at any
-- t are its final facts. So the rollups hold, per local day (and per month) × unit × agency ×
-- procedure × channel, the t-free counters and the final facts of ended applications; a
-- query adds the exact facts at t of the few applications not settled by t (open ones, and
-- ended ones with something at or after t) and takes out their final facts.
--
-- Local days need the store's time zone: the migration runner sets `ioc.timezone`
-- (store/migrate.py, from IOC_TIMEZONE); ingest passes it to rollup_contributions.

-- When an application's facts stop changing: it has ended, and its receipt, digitization
-- and supplement requests are behind it. NULL while it is open.
CREATE FUNCTION latest_of(times timestamptz[]) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT max(x) FROM unnest(times) x $$;

ALTER TABLE applications ADD COLUMN settled_at timestamptz GENERATED ALWAYS AS (
    CASE WHEN ended_at IS NOT NULL
         THEN greatest(ended_at, received_at, application_digitized_at, result_digitized_at,
                       latest_of(supplement_requested_at))
    END) STORED;
CREATE INDEX applications_settled_idx ON applications (settled_at) WHERE settled_at IS NOT NULL;

-- Rule 3 at t: late with more than one supplement request before t, or ended before t after
-- its deadline, or open at t past it (the deadline moved by the supplement waiting before
-- least(t, end)). NULL (neither on time nor late) when there is no due date.
CREATE FUNCTION late_at(a applications, t timestamptz) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN cardinality(a.supplement_requested_at) > 1
                THEN (SELECT count(*) FROM unnest(a.supplement_requested_at) r WHERE r < t) > 1
                ELSE false END
        OR CASE WHEN coalesce(a.ended_at < t, false)
                THEN a.ended_at > a.due_at + supplement_time(a.supplement_periods, least(t, a.ended_at))
                ELSE t > a.due_at + supplement_time(a.supplement_periods, least(t, a.ended_at)) END
$$;

-- Rule 5 at t: the application digitized before t, and, for an approved result that is a
-- document (the procedure's result_is_document), the result digitized before t too.
CREATE FUNCTION digitized_at(a applications, t timestamptz, document boolean) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT coalesce(a.application_digitized_at < t
                    AND (NOT (coalesce(a.ended_at < t, false) AND a.end_kind = 'resolved'
                              AND a.result = 'approved' AND document)
                         OR coalesce(a.result_digitized_at < t, false)), false)
$$;

-- Working days (kpi/workdays.py, DOMAIN.md §3 rule 8) from the holiday calendar: Monday to
-- Friday, minus days off on weekdays, plus make-up days on weekends, among the days up to d.
-- 2001-01-01 was a Monday; only differences of this count are used.
CREATE FUNCTION workdays_through(d date) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT 5 * floor((d - date '2001-01-01' + 1) / 7.0)::bigint
           + least((d - date '2001-01-01' + 1) - 7 * floor((d - date '2001-01-01' + 1) / 7.0)::bigint, 5)
           - (SELECT count(*) FROM ref_holidays h
               WHERE NOT h.working AND h.day <= d AND extract(isodow FROM h.day) <= 5)
           + (SELECT count(*) FROM ref_holidays h
               WHERE h.working AND h.day <= d AND extract(isodow FROM h.day) >= 6)
$$;

-- Rule 8: the working days in (received, resolved] outside every supplement waiting interval
-- (a, b] in local dates, the intervals cut at the end. NULL unless received and resolved.
CREATE FUNCTION processing_days(a applications, tz text) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN a.received_day IS NULL OR a.resolved_day IS NULL THEN NULL
                WHEN a.resolved_day <= a.received_day THEN 0
                ELSE workdays_through(a.resolved_day) - workdays_through(a.received_day)
                     - coalesce((SELECT sum(workdays_through(upper(w) - 1) - workdays_through(lower(w) - 1))
                                   FROM unnest((SELECT range_agg(daterange(x.lo, x.hi, '(]'))
                                                  FROM (SELECT (lower(r) AT TIME ZONE tz)::date AS lo,
                                                               (upper(r) AT TIME ZONE tz)::date AS hi
                                                          FROM unnest(a.supplement_periods
                                                                      * tstzmultirange(tstzrange(NULL, a.ended_at))) r
                                                       ) x
                                                 WHERE x.hi > x.lo)
                                               * datemultirange(daterange(a.received_day, a.resolved_day, '(]'))) w),
                                0)
           END
$$;

DROP TABLE rollup_daily;
DROP FUNCTION rollup_contributions(applications);

-- channel is '' for an application whose `submitted` has not arrived.
CREATE TABLE rollup_daily (
    day                                date    NOT NULL,
    unit_code                          text    NOT NULL,
    agency_code                        text    NOT NULL,
    procedure_code                     text    NOT NULL,
    channel                            text    NOT NULL,
    received                           integer NOT NULL,  -- by received day
    received_full_online               integer NOT NULL,
    received_vneid                     integer NOT NULL,
    received_reused                    integer NOT NULL,
    received_with_fee                  integer NOT NULL,
    received_paid_online               integer NOT NULL,
    settled_on_time                    integer NOT NULL,  -- final facts of the ended ones
    settled_digitized                  integer NOT NULL,  -- whatever the result is
    settled_digitized_unless_document  integer NOT NULL,  -- only if the result is no document
    settled_late_or_unsatisfied        integer NOT NULL,
    resolved                           integer NOT NULL,  -- by resolved day
    resolved_approved                  integer NOT NULL,
    resolved_approved_e_result         integer NOT NULL,
    processed                          integer NOT NULL,  -- resolved after a receipt
    processing_days                    bigint  NOT NULL,  -- their working days (rule 8)
    PRIMARY KEY (day, unit_code, agency_code, procedure_code, channel)
) WITH (fillfactor = 80);

-- The same, per month (day is the first of the month): long periods read few rows.
CREATE TABLE rollup_monthly (LIKE rollup_daily INCLUDING ALL) WITH (fillfactor = 80);

-- What one application adds to the rollups: a row for its received day, one for its
-- resolved day. The one definition ingest (new minus old) and store/rollups.py (from
-- scratch) both use.
CREATE FUNCTION rollup_contributions(a applications, tz text)
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
           (s.ended AND digitized_at(a, 'infinity', true))::int,
           (s.ended AND digitized_at(a, 'infinity', false) AND NOT digitized_at(a, 'infinity', true))::int,
           coalesce(s.ended AND (s.late OR coalesce(a.rating <= 2, false)), false)::int,
           0, 0, 0, 0, 0::bigint
      FROM (SELECT a.ended_at IS NOT NULL AS ended, late_at(a, 'infinity') AS late) s
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

INSERT INTO rollup_daily
SELECT c.day, c.unit_code, c.agency_code, c.procedure_code, c.channel,
       sum(c.received), sum(c.received_full_online), sum(c.received_vneid), sum(c.received_reused),
       sum(c.received_with_fee), sum(c.received_paid_online),
       sum(c.settled_on_time), sum(c.settled_digitized), sum(c.settled_digitized_unless_document),
       sum(c.settled_late_or_unsatisfied),
       sum(c.resolved), sum(c.resolved_approved), sum(c.resolved_approved_e_result),
       sum(c.processed), sum(c.processing_days)
  FROM applications a,
       rollup_contributions(a, coalesce(current_setting('ioc.timezone', true), 'Asia/Ho_Chi_Minh')) c
 GROUP BY 1, 2, 3, 4, 5;

INSERT INTO rollup_monthly
SELECT date_trunc('month', day)::date, unit_code, agency_code, procedure_code, channel,
       sum(received), sum(received_full_online), sum(received_vneid), sum(received_reused),
       sum(received_with_fee), sum(received_paid_online),
       sum(settled_on_time), sum(settled_digitized), sum(settled_digitized_unless_document),
       sum(settled_late_or_unsatisfied),
       sum(resolved), sum(resolved_approved), sum(resolved_approved_e_result),
       sum(processed), sum(processing_days)
  FROM rollup_daily
 GROUP BY 1, 2, 3, 4, 5;
