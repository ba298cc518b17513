package app

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigie-monitoring/vigie/internal/api"
	"github.com/vigie-monitoring/vigie/internal/auth"
)

// TestPermissionMatrix walks every endpoint for every default role: a role
// without the endpoint's permission gets 403, a role with it never does.
// An endpoint added without a permission fails the test.
func TestPermissionMatrix(t *testing.T) {
	ts := startServer(t, t.TempDir(), "")
	ts.admin("POST", "/api/v1/hosts", map[string]any{"name": "m1", "check": map[string]any{"kind": "none"}}, nil)
	roles := auth.DefaultRoles()
	for _, r := range roles {
		if r.Name == auth.RoleAdmin {
			continue
		}
		if code := ts.admin("POST", "/api/v1/users", map[string]any{"login": "u-" + r.Name, "password": "pw-" + r.Name + "-123", "role": r.Name}, nil); code != 201 {
			t.Fatalf("creating a %s: %d", r.Name, code)
		}
	}
	rules := api.RouteRules()
	for _, rule := range rules {
		if !rule.Public && !rule.Self && !rule.Agent && rule.Perm == "" {
			t.Errorf("%s %s has no permission", rule.Method, rule.Pattern)
		}
	}
	for _, role := range roles {
		login, pw := "u-"+role.Name, "pw-"+role.Name+"-123"
		if role.Name == auth.RoleAdmin {
			login, pw = "admin", adminPassword
		}
		for _, rule := range rules {
			if rule.Public || rule.Agent || (rule.Method == "DELETE" && rule.Pattern == "/api/v1/hosts/{id}") {
				continue // deleting the fixture would change later answers, not the guard
			}
			path := strings.ReplaceAll(rule.Pattern, "{id}", "m1")
			if strings.Contains(rule.Pattern, "services/{id}") || strings.Contains(rule.Pattern, "tokens/{id}") || strings.Contains(rule.Pattern, "sessions/{id}") {
				path = strings.ReplaceAll(rule.Pattern, "{id}", "999")
			}
			req, _ := http.NewRequest(rule.Method, ts.base+path, bytes.NewReader([]byte("{}")))
			req.SetBasicAuth(login, pw)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var e apiErr
			if rule.Pattern != "/api/v1/stream" {
				json.NewDecoder(resp.Body).Decode(&e)
			}
			resp.Body.Close()
			allowed := rule.Self || role.Has(rule.Perm)
			// Refused for want of the permission: 403 with code "forbidden"
			// (a wrong current password is a 403 of another kind).
			if got := resp.StatusCode == http.StatusForbidden && e.Error.Code == "forbidden"; got == allowed {
				t.Errorf("%s: %s %s answered %d (permission %q, allowed %v)", role.Name, rule.Method, path, resp.StatusCode, rule.Perm, allowed)
			}
			if resp.StatusCode == http.StatusUnauthorized {
				t.Errorf("%s: %s %s answered 401 to valid credentials", role.Name, rule.Method, path)
			}
		}
	}
	// The matrix of the brief: operators close incidents, managers never do;
	// viewers read and only open and qualify incidents.
	byName := map[string]auth.Role{}
	for _, r := range roles {
		byName[r.Name] = r
	}
	checks := []struct {
		role string
		perm auth.Permission
		want bool
	}{
		{"operator", auth.PermIncidentsClose, true}, {"operator", auth.PermAlarmsDelete, true}, {"operator", auth.PermUsersManage, false},
		{"manager", auth.PermIncidentsClose, false}, {"manager", auth.PermHostsWrite, true}, {"manager", auth.PermIncidentsRes, true},
		{"on-call", auth.PermHostsWrite, false}, {"on-call", auth.PermOncallRead, true}, {"on-call", auth.PermIncidentsRes, true},
		{"viewer", auth.PermIncidentsOpen, true}, {"viewer", auth.PermIncidentsRes, false}, {"viewer", auth.PermKBRead, true}, {"viewer", auth.PermHostsWrite, false},
		{"admin", auth.PermOncallManage, true}, {"admin", auth.PermSettings, true},
		{"admin", auth.PermRulesManage, true}, {"operator", auth.PermRulesManage, false}, {"operator", auth.PermAlarmsRead, true},
	}
	for _, c := range checks {
		if byName[c.role].Has(c.perm) != c.want {
			t.Errorf("role %s %s: want %v", c.role, c.perm, c.want)
		}
	}
}

func TestRolesAuditAndLockout(t *testing.T) {
	ts := startServer(t, t.TempDir(), "")
	// An admin adjusts a role; it takes effect at once.
	ts.admin("POST", "/api/v1/users", map[string]any{"login": "vic", "password": "viewer-pw-1", "role": "viewer"}, nil)
	if code := ts.call("POST", "/api/v1/hosts", "vic", "viewer-pw-1", map[string]any{"name": "x"}, nil); code != 403 {
		t.Fatalf("viewer writing: %d", code)
	}
	var e apiErr
	if code := ts.admin("PUT", "/api/v1/roles/viewer", map[string]any{"permissions": []string{"hosts.read", "hosts.write"}}, nil); code != 200 {
		t.Fatalf("adjusting a role: %d", code)
	}
	if code := ts.call("POST", "/api/v1/hosts", "vic", "viewer-pw-1", map[string]any{"name": "x"}, nil); code != 201 {
		t.Fatalf("viewer with hosts.write: %d", code)
	}
	if code := ts.admin("PUT", "/api/v1/roles/viewer", map[string]any{"permissions": []string{"hosts.fly"}}, &e); code != 400 || e.Error.Field != "permissions" {
		t.Fatalf("unknown permission: %d %+v", code, e)
	}
	if code := ts.admin("PUT", "/api/v1/roles/admin", map[string]any{"permissions": []string{"hosts.read"}}, &e); code != 400 {
		t.Fatalf("admin stripped of role management: %d", code)
	}
	if code := ts.admin("POST", "/api/v1/users", map[string]any{"login": "z", "password": "zzzzzzzz1", "role": "pilot"}, &e); code != 400 || e.Error.Field != "role" {
		t.Fatalf("unknown role: %d %+v", code, e)
	}

	// Brute force: five wrong passwords lock the login, whatever comes next,
	// and an unknown login is locked the same way (nothing is revealed).
	for _, login := range []string{"vic", "nobody"} {
		for i := 0; i < 5; i++ {
			ts.call("POST", "/api/v1/login", "", "", map[string]string{"login": login, "password": "wrong-wrong"}, nil)
		}
		if code := ts.call("POST", "/api/v1/login", "", "", map[string]string{"login": login, "password": "viewer-pw-1"}, &e); code != 429 || e.Error.Code != "locked_out" {
			t.Fatalf("%s after 5 failures: %d %+v", login, code, e)
		}
	}
	var locks struct {
		Items []struct {
			Key string `json:"key"`
		} `json:"items"`
	}
	ts.admin("GET", "/api/v1/lockouts", nil, &locks)
	if len(locks.Items) != 2 {
		t.Fatalf("lock-outs: %+v", locks)
	}
	if code := ts.admin("DELETE", "/api/v1/lockouts/login:vic", nil, nil); code != 204 {
		t.Fatalf("lifting: %d", code)
	}
	if code := ts.call("POST", "/api/v1/login", "", "", map[string]string{"login": "vic", "password": "viewer-pw-1"}, nil); code != 200 {
		t.Fatalf("login after the lift: %d", code)
	}

	// The audit shows sign-ins and writes, secrets redacted, with filters.
	var audit struct {
		Items []struct {
			User    string `json:"user"`
			Action  string `json:"action"`
			Object  string `json:"object"`
			Outcome string `json:"outcome"`
			Detail  string `json:"detail"`
		} `json:"items"`
	}
	ts.admin("GET", "/api/v1/audit?user=vic", nil, &audit)
	seen := map[string]int{}
	for _, a := range audit.Items {
		seen[a.Action+" "+a.Outcome]++
		if strings.Contains(a.Detail, "viewer-pw-1") || strings.Contains(a.Detail, "wrong-wrong") {
			t.Fatalf("a password reached the audit: %+v", a)
		}
	}
	for _, want := range []string{"login failed", "login locked", "login ok", "POST /api/v1/hosts 403", "POST /api/v1/hosts 201"} {
		if seen[want] == 0 {
			t.Errorf("audit lacks %q: %v", want, seen)
		}
	}
	audit.Items = nil
	ts.admin("GET", "/api/v1/audit?action=POST%20/api/v1/users", nil, &audit)
	if len(audit.Items) != 2 || !strings.Contains(audit.Items[1].Detail, `"(redacted)"`) {
		t.Fatalf("user creations in the audit: %+v", audit.Items)
	}
	// Before and after of an edit.
	ts.admin("PATCH", "/api/v1/hosts/x", map[string]any{"address": "10.9.8.7"}, nil)
	audit.Items = nil
	ts.admin("GET", "/api/v1/audit?action=PATCH", nil, &audit)
	if len(audit.Items) != 1 {
		t.Fatalf("PATCH audit: %+v", audit.Items)
	}
	var d struct {
		Request, Before, After struct {
			Address string `json:"address"`
		}
	}
	if err := json.Unmarshal([]byte(audit.Items[0].Detail), &d); err != nil || d.Before.Address != "" || d.After.Address != "10.9.8.7" || d.Request.Address != "10.9.8.7" {
		t.Fatalf("before/after: %s (%v)", audit.Items[0].Detail, err)
	}
	ts.admin("DELETE", "/api/v1/hosts/x", nil, nil)
	audit.Items = nil
	ts.admin("GET", "/api/v1/audit?action=DELETE%20/api/v1/hosts", nil, &audit)
	if len(audit.Items) != 1 || !strings.Contains(audit.Items[0].Detail, `"before":{`) || !strings.Contains(audit.Items[0].Detail, "10.9.8.7") {
		t.Fatalf("DELETE audit keeps the deleted object: %+v", audit.Items)
	}
	ts.admin("POST", "/api/v1/users", map[string]any{"login": "act", "role": "viewer"}, nil)
	audit.Items = nil
	ts.admin("GET", "/api/v1/audit?action=POST%20/api/v1/users", nil, &audit)
	if strings.Contains(audit.Items[0].Detail, "token=") {
		t.Fatalf("an activation link reached the audit: %s", audit.Items[0].Detail)
	}
	if code := ts.call("GET", "/api/v1/audit", "vic", "viewer-pw-1", nil, nil); code != 403 {
		t.Fatalf("viewer reading the audit: %d", code)
	}
}

func TestUserManagement(t *testing.T) {
	ts := startServer(t, t.TempDir(), "")
	var created struct {
		ID            int64    `json:"id"`
		Teams         []string `json:"teams"`
		Domains       []string `json:"domains"`
		ActivationURL string   `json:"activation_url"`
	}
	code := ts.admin("POST", "/api/v1/users", map[string]any{"login": "nina", "role": "manager", "teams": []string{"noc"}, "domains": []string{"network"}}, &created)
	if code != 201 || !strings.HasPrefix(created.ActivationURL, "/activate?token=") || created.Domains[0] != "network" || created.Teams[0] != "noc" {
		t.Fatalf("creating without a password: %d %+v", code, created)
	}
	token := strings.TrimPrefix(created.ActivationURL, "/activate?token=")
	// Not usable before activation.
	if code := ts.call("POST", "/api/v1/login", "", "", map[string]string{"login": "nina", "password": "!"}, nil); code != 401 {
		t.Fatalf("login before activation: %d", code)
	}
	var e apiErr
	if code := ts.call("POST", "/api/v1/activate", "", "", map[string]string{"token": token, "password": "short"}, &e); code != 400 || e.Error.Field != "password" {
		t.Fatalf("weak password at activation: %d %+v", code, e)
	}
	if code := ts.call("POST", "/api/v1/activate", "", "", map[string]string{"token": token, "password": "nina-password-1"}, nil); code != 204 {
		t.Fatalf("activation: %d", code)
	}
	if code := ts.call("POST", "/api/v1/activate", "", "", map[string]string{"token": token, "password": "nina-password-2"}, nil); code != 404 {
		t.Fatalf("activation link used twice: %d", code)
	}
	if code := ts.call("GET", "/api/v1/me", "nina", "nina-password-1", nil, nil); code != 200 {
		t.Fatalf("after activation: %d", code)
	}
	// Own password change; the old one stops working.
	if code := ts.call("POST", "/api/v1/me/password", "nina", "nina-password-1", map[string]string{"current_password": "wrong-one", "new_password": "nina-password-2"}, nil); code != 403 {
		t.Fatalf("change with a wrong current password: %d", code)
	}
	if code := ts.call("POST", "/api/v1/me/password", "nina", "nina-password-1", map[string]string{"current_password": "nina-password-1", "new_password": "nina-password-2"}, nil); code != 204 {
		t.Fatalf("password change: %d", code)
	}
	if code := ts.call("GET", "/api/v1/me", "nina", "nina-password-1", nil, nil); code != 401 {
		t.Fatalf("old password after the change: %d", code)
	}
	// Disable, re-enable, delete.
	if code := ts.admin("PATCH", "/api/v1/users/nina", map[string]any{"disabled": true}, nil); code != 200 {
		t.Fatalf("disabling: %d", code)
	}
	if code := ts.call("GET", "/api/v1/me", "nina", "nina-password-2", nil, nil); code != 401 {
		t.Fatalf("disabled user: %d", code)
	}
	if code := ts.admin("PATCH", "/api/v1/users/admin", map[string]any{"disabled": true}, &e); code != 400 {
		t.Fatalf("admin disabling themselves: %d", code)
	}
	if code := ts.admin("DELETE", "/api/v1/users/nina", nil, nil); code != 204 {
		t.Fatalf("deleting: %d", code)
	}
	if code := ts.admin("GET", "/api/v1/users/nina", nil, nil); code != 404 {
		t.Fatalf("deleted user: %d", code)
	}
}

// TestDomainScope: a manager of domain network does not see a database
// host in lists, by id, in the overview or in the event stream.
func TestDomainScope(t *testing.T) {
	ts := startServer(t, t.TempDir(), "")
	ts.admin("POST", "/api/v1/users", map[string]any{"login": "max", "password": "manager-pw-1", "role": "manager", "domains": []string{"network"}}, nil)
	ln := listen(t)
	port := ln.Addr().(*net.TCPAddr).Port

	// The manager's stream is open before anything happens.
	req, _ := http.NewRequest("GET", ts.base+"/api/v1/stream", nil)
	req.SetBasicAuth("max", "manager-pw-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "data: ") {
				events <- l
			}
		}
		close(events)
	}()

	ids := map[string]int64{}
	for _, h := range []struct{ name, domain string }{{"router", "network"}, {"db1", "database"}} {
		var hv struct{ ID int64 }
		ts.admin("POST", "/api/v1/hosts", map[string]any{"name": h.name, "domain": h.domain, "check": map[string]any{"kind": "none"}}, &hv)
		var sv struct{ ID int64 }
		ts.admin("POST", "/api/v1/services", map[string]any{"host": h.name, "name": "port", "check": map[string]any{"kind": "tcp", "address": "127.0.0.1", "port": port}, "interval": "1s"}, &sv)
		ids[h.name], ids[h.name+"/svc"] = hv.ID, sv.ID
	}
	var hosts struct {
		Items []struct{ Name string } `json:"items"`
	}
	ts.call("GET", "/api/v1/hosts", "max", "manager-pw-1", nil, &hosts)
	if len(hosts.Items) != 1 || hosts.Items[0].Name != "router" {
		t.Fatalf("manager's host list: %+v", hosts)
	}
	var svcs struct {
		Items []struct {
			HostName string `json:"host_name"`
		} `json:"items"`
	}
	ts.call("GET", "/api/v1/services", "max", "manager-pw-1", nil, &svcs)
	if len(svcs.Items) != 1 || svcs.Items[0].HostName != "router" {
		t.Fatalf("manager's service list: %+v", svcs)
	}
	for _, p := range []string{"/api/v1/hosts/db1", fmt.Sprintf("/api/v1/hosts/%d", ids["db1"]), fmt.Sprintf("/api/v1/services/%d", ids["db1/svc"]), "/api/v1/hosts/db1/services"} {
		if code := ts.call("GET", p, "max", "manager-pw-1", nil, nil); code != 404 {
			t.Errorf("GET %s as the manager: %d, want 404", p, code)
		}
	}
	if code := ts.call("POST", "/api/v1/services", "max", "manager-pw-1", map[string]any{"host": "db1", "name": "x", "check": map[string]any{"kind": "tcp", "port": 1}}, nil); code != 400 {
		t.Errorf("adding a service to a host out of scope: %d", code)
	}
	var ov struct {
		Services map[string]int `json:"services"`
	}
	waitFor(t, "the manager's overview to count only the router's service", func() bool {
		ts.call("GET", "/api/v1/overview", "max", "manager-pw-1", nil, &ov)
		return ov.Services["OK"] == 1 && ov.Services["PENDING"] == 0
	})
	// The stream carries the router's events and never db1's.
	sawRouter := false
	deadline := time.After(4 * time.Second)
	for done := false; !done; {
		select {
		case e := <-events:
			if strings.Contains(e, fmt.Sprintf(`"id":%d,`, ids["db1"])) && strings.Contains(e, `"kind":"host"`) ||
				strings.Contains(e, fmt.Sprintf(`"id":%d,`, ids["db1/svc"])) && strings.Contains(e, `"kind":"service"`) {
				t.Fatalf("the manager's stream carried a database event: %s", e)
			}
			if strings.Contains(e, fmt.Sprintf(`"kind":"service","id":%d,`, ids["router/svc"])) {
				sawRouter = true
			}
		case <-deadline:
			done = true
		}
	}
	if !sawRouter {
		t.Fatal("the manager's stream did not carry the router's service")
	}
	// The admin, with no domains, sees both.
	ts.admin("GET", "/api/v1/hosts", nil, &hosts)
	if len(hosts.Items) != 2 {
		t.Fatalf("admin's host list: %+v", hosts)
	}
}

func TestNarrowedToken(t *testing.T) {
	ts := startServer(t, t.TempDir(), "")
	var tok struct {
		Token       string   `json:"token"`
		Permissions []string `json:"permissions"`
	}
	if code := ts.admin("POST", "/api/v1/tokens", map[string]any{"name": "read-only", "permissions": []string{"hosts.read"}}, &tok); code != 201 || len(tok.Permissions) != 1 {
		t.Fatalf("creating a narrowed token: %d %+v", code, tok)
	}
	call := func(method, path string, body string) int {
		req, _ := http.NewRequest(method, ts.base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := call("GET", "/api/v1/hosts", ""); code != 200 {
		t.Fatalf("token reading hosts: %d", code)
	}
	if code := call("POST", "/api/v1/hosts", `{"name":"x"}`); code != 403 {
		t.Fatalf("read-only token writing: %d", code)
	}
	if code := call("GET", "/api/v1/services", ""); code != 403 {
		t.Fatalf("token beyond its permissions: %d", code)
	}
	// Nobody hands out more than they hold.
	ts.admin("POST", "/api/v1/users", map[string]any{"login": "vi", "password": "viewer-pw-9", "role": "viewer"}, nil)
	var e apiErr
	if code := ts.call("POST", "/api/v1/tokens", "vi", "viewer-pw-9", map[string]any{"name": "x", "permissions": []string{"hosts.write"}}, &e); code != 400 || e.Error.Field != "permissions" {
		t.Fatalf("viewer minting hosts.write: %d %+v", code, e)
	}
}
