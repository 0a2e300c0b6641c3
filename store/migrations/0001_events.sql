-- Accepted application events and the dead letters of rejected messages (DESIGN.md §3).
--
-- `events` is a TimescaleDB hypertable on `occurred_at` when the server preloads TimescaleDB,
-- and a plain table otherwise; every query reads it the same way on both.

DO $$
BEGIN
    IF current_setting('shared_preload_libraries') ~ '\mtimescaledb\M'
       AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        CREATE EXTENSION IF NOT EXISTS timescaledb;
    END IF;
END
$$;

CREATE TABLE events (
    event_id        text        NOT NULL CHECK (length(event_id) BETWEEN 1 AND 64),
    occurred_at     timestamptz NOT NULL,
    event_type      text        NOT NULL,
    application_id  text        NOT NULL CHECK (length(application_id) BETWEEN 1 AND 64),
    procedure_code  text        NOT NULL,
    agency_code     text        NOT NULL,
    unit_code       text        NOT NULL,
    payload         jsonb       NOT NULL,   -- the whole event as received, unknown fields included
    source          text        NOT NULL,   -- topic/partition/offset it was read from
    ingested_at     timestamptz NOT NULL DEFAULT now(),
    -- A hypertable's unique keys must contain its time column; uniqueness of event_id
    -- alone is kept by event_ids below.
    PRIMARY KEY (event_id, occurred_at)
);
CREATE INDEX events_application_idx ON events (application_id);
CREATE INDEX events_unit_time_idx ON events (unit_code, occurred_at DESC);

-- One row per accepted event_id: the idempotency key of ingest, whatever occurred_at says.
CREATE TABLE event_ids (
    event_id     text        PRIMARY KEY,
    occurred_at  timestamptz NOT NULL
);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        PERFORM create_hypertable('events', 'occurred_at', chunk_time_interval => INTERVAL '7 days');
        -- Compression is part of TimescaleDB's community licence, absent from the Apache-2 build.
        IF current_setting('timescaledb.license', true) = 'timescale' THEN
            ALTER TABLE events SET (
                timescaledb.compress,
                timescaledb.compress_segmentby = 'unit_code',
                timescaledb.compress_orderby = 'occurred_at DESC'
            );
        END IF;
    END IF;
END
$$;

CREATE TABLE dead_letters (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic        text        NOT NULL,
    partition    integer     NOT NULL,
    "offset"     bigint      NOT NULL,
    payload      bytea       NOT NULL,   -- the raw message value, exactly as read
    reason       text        NOT NULL,
    first_seen   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (topic, partition, "offset")
);
CREATE INDEX dead_letters_first_seen_idx ON dead_letters (first_seen DESC);
