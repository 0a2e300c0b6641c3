-- Rollups that answer KPIs for any period exactly (DOMAIN.md §3, kpi/queries.py).
--
-- A KPI over a period [start, stop) is evaluated at t = min(stop, now). Most of what an
-- application adds does not depend on t: its receipt, its resolution, its channel, fee,
-- VNeID, reuse, working days. What does (on time, digitized, open) stops changing once the
-- application has ended and every timestamp that matters is behind t: from `settled_at` on, its
-- facts at any t are its final facts. So the rollups hold, per local day (and per month) × unit ×
-- agency × procedure × channel, the t-free counters and the final facts of ended applications; a
-- query adds the exact facts at t of the few applications not settled by t (open ones, and ended
-- ones with something at or after t) and takes out their final facts.
--
-- The functions a query calls per application are written so that the planner inlines them: no
-- sub-SELECT in their body (PostgreSQL would otherwise run the function once per row, costing far
-- more than the expression), and no more volatile than declared.
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

-- The supplement waiting before x (supplement_time, migration 0007) is, for any x after every
-- answered request (always so for x = now, or the end), the answered waiting plus the time since
-- the unanswered request: three stored columns make that an expression; only an earlier x (a
-- past bucket's t) still sums the periods.
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

-- Rule 5 at t: the application digitized before t, and, for an approved result that is a
-- document (the procedure's result_is_document), the result digitized before t too.
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

-- Working days (kpi/workdays.py, DOMAIN.md §3 rule 8) from the holiday calendar: Monday to
-- Friday, minus days off on weekdays, plus make-up days on weekends, among the days up to d
-- (only differences are used). `ref_workdays` holds that count for every day of 2000-2099,
-- refilled whenever the holidays change (refdata/db.py calls refresh_workdays() in the same
-- transaction); outside those years it is counted from the calendar.
CREATE FUNCTION weekdays_through(d date) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT 5 * floor((d - date '2001-01-01' + 1) / 7.0)::bigint
           + least((d - date '2001-01-01' + 1) - 7 * floor((d - date '2001-01-01' + 1) / 7.0)::bigint, 5)
$$;

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

CREATE FUNCTION workdays_through(d date) RETURNS bigint
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

-- What one application adds to the rollups: a row for its received day, one for its resolved
-- day. The one definition ingest (new minus old) and store/rollups.py (from scratch) both use.
-- The row may be one not stored yet (ingest's new state), whose generated columns are not
-- computed: the waiting is summed from the periods.
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
