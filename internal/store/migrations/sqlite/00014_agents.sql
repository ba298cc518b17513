-- +goose Up
-- Agent tokens: one per agent, only its hash kept; the host it reports as
-- is bound at enrolment. desired_json is the configuration pushed to it.
CREATE TABLE agents (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL UNIQUE,
    token_hash      TEXT NOT NULL UNIQUE,
    host_id         INTEGER REFERENCES hosts(id) ON DELETE SET NULL,
    host_name       TEXT NOT NULL DEFAULT '',
    created_ms      INTEGER NOT NULL,
    last_seen_ms    INTEGER NOT NULL DEFAULT 0,
    interval_ms     INTEGER NOT NULL DEFAULT 0,
    version         TEXT NOT NULL DEFAULT '',
    desired_json    TEXT NOT NULL DEFAULT '{}'
);
-- The batch ids each agent had stored, so that a replay is not stored twice.
CREATE TABLE agent_batches (
    agent_id  INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    batch_id  TEXT NOT NULL,
    stored_ms INTEGER NOT NULL,
    PRIMARY KEY (agent_id, batch_id)
);
CREATE INDEX agent_batches_stored ON agent_batches (stored_ms);
-- The newest state each agent reported for each of its services, written
-- with the batch ids: it survives a restart of the server, which answers
-- the agent check kind from it until the agent speaks again.
CREATE TABLE agent_results (
    agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    service  TEXT NOT NULL,
    state    INTEGER NOT NULL,
    output   TEXT NOT NULL,
    at_ms    INTEGER NOT NULL,
    PRIMARY KEY (agent_id, service)
);

-- +goose Down
DROP TABLE agent_results;
DROP TABLE agent_batches;
DROP TABLE agents;
