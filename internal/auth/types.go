package auth

import "time"

// Roles known to this version. The full role matrix comes later; an admin may
// do everything and a viewer may only read.
const (
	RoleAdmin  = "admin"
	RoleViewer = "viewer"
)

// User is a person who signs in.
type User struct {
	ID           int64    `json:"id"`
	Login        string   `json:"login"`
	PasswordHash string   `json:"-"`
	Role         string   `json:"role"`
	Teams        []string `json:"teams"`
	// Domains limit what a manager or on-call user sees (network, system,
	// database…); empty means every domain.
	Domains  []string `json:"domains"`
	Disabled bool     `json:"disabled"`
	// ActivationHash is set while the user has not chosen a password yet:
	// the hash of the secret in the activation link.
	ActivationHash    string    `json:"-"`
	ActivationExpires time.Time `json:"-"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// Session is a console sign-in; only the hash of its secret is stored.
type Session struct {
	ID         int64     `json:"id"`
	UserID     int64     `json:"user_id"`
	TokenHash  string    `json:"-"`
	CSRFToken  string    `json:"-"`
	RemoteAddr string    `json:"remote_addr"`
	UserAgent  string    `json:"user_agent"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeen   time.Time `json:"last_seen"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// Token is a personal API token used as a bearer token; only its hash is
// stored.
type Token struct {
	ID        int64  `json:"id"`
	UserID    int64  `json:"user_id"`
	Name      string `json:"name"`
	TokenHash string `json:"-"`
	// Permissions narrows the user's permissions for this token; empty
	// means all of them.
	Permissions []Permission `json:"permissions"`
	CreatedAt   time.Time    `json:"created_at"`
	ExpiresAt   *time.Time   `json:"expires_at"`
	LastUsed    *time.Time   `json:"last_used"`
}

// AuditEntry records one sign-in attempt or one write through the API.
type AuditEntry struct {
	ID         int64     `json:"id"`
	At         time.Time `json:"at"`
	Login      string    `json:"user"`
	Role       string    `json:"role"`
	Action     string    `json:"action"`
	Object     string    `json:"object"`
	RemoteAddr string    `json:"remote_addr"`
	// Outcome is "ok", "denied", "failed" or an HTTP status.
	Outcome string `json:"outcome"`
	// Detail is JSON: the request body of a write, secrets removed.
	Detail string `json:"detail,omitempty"`
}
