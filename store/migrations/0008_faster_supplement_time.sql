-- supplement_time() as one expression, so the planner inlines it into the KPI queries instead
-- of calling a function per application; the waiting time is only summed for applications
-- that have supplement periods (few), the others wait 0.

CREATE OR REPLACE FUNCTION supplement_time(periods tstzmultirange, upto timestamptz) RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE
               WHEN isempty(periods) THEN interval '0'
               ELSE (SELECT coalesce(sum(upper(r) - lower(r)), interval '0')
                       FROM unnest(periods * tstzmultirange(tstzrange(NULL, upto))) AS r)
           END
$$;
