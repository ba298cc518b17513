-- +goose Up
-- When each source watched by an idle rule (alarms.idle_rules) sent its
-- last event.
CREATE TABLE alarm_last_seen (
    connector      TEXT NOT NULL,
    connector_name TEXT NOT NULL,
    component      TEXT NOT NULL,
    last_ms        BIGINT NOT NULL,
    PRIMARY KEY (connector, connector_name, component)
);

-- +goose Down
DROP TABLE alarm_last_seen;
