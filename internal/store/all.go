package store

import (
	"context"

	"github.com/vigie-monitoring/vigie/internal/inventory"
)

// AllHosts pages through ListHosts and returns every host the filter
// matches.
func AllHosts(ctx context.Context, st Inventory, f HostFilter) ([]inventory.Host, error) {
	var all []inventory.Host
	f.Limit, f.After = 1000, 0
	for {
		page, err := st.ListHosts(ctx, f)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < f.Limit {
			return all, nil
		}
		f.After = page[len(page)-1].ID
	}
}

// AllServices pages through ListServices and returns every service the
// filter matches.
func AllServices(ctx context.Context, st Inventory, f ServiceFilter) ([]inventory.Service, error) {
	var all []inventory.Service
	f.Limit, f.After = 1000, 0
	for {
		page, err := st.ListServices(ctx, f)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < f.Limit {
			return all, nil
		}
		f.After = page[len(page)-1].ID
	}
}
