package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// UnmarshalJSON reads a condition strictly (unknown keys refused), taking
// numbers and booleans for equals and in as their text, so that
// {"field": "state", "equals": 3} means what it says.
func (c *Condition) UnmarshalJSON(b []byte) error {
	type plain Condition
	var raw struct {
		plain
		Equals json.RawMessage   `json:"equals"`
		In     []json.RawMessage `json:"in"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	*c = Condition(raw.plain)
	if raw.Equals != nil {
		v, err := scalar(raw.Equals)
		if err != nil {
			return fmt.Errorf("equals: %w", err)
		}
		c.Equals = &v
	}
	if raw.In != nil {
		c.In = make([]string, len(raw.In))
		for i, r := range raw.In {
			v, err := scalar(r)
			if err != nil {
				return fmt.Errorf("in[%d]: %w", i, err)
			}
			c.In[i] = v
		}
	}
	return nil
}

func scalar(r json.RawMessage) (string, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(r))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	return "", fmt.Errorf("must be a string, a number or a boolean")
}
