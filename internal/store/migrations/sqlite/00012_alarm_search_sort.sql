-- +goose Up
-- Text search over alarms: an FTS5 index with the trigram tokenizer, which
-- matches any substring of three characters or more, case-insensitively,
-- as the LIKE scan it replaces did. It is contentless (the text stays in
-- alarms only; rows are deleted by id). It is not kept in step inside the
-- writes of the alarm engine: indexing each change there cost a quarter of
-- the engine's time, for an alarm whose output changes with every event.
-- The triggers only note which alarms changed in alarms_fts_pending, and
-- the store re-indexes those in one go before a search and every few
-- seconds (syncSearch), once each however often they changed.
CREATE VIRTUAL TABLE alarms_fts USING fts5(
    component, resource, output, connector_name,
    content = '', contentless_delete = 1, tokenize = 'trigram'
);
CREATE TABLE alarms_fts_pending (id INTEGER PRIMARY KEY);
-- +goose StatementBegin
CREATE TRIGGER alarms_fts_insert AFTER INSERT ON alarms BEGIN
    INSERT OR IGNORE INTO alarms_fts_pending (id) VALUES (new.id);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER alarms_fts_delete AFTER DELETE ON alarms BEGIN
    INSERT OR IGNORE INTO alarms_fts_pending (id) VALUES (old.id);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER alarms_fts_update AFTER UPDATE ON alarms
WHEN old.output IS NOT new.output OR old.component IS NOT new.component OR old.resource IS NOT new.resource
    OR old.connector_name IS NOT new.connector_name BEGIN
    INSERT OR IGNORE INTO alarms_fts_pending (id) VALUES (new.id);
END;
-- +goose StatementEnd
INSERT INTO alarms_fts (rowid, component, resource, output, connector_name)
    SELECT id, component, resource, output, connector_name FROM alarms;

-- Sorted lists walk one of these in order (ties broken by id), so a page
-- costs its rows, not the table. Criticality sorts by its rank, a
-- generated column (green 1, orange 2, red 3, as alarms.CriticalityRank):
-- a plain column, unlike an indexed expression, lets a keyset cursor
-- start the walk right at its row.
ALTER TABLE alarms ADD COLUMN criticality_rank INTEGER GENERATED ALWAYS AS
    (CASE criticality WHEN 'red' THEN 3 WHEN 'orange' THEN 2 ELSE 1 END) VIRTUAL;
CREATE INDEX alarms_opened ON alarms (opened_ms, id);
CREATE INDEX alarms_last_event ON alarms (last_event_ms, id);
CREATE INDEX alarms_state ON alarms (state, id);
CREATE INDEX alarms_count ON alarms (count, id);
CREATE INDEX alarms_criticality_rank ON alarms (criticality_rank, id);
-- Counts by criticality read this index only, filtered by state or ack
-- or not.
CREATE INDEX alarms_status_criticality ON alarms (status, criticality, state, acked);

-- +goose Down
DROP INDEX alarms_status_criticality;
DROP INDEX alarms_criticality_rank;
ALTER TABLE alarms DROP COLUMN criticality_rank;
DROP INDEX alarms_count;
DROP INDEX alarms_state;
DROP INDEX alarms_last_event;
DROP INDEX alarms_opened;
DROP TRIGGER alarms_fts_update;
DROP TRIGGER alarms_fts_delete;
DROP TRIGGER alarms_fts_insert;
DROP TABLE alarms_fts_pending;
DROP TABLE alarms_fts;
