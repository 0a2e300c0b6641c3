-- Rollups per local year (day is the first of January), beside those per day and month: a year
-- to date, or any period that ends after the last data, reads one row per key of the year.
-- Ingest adds to all three in the same statement (ingest/sink.py); store/rollups.py checks them.
CREATE TABLE rollup_yearly (LIKE rollup_daily INCLUDING ALL) WITH (fillfactor = 80);

INSERT INTO rollup_yearly
SELECT date_trunc('year', day)::date, unit_code, agency_code, procedure_code, channel,
       sum(received), sum(received_full_online), sum(received_vneid), sum(received_reused),
       sum(received_with_fee), sum(received_paid_online),
       sum(settled_on_time), sum(settled_digitized), sum(settled_digitized_unless_document),
       sum(settled_late_or_unsatisfied),
       sum(resolved), sum(resolved_approved), sum(resolved_approved_e_result),
       sum(processed), sum(processing_days)
  FROM rollup_monthly
 GROUP BY 1, 2, 3, 4, 5;
