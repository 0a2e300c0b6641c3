-- Sign-in, roles, kiosk links and audit (issue 7). Sessions live in signed cookies, not here: a
-- cookie names a user and the `session_epoch` it was issued at, and every request checks that
-- the user is still enabled and the epoch unchanged, so disabling a user, setting their password
-- or signing them out everywhere (each bumps the epoch) ends every old session at once.

-- People who sign in. A scope of NULL is the whole country (`VN`); otherwise the user sees that
-- unit and its descendants only. `password_hash` is an argon2id string (NULL: no local password,
-- e.g. a user who signs in through OpenID Connect only).
CREATE TABLE users (
    id                  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username            text        NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._@-]{0,63}$'),
    display_name        text        NOT NULL,
    password_hash       text,
    role                text        NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    scope_unit_code     text        REFERENCES ref_units (code),
    session_epoch       integer     NOT NULL DEFAULT 1,
    password_changed_at timestamptz,
    disabled_at         timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CHECK ((password_hash IS NULL) = (password_changed_at IS NULL))
);

-- Every sign-in attempt, kept for the throttle (shared by every dashboard worker) and as the log
-- of failures. `pending` is an attempt whose password is being checked: it counts as a failure
-- until it is marked a success, so a burst of parallel guesses cannot slip past the throttle.
-- `throttled` attempts were refused unchecked and do not count.
CREATE TABLE sign_in_attempts (
    id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    username text        NOT NULL,
    address  text        NOT NULL,
    outcome  text        NOT NULL CHECK (outcome IN ('pending', 'success', 'failure', 'throttled'))
);
CREATE INDEX sign_in_attempts_username ON sign_in_attempts (username, at);
CREATE INDEX sign_in_attempts_address ON sign_in_attempts (address, at);

-- Read-only links for wall displays. Only the SHA-256 of the token is stored; the scenes are
-- copied in at creation (a JSON list of {kpi, period, seconds}), so a link shows the same thing
-- whatever happens to the file it came from. A NULL unit is the whole country.
CREATE TABLE kiosk_links (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_sha256 bytea       NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    label        text        NOT NULL,
    unit_code    text        REFERENCES ref_units (code),
    scenes       jsonb       NOT NULL CHECK (jsonb_typeof(scenes) = 'array'),
    created_by   text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_by   text,
    revoked_at   timestamptz,
    CHECK ((revoked_by IS NULL) = (revoked_at IS NULL))
);

-- Who did what, when: sign-ins, user and kiosk-link changes, target changes, acknowledgements,
-- exports. `actor` is a username, `kiosk:<id>` or `cli:<login>`; `subject` what was acted on
-- (`user:alice`, `kiosk:3`, `target:name`, `alert:12`).
CREATE TABLE audit_log (
    id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    actor   text        NOT NULL,
    action  text        NOT NULL,
    subject text,
    address text,
    detail  jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_actor ON audit_log (actor, at DESC);
CREATE INDEX audit_log_subject ON audit_log (subject, at DESC);
