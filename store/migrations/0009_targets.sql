-- Targets (DESIGN.md §7, Directive 02/CT-TTg): a KPI threshold for one unit (and everything
-- below it) or for every unit of a level, optionally for one agency, over an evaluation window.
-- Loaded from a file by `ioc targets load`; the name identifies a target across loads.

CREATE TABLE targets (
    name        text        PRIMARY KEY CHECK (btrim(name) <> ''),
    kpi         text        NOT NULL,
    unit_code   text        REFERENCES ref_units (code),
    level       text        CHECK (level IN ('province', 'district', 'commune')),
    agency_code text        REFERENCES ref_agencies (code),
    comparison  text        NOT NULL CHECK (comparison IN ('>=', '<=')),
    threshold   numeric     NOT NULL,
    window_name text        NOT NULL,
    min_volume  integer     NOT NULL DEFAULT 0 CHECK (min_volume >= 0),
    severity    text        NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((unit_code IS NULL) <> (level IS NULL))
);
