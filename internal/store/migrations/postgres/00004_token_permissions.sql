-- +goose Up
-- Empty means every permission of the token's user.
ALTER TABLE api_tokens ADD COLUMN permissions_json TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE api_tokens DROP COLUMN permissions_json;
