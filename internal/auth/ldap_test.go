package auth_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"golang.org/x/crypto/bcrypt"

	"github.com/vigie-monitoring/vigie/internal/auth"
	"github.com/vigie-monitoring/vigie/internal/store"
)

const (
	ldapBase  = "dc=vigie,dc=test"
	ldapAdmin = "cn=admin," + ldapBase
	ldapPW    = "slapd-secret"
)

// startSlapd runs Debian's slapd on a loopback port with a throwaway
// database and a few people and groups.
func startSlapd(t *testing.T) string {
	t.Helper()
	bin := "/usr/sbin/slapd"
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("slapd missing under CI")
		}
		t.Skip("slapd not installed")
	}
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "data"), 0o700)
	conf := fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile %[1]s/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
suffix "%[2]s"
rootdn "%[3]s"
rootpw %[4]s
directory %[1]s/data
`, dir, ldapBase, ldapAdmin, ldapPW)
	os.WriteFile(filepath.Join(dir, "slapd.conf"), []byte(conf), 0o600)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	url := fmt.Sprintf("ldap://127.0.0.1:%d", port)
	cmd := exec.Command(bin, "-h", url+"/", "-f", filepath.Join(dir, "slapd.conf"), "-d", "0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var conn *ldap.Conn
	var err error
	for i := 0; i < 100; i++ {
		if conn, err = ldap.DialURL(url); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("slapd did not start: %v", err)
	}
	defer conn.Close()
	if err := conn.Bind(ldapAdmin, ldapPW); err != nil {
		t.Fatal(err)
	}
	add := func(dn string, attrs map[string][]string) {
		r := ldap.NewAddRequest(dn, nil)
		for k, v := range attrs {
			r.Attribute(k, v)
		}
		if err := conn.Add(r); err != nil {
			t.Fatalf("adding %s: %v", dn, err)
		}
	}
	add(ldapBase, map[string][]string{"objectClass": {"dcObject", "organization"}, "dc": {"vigie"}, "o": {"vigie"}})
	add("ou=people,"+ldapBase, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}})
	add("ou=groups,"+ldapBase, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"groups"}})
	for _, u := range []string{"alice", "bob", "carol"} {
		add("uid="+u+",ou=people,"+ldapBase, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {u}, "cn": {u}, "sn": {u}, "userPassword": {u + "-pw-123"}})
	}
	add("cn=noc-admins,ou=groups,"+ldapBase, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"noc-admins"}, "member": {"uid=alice,ou=people," + ldapBase}})
	add("cn=noc,ou=groups,"+ldapBase, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"noc"}, "member": {"uid=alice,ou=people," + ldapBase, "uid=bob,ou=people," + ldapBase}})
	return url
}

func TestLDAPSignIn(t *testing.T) {
	url := startSlapd(t)
	st, err := store.Open(ctx, store.Options{DSN: filepath.Join(t.TempDir(), "l.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := &auth.LDAPConfig{
		URL: url, BindDN: ldapAdmin, BindPassword: ldapPW, BaseDN: "ou=people," + ldapBase, UserFilter: "(uid=%s)",
		GroupBaseDN: "ou=groups," + ldapBase, GroupFilter: "(member=%s)", GroupAttr: "cn",
		GroupRoles: []auth.GroupRole{{Group: "noc-admins", Role: auth.RoleAdmin}, {Group: "noc", Role: auth.RoleOperator}},
	}
	s := auth.NewService(st, auth.Options{LDAP: cfg, BcryptCost: bcrypt.MinCost})
	s.EnsureRoles(ctx)

	tests := []struct {
		login, pw, role string
		err             error
	}{
		{"alice", "alice-pw-123", auth.RoleAdmin, nil}, // first matching group wins
		{"bob", "bob-pw-123", auth.RoleOperator, nil},
		{"bob", "wrong", "", auth.ErrInvalidCredentials},
		{"bob", "", "", auth.ErrInvalidCredentials}, // no unauthenticated bind
		{"nobody", "x-pw-123", "", auth.ErrInvalidCredentials},
		{"carol", "carol-pw-123", "", auth.ErrInvalidCredentials}, // in no mapped group
		{"*", "alice-pw-123", "", auth.ErrInvalidCredentials},     // filter injection
	}
	for _, tt := range tests {
		p, _, err := s.Login(ctx, tt.login, tt.pw, "127.0.0.1", "test")
		if !errors.Is(err, tt.err) || (tt.err == nil && (p.User.Role != tt.role || !p.Can(auth.PermHostsRead))) {
			t.Errorf("%s/%q: role %q err %v; want role %q err %v", tt.login, tt.pw, p.User.Role, err, tt.role, tt.err)
		}
	}
	u, err := st.GetUserByLogin(ctx, "bob")
	if err != nil || u.Role != auth.RoleOperator {
		t.Fatalf("directory user recorded locally: %+v %v", u, err)
	}
	// The group mapping follows the directory at each sign-in.
	cfg.GroupRoles = []auth.GroupRole{{Group: "noc", Role: auth.RoleViewer}}
	if p, _, err := s.Login(ctx, "bob", "bob-pw-123", "", ""); err != nil || p.User.Role != auth.RoleViewer {
		t.Fatalf("role after the mapping changed: %+v %v", p.User, err)
	}
	// carol with a default role.
	cfg.DefaultRole = auth.RoleViewer
	if p, _, err := s.Login(ctx, "carol", "carol-pw-123", "", ""); err != nil || p.User.Role != auth.RoleViewer {
		t.Fatalf("default role: %+v %v", p.User, err)
	}
	// Local users keep signing in locally.
	s.EnsureAdmin(ctx, "local-admin-pw")
	if _, _, err := s.Login(ctx, "admin", "local-admin-pw", "", ""); err != nil {
		t.Fatalf("local admin with LDAP on: %v", err)
	}
}
