-- An application's working days (0010's processing_days) cost half a millisecond: several
-- calls of SQL functions that the planner cannot inline, each looking the holiday calendar up
-- twice. At every ingest write and in every rebuild. Now `ref_workdays` holds the count for every
-- day of 2000-2099, refilled from ref_holidays whenever they change (outside those years it is
-- computed as before); rollup_contributions joins it, and only an application that waited for
-- supplements has its waiting days taken out by a function call.

CREATE FUNCTION weekdays_through(d date) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT 5 * floor((d - date '2001-01-01' + 1) / 7.0)::bigint
           + least((d - date '2001-01-01' + 1) - 7 * floor((d - date '2001-01-01' + 1) / 7.0)::bigint, 5)
$$;

-- Working days among the days up to d: weekdays, minus days off on weekdays, plus make-up days
-- on weekends (only differences are used).
CREATE FUNCTION workdays_counted(d date) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT weekdays_through(d)
           - (SELECT count(*) FROM ref_holidays h
               WHERE NOT h.working AND h.day <= d AND extract(isodow FROM h.day) <= 5)
           + (SELECT count(*) FROM ref_holidays h
               WHERE h.working AND h.day <= d AND extract(isodow FROM h.day) >= 6)
$$;

CREATE TABLE ref_workdays (
    day      date   PRIMARY KEY,
    through  bigint NOT NULL  -- workdays_counted(day)
);

-- Refilled whenever the holidays change (refdata/db.py calls it in the same transaction).
CREATE FUNCTION refresh_workdays() RETURNS void
LANGUAGE sql
AS $$
    DELETE FROM ref_workdays;
    INSERT INTO ref_workdays (day, through)
    SELECT x.day, base.through + weekdays_through(x.day) - weekdays_through(date '1999-12-31')
                  - sum(x.off) OVER (ORDER BY x.day) + sum(x.make_up) OVER (ORDER BY x.day)
      FROM (SELECT workdays_counted(date '1999-12-31') AS through) base,
           (SELECT g::date AS day,
                   coalesce(NOT h.working AND extract(isodow FROM g) <= 5, false)::int AS off,
                   coalesce(h.working AND extract(isodow FROM g) >= 6, false)::int AS make_up
              FROM generate_series(date '2000-01-01', date '2099-12-31', interval '1 day') g
              LEFT JOIN ref_holidays h ON h.day = g::date) x;
$$;

SELECT refresh_workdays();

CREATE OR REPLACE FUNCTION workdays_through(d date) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT coalesce((SELECT w.through FROM ref_workdays w WHERE w.day = d), workdays_counted(d))
$$;

-- Rule 8's waiting: the working days in (received, resolved] inside a supplement interval (a, b]
-- in local dates, the intervals cut at the end, merged.
CREATE FUNCTION waiting_workdays(periods tstzmultirange, ended_at timestamptz, received_day date,
                                 resolved_day date, tz text) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT coalesce(sum(coalesce(upto.through - since.through,
                                 workdays_through(upper(w) - 1) - workdays_through(lower(w) - 1))), 0)
      FROM unnest((SELECT range_agg(daterange(x.lo, x.hi, '(]'))
                     FROM (SELECT (lower(r) AT TIME ZONE tz)::date AS lo, (upper(r) AT TIME ZONE tz)::date AS hi
                             FROM unnest(periods * tstzmultirange(tstzrange(NULL, ended_at))) r) x
                    WHERE x.hi > x.lo)
                  * datemultirange(daterange(received_day, resolved_day, '(]'))) w
      LEFT JOIN ref_workdays since ON since.day = lower(w) - 1
      LEFT JOIN ref_workdays upto ON upto.day = upper(w) - 1
$$;

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
                           CASE WHEN isempty(a.supplement_periods) THEN interval '0'
                                ELSE supplement_time(a.supplement_periods, a.ended_at) END) AS late,
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
           CASE WHEN a.received_day IS NULL OR a.resolved_day <= a.received_day THEN 0
                ELSE coalesce(upto.through - since.through,
                              workdays_through(a.resolved_day) - workdays_through(a.received_day))
                     - CASE WHEN isempty(a.supplement_periods) THEN 0
                            ELSE waiting_workdays(a.supplement_periods, a.ended_at, a.received_day,
                                                  a.resolved_day, tz) END
           END
      FROM (SELECT 1) one
      LEFT JOIN ref_workdays since ON since.day = a.received_day
      LEFT JOIN ref_workdays upto ON upto.day = a.resolved_day
     WHERE a.resolved_day IS NOT NULL
$$;

DROP FUNCTION processing_days(applications, text);
