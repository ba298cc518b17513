package store

import (
	"context"

	"github.com/vigie-monitoring/vigie/internal/inventory"
)

// AllHosts pages through ListHosts and returns every host the filter
// matches.
func AllHosts(ctx context.Context, st Inventory, f HostFilter) ([]inventory.Host, error) {
	return all(func(p Page) ([]inventory.Host, error) {
		f.Page = p
		return st.ListHosts(ctx, f)
	}, func(h inventory.Host) int64 { return h.ID })
}

// AllServices pages through ListServices and returns every service the
// filter matches.
func AllServices(ctx context.Context, st Inventory, f ServiceFilter) ([]inventory.Service, error) {
	return all(func(p Page) ([]inventory.Service, error) {
		f.Page = p
		return st.ListServices(ctx, f)
	}, func(s inventory.Service) int64 { return s.ID })
}

// all reads pages of the largest size until a short one.
func all[T any](list func(Page) ([]T, error), id func(T) int64) ([]T, error) {
	var out []T
	p := Page{Limit: 1000}
	for {
		page, err := list(p)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < p.Limit {
			return out, nil
		}
		p.After = id(page[len(page)-1])
	}
}

// AllHostGroups pages through ListHostGroups and returns every group.
func AllHostGroups(ctx context.Context, st Inventory) ([]inventory.HostGroup, error) {
	return all(func(p Page) ([]inventory.HostGroup, error) {
		return st.ListHostGroups(ctx, HostGroupFilter{Page: p})
	}, func(g inventory.HostGroup) int64 { return g.ID })
}
