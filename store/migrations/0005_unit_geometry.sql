-- Boundaries of administrative units for maps (DESIGN.md §5), written by `ioc geo` (geo/store.py).
--
-- Plain PostgreSQL, no PostGIS: geometry is computed in Python (geopandas/shapely) and stored as
-- the GeoJSON geometry a map draws, already simplified for its level. Coordinates are EPSG:4326
-- (longitude, latitude), rounded; exterior rings are CLOCKWISE and holes counter-clockwise, the
-- reverse of RFC 7946, because plotly's SVG `go.Choropleth` fills the whole globe but the unit
-- when given counter-clockwise exterior rings.
--
-- A unit may have several geometries over time (the 63 provinces before 1/7/2025 and the 34
-- after), hence the key (code, valid_from). There is deliberately no foreign key to ref_units:
-- historical geometries (the 63 pre-2025 provinces) name codes the unit list may not hold.
-- The importer checks codes against ref_units instead and reports those it rejects.

CREATE TABLE unit_geometry (
    code          text        NOT NULL CHECK (code ~ '^[0-9]+$'),
    valid_from    date        NOT NULL,
    valid_to      date,                     -- exclusive; NULL while in force; set: history
    level         text        NOT NULL CHECK (level IN ('province', 'district', 'commune')),
    parent_code   text        CHECK (parent_code IS DISTINCT FROM code),
    name          text        NOT NULL CHECK (btrim(name) <> ''),
    geometry      jsonb       NOT NULL CHECK (geometry ->> 'type' IN ('Polygon', 'MultiPolygon')),
    -- Where the unit's name goes on a map: a point well inside its largest part.
    label_lon     double precision NOT NULL CHECK (label_lon BETWEEN -180 AND 180),
    label_lat     double precision NOT NULL CHECK (label_lat BETWEEN -90 AND 90),
    -- More labels a map must draw, [{"text": …, "lon": …, "lat": …}], e.g.
    -- "Quần đảo Hoàng Sa (Đà Nẵng)" next to the archipelago that is part of the unit.
    extra_labels  jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(extra_labels) = 'array'),
    is_sample     boolean     NOT NULL DEFAULT false,   -- generated outline, not a real boundary
    source        text        NOT NULL CHECK (btrim(source) <> ''),
    attribution   text        NOT NULL DEFAULT '',     -- what the source's licence asks maps to show
    loaded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (code, valid_from),
    CHECK (valid_to IS NULL OR valid_to > valid_from),
    CHECK ((level = 'province') = (parent_code IS NULL))
);
CREATE INDEX unit_geometry_level_idx ON unit_geometry (level, parent_code);
