-- +goose Up
CREATE TABLE roles (
    name             TEXT PRIMARY KEY,
    permissions_json TEXT NOT NULL,
    builtin          INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    login       TEXT NOT NULL,
    role        TEXT NOT NULL,
    action      TEXT NOT NULL,
    object      TEXT NOT NULL,
    remote_addr TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_login ON audit (login, at);

-- +goose Down
DROP TABLE audit;
DROP TABLE roles;
