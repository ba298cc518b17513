package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vigie-monitoring/vigie/internal/agent"
)

const agentCols = "id, name, token_hash, host_id, host_name, created_ms, last_seen_ms, interval_ms, version, desired_json"

func scanAgent(r scanner) (agent.Registration, error) {
	var (
		a       agent.Registration
		host    sql.NullInt64
		created int64
		seen    int64
		iv      int64
		desired string
	)
	if err := r.Scan(&a.ID, &a.Name, &a.TokenHash, &host, &a.Host, &created, &seen, &iv, &a.Version, &desired); err != nil {
		return a, err
	}
	a.HostID = host.Int64
	a.CreatedAt, a.LastSeen = fromMS(created), fromMS(seen)
	a.Interval = agent.Duration(time.Duration(iv) * time.Millisecond)
	if err := json.Unmarshal([]byte(desired), &a.Desired); err != nil {
		return a, fmt.Errorf("agent %d: decoding its configuration: %w", a.ID, err)
	}
	return a, nil
}

func hostRef(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// CreateAgent stores an agent token (its hash) and sets its id.
func (d *DB) CreateAgent(ctx context.Context, a *agent.Registration) error {
	if a.CreatedAt.IsZero() {
		a.CreatedAt = d.stamp()
	}
	desired, _ := json.Marshal(a.Desired)
	var err error
	a.ID, err = d.insert(ctx, "INSERT INTO agents (name, token_hash, host_id, host_name, created_ms, interval_ms, desired_json) VALUES (?, ?, ?, ?, ?, ?, ?)",
		a.Name, a.TokenHash, hostRef(a.HostID), a.Host, ms(a.CreatedAt), a.Interval.D().Milliseconds(), string(desired))
	return d.conflict(err, fmt.Sprintf("creating agent %q", a.Name), fmt.Sprintf("agent %q", a.Name))
}

// UpdateAgent writes an agent's host binding, contact and configuration.
func (d *DB) UpdateAgent(ctx context.Context, a *agent.Registration) error {
	desired, _ := json.Marshal(a.Desired)
	err := d.execOne(ctx, fmt.Sprintf("agent %d", a.ID),
		"UPDATE agents SET host_id = ?, host_name = ?, last_seen_ms = ?, interval_ms = ?, version = ?, desired_json = ? WHERE id = ?",
		hostRef(a.HostID), a.Host, ms(a.LastSeen), a.Interval.D().Milliseconds(), a.Version, string(desired), a.ID)
	return wrap(err, fmt.Sprintf("updating agent %d", a.ID))
}

// DeleteAgent revokes an agent token; its batch ids go with it.
func (d *DB) DeleteAgent(ctx context.Context, id int64) error {
	err := d.execOne(ctx, fmt.Sprintf("agent %d", id), "DELETE FROM agents WHERE id = ?", id)
	return wrap(err, fmt.Sprintf("deleting agent %d", id))
}

// GetAgent reads an agent by id.
func (d *DB) GetAgent(ctx context.Context, id int64) (agent.Registration, error) {
	return get(ctx, d, scanAgent, fmt.Sprintf("agent %d", id), "SELECT "+agentCols+" FROM agents WHERE id = ?", id)
}

// GetAgentByHash finds the agent of a token.
func (d *DB) GetAgentByHash(ctx context.Context, hash string) (agent.Registration, error) {
	return get(ctx, d, scanAgent, "agent token", "SELECT "+agentCols+" FROM agents WHERE token_hash = ?", hash)
}

// ListAgents lists every agent by id.
func (d *DB) ListAgents(ctx context.Context) ([]agent.Registration, error) {
	out, err := list(ctx, d, scanAgent, "SELECT "+agentCols+" FROM agents ORDER BY id")
	return out, wrap(err, "listing agents")
}

// SeenAgentBatches returns which of the batch ids an agent had already
// stored.
func (d *DB) SeenAgentBatches(ctx context.Context, agentID int64, ids []string) (map[string]bool, error) {
	seen := map[string]bool{}
	if len(ids) == 0 {
		return seen, nil
	}
	args := []any{agentID}
	q := "SELECT batch_id FROM agent_batches WHERE agent_id = ? AND batch_id IN ("
	for i, id := range ids {
		if i > 0 {
			q += ", "
		}
		q += "?"
		args = append(args, id)
	}
	rows, err := list(ctx, d, func(r scanner) (string, error) {
		var s string
		return s, r.Scan(&s)
	}, q+")", args...)
	if err != nil {
		return nil, fmt.Errorf("reading agent %d's batch ids: %w", agentID, err)
	}
	for _, s := range rows {
		seen[s] = true
	}
	return seen, nil
}

// AddAgentBatches records, in one transaction (one commit a push), batch
// ids as stored, the agent's contact, and the newest result of each
// service reported (an older one never replaces a newer). Ids already
// recorded are left as they are.
func (d *DB) AddAgentBatches(ctx context.Context, agentID int64, ids []string, at time.Time, interval time.Duration, results []agent.TimedResult) error {
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, d.q("UPDATE agents SET last_seen_ms = ?, interval_ms = ? WHERE id = ?"), ms(at), interval.Milliseconds(), agentID); err != nil {
			return err
		}
		if len(ids) > 0 {
			st, err := tx.PrepareContext(ctx, d.q("INSERT INTO agent_batches (agent_id, batch_id, stored_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"))
			if err != nil {
				return err
			}
			defer st.Close()
			for _, id := range ids {
				if _, err := st.ExecContext(ctx, agentID, id, ms(at)); err != nil {
					return err
				}
			}
		}
		if len(results) > 0 {
			st, err := tx.PrepareContext(ctx, d.q(`INSERT INTO agent_results (agent_id, service, state, output, at_ms) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (agent_id, service) DO UPDATE SET state = excluded.state, output = excluded.output, at_ms = excluded.at_ms
				WHERE excluded.at_ms >= agent_results.at_ms`))
			if err != nil {
				return err
			}
			defer st.Close()
			for _, r := range results {
				if _, err := st.ExecContext(ctx, agentID, r.Service, r.State, r.Output, ms(r.At)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return wrap(err, fmt.Sprintf("recording agent %d's batches", agentID))
}

// ListAgentResults returns the newest result of every service of every
// enrolled agent, with its host.
func (d *DB) ListAgentResults(ctx context.Context) ([]agent.HostResult, error) {
	out, err := list(ctx, d, func(r scanner) (agent.HostResult, error) {
		var (
			x  agent.HostResult
			at int64
		)
		err := r.Scan(&x.Host, &x.Service, &x.State, &x.Output, &at)
		x.At = fromMS(at)
		return x, err
	}, "SELECT a.host_name, r.service, r.state, r.output, r.at_ms FROM agent_results r JOIN agents a ON a.id = r.agent_id WHERE a.host_name <> '' ORDER BY a.id, r.service")
	return out, wrap(err, "listing agent results")
}

// PruneAgentBatches forgets batch ids stored before t: an agent replays
// what it buffered, which its buffer bound keeps far younger.
func (d *DB) PruneAgentBatches(ctx context.Context, before time.Time) (int, error) {
	n, err := d.exec(ctx, "DELETE FROM agent_batches WHERE stored_ms < ?", ms(before))
	return n, wrap(err, "pruning agent batch ids")
}
