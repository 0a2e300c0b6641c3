-- KPIs at an evaluation time t (DOMAIN.md §3 rules 1 and 3) read the state of an application
-- as it was at t: how many supplement requests had been made by t, and how long it had waited
-- for supplements before t (or before its end). `supplement_requested_at` keeps every request's
-- time; `supplement_time(periods, upto)` is the waiting time of `periods` before `upto`.

ALTER TABLE applications ADD COLUMN supplement_requested_at timestamptz[] NOT NULL DEFAULT '{}';
UPDATE applications a
   SET supplement_requested_at = r.times
  FROM (SELECT application_id,
               array_agg(occurred_at ORDER BY occurred_at, event_id COLLATE "C") AS times
          FROM events
         WHERE event_type = 'supplement_requested'
         GROUP BY application_id) r
 WHERE r.application_id = a.application_id;

CREATE FUNCTION supplement_time(periods tstzmultirange, upto timestamptz) RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT coalesce(sum(upper(r) - lower(r)), interval '0')
      FROM unnest(periods * tstzmultirange(tstzrange(NULL, upto))) AS r
$$;
