-- Reference data (DOMAIN.md §4): administrative units, agencies, the procedure catalog, holidays.
--
-- Loaded from files by `ioc refdata load`; plain tables on TimescaleDB and plain PostgreSQL alike.
-- Unit codes are official and never reused, so a unit is never deleted: it gets `valid_to`.
-- Checks that span rows (a commune's parent is a district or a province) are made by the loader.

CREATE TABLE ref_units (
    code        text    PRIMARY KEY CHECK (code ~ '^[0-9]+$'),
    name        text    NOT NULL CHECK (btrim(name) <> ''),
    level       text    NOT NULL CHECK (level IN ('province', 'district', 'commune')),
    parent_code text    REFERENCES ref_units (code),
    valid_from  date    NOT NULL,
    valid_to    date,               -- exclusive; NULL while in force
    is_sample   boolean NOT NULL DEFAULT false,   -- generated for demonstration, not an official unit
    CHECK (length(code) = CASE level WHEN 'province' THEN 2 WHEN 'district' THEN 3 ELSE 5 END),
    CHECK ((level = 'province') = (parent_code IS NULL)),
    CHECK (parent_code IS DISTINCT FROM code),
    -- valid_to = valid_from: a unit retired on the day it was to come into force, never in force.
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE INDEX ref_units_parent_idx ON ref_units (parent_code);
CREATE INDEX ref_units_level_idx ON ref_units (level);

CREATE TABLE ref_agencies (
    code        text    PRIMARY KEY CHECK (code ~ '^[A-Za-z0-9._/-]{1,32}$'),
    name        text    NOT NULL CHECK (btrim(name) <> ''),
    kind        text    NOT NULL CHECK (kind IN ('department', 'service_centre', 'commune_committee',
                                                 'district_committee', 'vertical')),
    unit_code   text    NOT NULL REFERENCES ref_units (code)
);
CREATE INDEX ref_agencies_unit_idx ON ref_agencies (unit_code);

CREATE TABLE ref_procedures (
    code                text    PRIMARY KEY CHECK (code ~ '^[A-Za-z0-9._/-]{1,32}$'),
    name                text    NOT NULL CHECK (btrim(name) <> ''),
    sector              text    NOT NULL CHECK (btrim(sector) <> ''),     -- lĩnh vực
    online_level        text    NOT NULL CHECK (online_level IN ('full', 'partial', 'none')),
    level               text    NOT NULL CHECK (level IN ('province', 'district', 'commune')),
    has_fee             boolean NOT NULL,
    result_is_document  boolean NOT NULL,
    max_days            integer NOT NULL CHECK (max_days BETWEEN 0 AND 3650),   -- working days
    essential           boolean NOT NULL DEFAULT false   -- one of the 25 of Decision 06/QĐ-TTg
);

CREATE TABLE ref_holidays (
    day      date    PRIMARY KEY,
    name     text    NOT NULL CHECK (btrim(name) <> ''),
    working  boolean NOT NULL DEFAULT false   -- an official make-up working day (ngày làm bù)
);
