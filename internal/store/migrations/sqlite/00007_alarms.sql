-- +goose Up
-- Alarms (one open per connector, connector_name, component, resource),
-- their steps, and log events, which are kept without opening alarms.
CREATE TABLE alarms (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    connector          TEXT NOT NULL,
    connector_name     TEXT NOT NULL,
    component          TEXT NOT NULL,
    resource           TEXT NOT NULL,
    status             TEXT NOT NULL,
    state              INTEGER NOT NULL,
    worst_state        INTEGER NOT NULL,
    criticality        TEXT NOT NULL,
    criticality_locked INTEGER NOT NULL,
    output             TEXT NOT NULL,
    long_output        TEXT NOT NULL,
    count              INTEGER NOT NULL,
    domain             TEXT NOT NULL,
    category           TEXT NOT NULL,
    tags_json          TEXT NOT NULL,
    opened_ms          INTEGER NOT NULL,
    last_event_ms      INTEGER NOT NULL,
    updated_ms         INTEGER NOT NULL,
    resolved_ms        INTEGER NOT NULL,
    resolve_at_ms      INTEGER NOT NULL,
    acked              INTEGER NOT NULL,
    ack_by             TEXT NOT NULL,
    ack_ms             INTEGER NOT NULL,
    ack_comment        TEXT NOT NULL,
    snooze_until_ms    INTEGER NOT NULL,
    assignees_json     TEXT NOT NULL
);
CREATE UNIQUE INDEX alarms_open_key ON alarms (connector, connector_name, component, resource) WHERE status = 'open';
CREATE INDEX alarms_status ON alarms (status, id);
CREATE INDEX alarms_component ON alarms (component, id);

CREATE TABLE alarm_steps (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    alarm_id INTEGER NOT NULL REFERENCES alarms(id) ON DELETE CASCADE,
    type     TEXT NOT NULL,
    author   TEXT NOT NULL,
    time_ms  INTEGER NOT NULL,
    comment  TEXT NOT NULL,
    state    INTEGER NOT NULL,
    value    TEXT NOT NULL
);
CREATE INDEX alarm_steps_alarm ON alarm_steps (alarm_id, id);

CREATE TABLE event_log (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ms        INTEGER NOT NULL,
    connector      TEXT NOT NULL,
    connector_name TEXT NOT NULL,
    component      TEXT NOT NULL,
    resource       TEXT NOT NULL,
    state          INTEGER NOT NULL,
    output         TEXT NOT NULL,
    event_json     TEXT NOT NULL
);
CREATE INDEX event_log_time ON event_log (time_ms);

-- +goose Down
DROP TABLE event_log;
DROP TABLE alarm_steps;
DROP TABLE alarms;
