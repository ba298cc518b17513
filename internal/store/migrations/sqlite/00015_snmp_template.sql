-- +goose Up
-- A host group's SNMP template (JSON), what every member polls; and, on a
-- service, the group whose template made it.
ALTER TABLE hostgroups ADD COLUMN snmp_template_json TEXT NOT NULL DEFAULT '';
ALTER TABLE services ADD COLUMN template TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE services DROP COLUMN template;
ALTER TABLE hostgroups DROP COLUMN snmp_template_json;
