-- The alert engine (DESIGN.md §7): each (target, unit) has one state, moved by the evaluator
-- (`ioc alerts`) ok → pending → firing → resolved, or insufficient (below the minimum volume).
-- Every move is logged with the values that caused it; a firing episode is one row of `alerts`
-- (what dashboards list and operators acknowledge); each notification of an episode to a
-- webhook is one row of `alert_notifications`, written in the same transaction as the move
-- that causes it (an outbox), and marked delivered after the receiver took it, so a crash
-- neither loses nor repeats one (the receiver sees the same idempotency key on a retry).

CREATE TABLE alert_states (
    target_name  text        NOT NULL REFERENCES targets (name) ON DELETE CASCADE,
    unit_code    text        NOT NULL REFERENCES ref_units (code),
    state        text        NOT NULL
                 CHECK (state IN ('ok', 'pending', 'firing', 'resolved', 'insufficient')),
    since        timestamptz NOT NULL,  -- when it entered this state
    value        numeric,               -- the KPI's value at the last evaluation (a fraction for ratios)
    volume       bigint,                -- what the minimum volume is compared with
    evaluated_at timestamptz NOT NULL,
    PRIMARY KEY (target_name, unit_code)
);

-- One firing episode of a (target, unit); the target's terms are copied, so the history stays
-- true when the target is edited or deleted.
CREATE TABLE alerts (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target_name     text        NOT NULL,
    unit_code       text        NOT NULL REFERENCES ref_units (code),
    kpi             text        NOT NULL,
    agency_code     text,
    comparison      text        NOT NULL CHECK (comparison IN ('>=', '<=')),
    threshold       numeric     NOT NULL,  -- as the target says it: percent for ratios
    window_name     text        NOT NULL,
    severity        text        NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    state           text        NOT NULL CHECK (state IN ('firing', 'resolved')),
    fired_at        timestamptz NOT NULL,
    fired_value     numeric,
    fired_volume    bigint,
    resolved_at     timestamptz,
    resolved_value  numeric,
    resolved_volume bigint,
    resolved_reason text CHECK (resolved_reason IN ('recovered', 'insufficient', 'target_removed')),
    acknowledged_by text,
    acknowledged_at timestamptz,
    CHECK ((state = 'resolved') = (resolved_at IS NOT NULL)),
    CHECK ((acknowledged_by IS NULL) = (acknowledged_at IS NULL))
);
CREATE UNIQUE INDEX alerts_one_firing ON alerts (target_name, unit_code) WHERE state = 'firing';
CREATE INDEX alerts_recent ON alerts (fired_at DESC);

CREATE TABLE alert_transitions (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target_name text        NOT NULL,
    unit_code   text        NOT NULL,
    from_state  text        NOT NULL,
    to_state    text        NOT NULL,
    at          timestamptz NOT NULL,
    value       numeric,
    volume      bigint,
    threshold   numeric     NOT NULL,
    alert_id    bigint      REFERENCES alerts (id)
);
CREATE INDEX alert_transitions_of ON alert_transitions (target_name, unit_code, at);

CREATE TABLE alert_notifications (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id        bigint      NOT NULL REFERENCES alerts (id),
    kind            text        NOT NULL CHECK (kind IN ('firing', 'resolved')),
    destination     text        NOT NULL,  -- a webhook URL
    idempotency_key text        NOT NULL UNIQUE,
    payload         jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    last_error      text
);
CREATE INDEX alert_notifications_due ON alert_notifications (next_attempt_at) WHERE delivered_at IS NULL;
