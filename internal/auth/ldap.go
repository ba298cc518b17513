package auth

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// LDAPConfig configures sign-in against an LDAP directory or Active
// Directory: a service account finds the user's entry, a bind with the
// user's password proves it, and the user's groups give the role.
type LDAPConfig struct {
	URL          string // ldap://host:389 or ldaps://host:636
	StartTLS     bool
	SkipVerify   bool
	BindDN       string // service account; empty binds anonymously
	BindPassword string
	BaseDN       string // where users are searched
	// UserFilter finds the entry of a login; %s is the escaped login:
	// "(uid=%s)", or "(sAMAccountName=%s)" for Active Directory.
	UserFilter string
	// GroupBaseDN and GroupFilter find the user's groups; %s is the
	// escaped user DN: "(member=%s)". GroupAttr names a group ("cn").
	GroupBaseDN string
	GroupFilter string
	GroupAttr   string
	// GroupRoles maps groups to roles, first match wins; users in none of
	// them get DefaultRole, or are refused when it is empty.
	GroupRoles  []GroupRole
	DefaultRole string
	Timeout     time.Duration
}

// GroupRole maps a directory group to a vigie role.
type GroupRole struct {
	Group string `yaml:"group" json:"group"`
	Role  string `yaml:"role" json:"role"`
}

// ldapManaged marks the local record of a directory user: it matches no
// bcrypt hash, so only the directory can sign the user in.
const ldapManaged = "!ldap"

var errNoLDAPRole = errors.New("in no group that maps to a role")

// ldapLogin checks a login and password against the directory and returns
// the role the user's groups give. A wrong password, an unknown login or
// a login matching several entries are all ErrInvalidCredentials.
func (c *LDAPConfig) login(login, password string) (role string, err error) {
	if password == "" {
		// An empty password would be an unauthenticated bind, which many
		// servers accept: never a sign-in.
		return "", ErrInvalidCredentials
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	conn, err := ldap.DialURL(c.URL, ldap.DialWithDialer(&net.Dialer{Timeout: timeout}),
		ldap.DialWithTLSConfig(&tls.Config{InsecureSkipVerify: c.SkipVerify}))
	if err != nil {
		return "", fmt.Errorf("connecting to the directory: %w", err)
	}
	defer conn.Close()
	conn.SetTimeout(timeout)
	if c.StartTLS {
		if err := conn.StartTLS(&tls.Config{InsecureSkipVerify: c.SkipVerify}); err != nil {
			return "", fmt.Errorf("starting TLS with the directory: %w", err)
		}
	}
	if c.BindDN != "" {
		if err := conn.Bind(c.BindDN, c.BindPassword); err != nil {
			return "", fmt.Errorf("binding as the service account: %w", err)
		}
	}
	res, err := conn.Search(ldap.NewSearchRequest(c.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, int(timeout.Seconds()), false,
		fmt.Sprintf(c.UserFilter, ldap.EscapeFilter(login)), []string{"dn"}, nil))
	if err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
			return "", ErrInvalidCredentials
		}
		return "", fmt.Errorf("searching the directory: %w", err)
	}
	if len(res.Entries) != 1 {
		return "", ErrInvalidCredentials
	}
	dn := res.Entries[0].DN
	if err := conn.Bind(dn, password); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			return "", ErrInvalidCredentials
		}
		return "", fmt.Errorf("binding as the user: %w", err)
	}
	// Read the groups as the service account again: users may not be
	// allowed to.
	if c.BindDN != "" {
		if err := conn.Bind(c.BindDN, c.BindPassword); err != nil {
			return "", fmt.Errorf("binding as the service account: %w", err)
		}
	}
	groups := map[string]bool{}
	if c.GroupFilter != "" {
		base := c.GroupBaseDN
		if base == "" {
			base = c.BaseDN
		}
		attr := c.GroupAttr
		if attr == "" {
			attr = "cn"
		}
		gres, err := conn.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, int(timeout.Seconds()), false,
			fmt.Sprintf(c.GroupFilter, ldap.EscapeFilter(dn)), []string{attr}, nil))
		if err != nil {
			return "", fmt.Errorf("searching the user's groups: %w", err)
		}
		for _, e := range gres.Entries {
			for _, v := range e.GetAttributeValues(attr) {
				groups[v] = true
			}
		}
	}
	for _, gr := range c.GroupRoles {
		if groups[gr.Group] {
			return gr.Role, nil
		}
	}
	if c.DefaultRole != "" {
		return c.DefaultRole, nil
	}
	return "", errNoLDAPRole
}
