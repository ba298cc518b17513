-- +goose Up
ALTER TABLE users ADD COLUMN teams_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN domains_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN activation_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN activation_expires INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE users DROP COLUMN activation_expires;
ALTER TABLE users DROP COLUMN activation_hash;
ALTER TABLE users DROP COLUMN domains_json;
ALTER TABLE users DROP COLUMN teams_json;
