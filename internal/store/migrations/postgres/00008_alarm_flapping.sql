-- +goose Up
-- An alarm flaps while its state changes too often (alarms.flapping).
ALTER TABLE alarms ADD COLUMN flapping BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE alarms DROP COLUMN flapping;
