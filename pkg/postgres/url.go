package postgres

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// WithUser returns connURL connecting as user with password (none if
// empty). Only postgres:// and postgresql:// URLs are supported.
func WithUser(connURL, user, password string) (string, error) {
	u, err := parseURL(connURL)
	if err != nil {
		return "", err
	}
	if user == "" {
		return "", errors.New("postgres: WithUser: empty user")
	}
	if password == "" {
		u.User = url.User(user)
	} else {
		u.User = url.UserPassword(user, password)
	}
	return u.String(), nil
}

// WithDatabase returns connURL connecting to database db.
func WithDatabase(connURL, db string) (string, error) {
	u, err := parseURL(connURL)
	if err != nil {
		return "", err
	}
	if db == "" {
		return "", errors.New("postgres: WithDatabase: empty database name")
	}
	u.Path = "/" + db
	u.RawPath = ""
	return u.String(), nil
}

// WithRole returns connURL with "-c role=<role>" added to its options, so
// every session starts as if it had run SET ROLE. The URL's user must be a
// member of role (or a superuser). Migrations use it to act as the NOLOGIN
// owner role with an admin's credentials.
func WithRole(connURL, role string) (string, error) {
	u, err := parseURL(connURL)
	if err != nil {
		return "", err
	}
	if role == "" {
		return "", errors.New("postgres: WithRole: empty role")
	}
	q := u.Query()
	// libpq options are split on spaces; a backslash escapes the next byte.
	escaped := strings.NewReplacer(`\`, `\\`, " ", `\ `).Replace(role)
	opt := "-c role=" + escaped
	if old := q.Get("options"); old != "" {
		opt = old + " " + opt
	}
	q.Set("options", opt)
	// Encode writes spaces as "+", which libpq and pgx read literally.
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	return u.String(), nil
}

func parseURL(connURL string) (*url.URL, error) {
	u, err := url.Parse(connURL)
	if err != nil {
		// url.Error repeats the input, password included.
		return nil, errors.New("postgres: connection string is not a valid URL")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf("postgres: connection string must be a postgres:// URL, got scheme %q", u.Scheme)
	}
	return u, nil
}
