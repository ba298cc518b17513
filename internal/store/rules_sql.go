package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/vigie-monitoring/vigie/internal/events/rules"
)

func scanRule(row scanner) (rules.Rule, error) {
	var (
		r    rules.Rule
		name string
		body string
	)
	if err := row.Scan(&name, &body); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return r, fmt.Errorf("decoding event rule %q: %w", name, err)
	}
	r.Name = name
	return r, nil
}

// ListEventRules returns the stored rules in their order.
func (d *DB) ListEventRules(ctx context.Context) ([]rules.Rule, error) {
	out, err := list(ctx, d, scanRule, "SELECT name, rule_json FROM event_rules ORDER BY position")
	return out, wrap(err, "listing event rules")
}

// ReplaceEventRules stores rs as the whole list, in one transaction.
func (d *DB) ReplaceEventRules(ctx context.Context, rs []rules.Rule) error {
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, d.q("DELETE FROM event_rules")); err != nil {
			return err
		}
		for i, r := range rs {
			b, err := json.Marshal(r)
			if err != nil {
				return fmt.Errorf("encoding event rule %q: %w", r.Name, err)
			}
			if _, err := tx.ExecContext(ctx, d.q("INSERT INTO event_rules (name, position, rule_json) VALUES (?, ?, ?)"), r.Name, i, string(b)); err != nil {
				return fmt.Errorf("writing event rule %q: %w", r.Name, err)
			}
		}
		return nil
	})
	return wrap(err, "replacing event rules")
}
