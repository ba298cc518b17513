-- +goose Up
-- The qualification rules made through the API, applied in position order
-- after those of the YAML. A rule is kept as its JSON form.
CREATE TABLE event_rules (
    name      TEXT PRIMARY KEY,
    position  INTEGER NOT NULL,
    rule_json TEXT NOT NULL
);

-- +goose Down
DROP TABLE event_rules;
