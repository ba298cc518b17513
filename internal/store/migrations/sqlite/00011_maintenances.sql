-- +goose Up
-- Maintenance windows; the alarms in one are marked.
CREATE TABLE maintenances (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    spec_json  TEXT NOT NULL
);
ALTER TABLE alarms ADD COLUMN in_maintenance INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE alarms DROP COLUMN in_maintenance;
DROP TABLE maintenances;
