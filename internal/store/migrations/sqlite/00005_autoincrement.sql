-- +goose NO TRANSACTION
-- +goose Up
-- Ids are never reused: without AUTOINCREMENT, SQLite gives a new row the
-- largest id plus one, so deleting the newest host and creating another
-- handed the old id, and every URL, audit line or late check result naming
-- it, to a different host. PostgreSQL identity columns never reuse ids.
--
-- SQLite cannot add AUTOINCREMENT to a table, so each table is rebuilt
-- (https://www.sqlite.org/lang_altertable.html#otheralter). Foreign keys
-- must be off while tables are dropped, or dropping hosts would cascade to
-- services; the pragma has no effect inside a transaction, hence NO
-- TRANSACTION here and an explicit one below.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE hostgroups_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
INSERT INTO hostgroups_new (id, name, description, source, created_at, updated_at)
    SELECT id, name, description, source, created_at, updated_at FROM hostgroups;
DROP TABLE hostgroups;
ALTER TABLE hostgroups_new RENAME TO hostgroups;

CREATE TABLE hosts_new (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO hosts_new (id, name, address, groups_json, tags_json, domain, location, notes, check_json,
        interval_ms, retry_interval_ms, max_attempts, enabled, source, created_at, updated_at)
    SELECT id, name, address, groups_json, tags_json, domain, location, notes, check_json,
        interval_ms, retry_interval_ms, max_attempts, enabled, source, created_at, updated_at FROM hosts;
DROP TABLE hosts;
ALTER TABLE hosts_new RENAME TO hosts;

CREATE TABLE services_new (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO services_new (id, host_id, name, kind, check_json, interval_ms, retry_interval_ms, max_attempts,
        timeout_ms, enabled, source, created_at, updated_at)
    SELECT id, host_id, name, kind, check_json, interval_ms, retry_interval_ms, max_attempts,
        timeout_ms, enabled, source, created_at, updated_at FROM services;
DROP TABLE services;
ALTER TABLE services_new RENAME TO services;

CREATE TABLE users_new (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    login              TEXT NOT NULL UNIQUE,
    password_hash      TEXT NOT NULL,
    role               TEXT NOT NULL,
    disabled           INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    teams_json         TEXT NOT NULL DEFAULT '[]',
    domains_json       TEXT NOT NULL DEFAULT '[]',
    activation_hash    TEXT NOT NULL DEFAULT '',
    activation_expires INTEGER NOT NULL DEFAULT 0
);
INSERT INTO users_new (id, login, password_hash, role, disabled, created_at, updated_at,
        teams_json, domains_json, activation_hash, activation_expires)
    SELECT id, login, password_hash, role, disabled, created_at, updated_at,
        teams_json, domains_json, activation_hash, activation_expires FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;

CREATE TABLE sessions_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,
    csrf_token  TEXT NOT NULL,
    remote_addr TEXT NOT NULL,
    user_agent  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
INSERT INTO sessions_new (id, user_id, token_hash, csrf_token, remote_addr, user_agent, created_at, last_seen, expires_at)
    SELECT id, user_id, token_hash, csrf_token, remote_addr, user_agent, created_at, last_seen, expires_at FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens_new (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id          INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    token_hash       TEXT NOT NULL UNIQUE,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER,
    last_used        INTEGER,
    permissions_json TEXT NOT NULL DEFAULT '[]'
);
INSERT INTO api_tokens_new (id, user_id, name, token_hash, created_at, expires_at, last_used, permissions_json)
    SELECT id, user_id, name, token_hash, created_at, expires_at, last_used, permissions_json FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_new RENAME TO api_tokens;
CREATE INDEX api_tokens_user ON api_tokens (user_id);

COMMIT;
PRAGMA foreign_keys = ON;

-- +goose Down
-- Going back keeps AUTOINCREMENT: it is a superset of the old behaviour.
SELECT 1;
