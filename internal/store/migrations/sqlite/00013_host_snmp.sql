-- +goose Up
-- A host's SNMP settings (JSON), the defaults of its snmp services.
ALTER TABLE hosts ADD COLUMN snmp_json TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE hosts DROP COLUMN snmp_json;
