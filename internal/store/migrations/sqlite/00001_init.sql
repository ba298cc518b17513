-- +goose Up
-- Times are Unix milliseconds (UTC); booleans are 0/1; JSON is text. The
-- PostgreSQL schema is the same with its own types, so one set of queries
-- serves both.
CREATE TABLE hostgroups (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE hosts (
    id                INTEGER PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    address           TEXT NOT NULL DEFAULT '',
    groups_json       TEXT NOT NULL DEFAULT '[]',
    tags_json         TEXT NOT NULL DEFAULT '{}',
    domain            TEXT NOT NULL DEFAULT '',
    location          TEXT NOT NULL DEFAULT '',
    notes             TEXT NOT NULL DEFAULT '',
    check_json        TEXT NOT NULL DEFAULT '',
    interval_ms       INTEGER NOT NULL,
    retry_interval_ms INTEGER NOT NULL,
    max_attempts      INTEGER NOT NULL,
    enabled           INTEGER NOT NULL,
    source            TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);

CREATE TABLE services (
    id                INTEGER PRIMARY KEY,
    host_id           INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    kind              TEXT NOT NULL,
    check_json        TEXT NOT NULL,
    interval_ms       INTEGER NOT NULL,
    retry_interval_ms INTEGER NOT NULL,
    max_attempts      INTEGER NOT NULL,
    timeout_ms        INTEGER NOT NULL,
    enabled           INTEGER NOT NULL,
    source            TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    UNIQUE (host_id, name)
);

CREATE TABLE status (
    kind                   TEXT NOT NULL,
    object_id              INTEGER NOT NULL,
    state                  INTEGER NOT NULL,
    state_type             TEXT NOT NULL,
    attempt                INTEGER NOT NULL,
    output                 TEXT NOT NULL,
    long_output            TEXT NOT NULL,
    perfdata_json          TEXT NOT NULL,
    duration_us            INTEGER NOT NULL,
    checked                INTEGER NOT NULL,
    last_check             INTEGER NOT NULL,
    next_check             INTEGER NOT NULL,
    last_state_change      INTEGER NOT NULL,
    last_hard_state_change INTEGER NOT NULL,
    last_hard_state        INTEGER NOT NULL,
    flapping               INTEGER NOT NULL,
    percent_state_change   REAL NOT NULL,
    flap_history           INTEGER NOT NULL,
    flap_count             INTEGER NOT NULL,
    unreachable            INTEGER NOT NULL,
    PRIMARY KEY (kind, object_id)
);

CREATE TABLE state_changes (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,
    object_id  INTEGER NOT NULL,
    state      INTEGER NOT NULL,
    state_type TEXT NOT NULL,
    output     TEXT NOT NULL,
    start_ms   INTEGER NOT NULL,
    end_ms     INTEGER
);
CREATE INDEX state_changes_object ON state_changes (kind, object_id, start_ms);
CREATE INDEX state_changes_open ON state_changes (kind, object_id) WHERE end_ms IS NULL;

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    login         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,
    csrf_token  TEXT NOT NULL,
    remote_addr TEXT NOT NULL,
    user_agent  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    last_used  INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- +goose Down
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE state_changes;
DROP TABLE status;
DROP TABLE services;
DROP TABLE hosts;
DROP TABLE hostgroups;
