-- Every event rewrites its application's row, so `applications` and its indexes collect dead row
-- versions fast, and the KPI queries' index scans of the applications open at t read them all
-- until a vacuum: at 10M events, 12 % dead rows (under the default 20 % trigger) made the span and
-- open-application index scans 50 ms instead of 7 ms, and a children question 170 ms instead of
-- 133 ms. Vacuum this table after 1 % of it (plus 5,000 rows) has changed, and analyse it as often.
ALTER TABLE applications SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 5000,
    autovacuum_analyze_scale_factor = 0.01
);
