-- Current state of each application, and daily rollups kept by ingest (DESIGN.md §3).
--
-- `applications` is a fold of all the application's events (ingest/fold.py), rewritten
-- whenever one of its events arrives, so any arrival order gives the same row.
-- `rollup_daily` holds counters per local day × unit × agency × procedure; ingest
-- recomputes the rows a batch touched from `applications` with the query in
-- store/rollups.py, so a rollup always equals that query run from scratch.

CREATE TABLE applications (
    application_id       text        PRIMARY KEY,
    procedure_code       text        NOT NULL,
    agency_code          text        NOT NULL,
    unit_code            text        NOT NULL,
    channel              text        CHECK (channel IN ('online', 'in_person', 'postal')),
    online_level         text        CHECK (online_level IN ('full', 'partial', 'none')),
    vneid_authenticated  boolean,
    reused_data          boolean,
    submitted_at         timestamptz,
    received_at          timestamptz,
    due_at               timestamptz,
    supplement_requests  integer     NOT NULL DEFAULT 0,
    supplement_periods   tstzmultirange NOT NULL DEFAULT '{}',  -- an unanswered request is open-ended
    ended_at             timestamptz,
    end_kind             text        CHECK (end_kind IN ('resolved', 'withdrawn')),
    result               text        CHECK (result IN ('approved', 'refused', 'not_accepted', 'stopped')),
    e_result             boolean,
    returned_at          timestamptz,
    return_channel       text,
    paid_vnd             bigint      NOT NULL DEFAULT 0,
    paid_online          boolean     NOT NULL DEFAULT false,  -- a paid event online with amount > 0
    application_digitized_at timestamptz,
    result_digitized_at  timestamptz,
    rating               smallint,   -- the latest rating
    events               integer     NOT NULL,
    last_event_at        timestamptz NOT NULL,
    -- local days (IOC_TIMEZONE) that key the rollups
    received_day         date,
    resolved_day         date,       -- set when the end is a resolution
    withdrawn_day        date,
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX applications_received_idx ON applications (received_day, unit_code, agency_code, procedure_code);
CREATE INDEX applications_resolved_idx ON applications (resolved_day, unit_code, agency_code, procedure_code);
CREATE INDEX applications_withdrawn_idx ON applications (withdrawn_day, unit_code, agency_code, procedure_code)
    WHERE withdrawn_day IS NOT NULL;
CREATE INDEX applications_open_idx ON applications (unit_code, due_at) WHERE ended_at IS NULL;

CREATE TABLE rollup_daily (
    day                      date    NOT NULL,
    unit_code                text    NOT NULL,
    agency_code              text    NOT NULL,
    procedure_code           text    NOT NULL,
    received                 integer NOT NULL,
    received_online          integer NOT NULL,
    received_full_online     integer NOT NULL,
    received_vneid           integer NOT NULL,
    received_reused          integer NOT NULL,
    received_digitized       integer NOT NULL,
    received_with_fee        integer NOT NULL,
    received_paid_online     integer NOT NULL,
    received_unsatisfied     integer NOT NULL,
    resolved                 integer NOT NULL,
    resolved_online          integer NOT NULL,
    resolved_approved        integer NOT NULL,
    resolved_refused         integer NOT NULL,
    resolved_not_accepted    integer NOT NULL,
    resolved_stopped         integer NOT NULL,
    resolved_e_result        integer NOT NULL,
    withdrawn                integer NOT NULL,
    PRIMARY KEY (day, unit_code, agency_code, procedure_code)
);
CREATE INDEX rollup_daily_unit_idx ON rollup_daily (unit_code, day);
