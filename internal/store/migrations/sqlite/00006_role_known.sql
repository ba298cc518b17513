-- +goose Up
-- The permissions that existed when a built-in role was last brought up to
-- date: a permission added by a later version of vigie is granted once to
-- the built-in roles that have it by default, and one an administrator
-- removed stays removed.
ALTER TABLE roles ADD COLUMN known_json TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE roles DROP COLUMN known_json;
