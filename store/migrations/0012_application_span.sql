-- Each application's span, from its receipt to its settling (unbounded while it is open), for
-- the KPI queries (kpi/queries.py): the applications a period evaluated at t must read one by
-- one are those whose span overlaps [t, the period's end]. A GiST index answers that overlap
-- for each bucket of a series, where the earliest t alone would select most of the history.
CREATE INDEX applications_span_idx ON applications
    USING gist (tstzrange(received_at, settled_at, '[]')) WHERE received_at IS NOT NULL;
