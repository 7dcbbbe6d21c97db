// Package config reads typed configuration from environment variables. Each
// component declares a struct, fills it with a Loader and validates it; the
// first bad or missing variable stops start-up with a message naming it.
package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Loader reads variables and collects every problem, so one start-up attempt
// reports all of them.
type Loader struct {
	lookup func(string) (string, bool)
	errs   []error
}

// FromEnv reads the process environment.
func FromEnv() *Loader { return &Loader{lookup: os.LookupEnv} }

// FromMap reads a map; for tests.
func FromMap(m map[string]string) *Loader {
	return &Loader{lookup: func(k string) (string, bool) { v, ok := m[k]; return v, ok }}
}

// String returns the variable or def when unset or empty.
func (l *Loader) String(name, def string) string {
	if v, ok := l.lookup(name); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return def
}

// Required returns the variable, recording an error when it is unset.
func (l *Loader) Required(name string) string {
	v := l.String(name, "")
	if v == "" {
		l.errs = append(l.errs, fmt.Errorf("%s is required but not set", name))
	}
	return v
}

// Int returns the variable as an integer.
func (l *Loader) Int(name string, def int) int {
	v := l.String(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("%s=%q is not an integer", name, v))
		return def
	}
	return n
}

// Bool returns the variable as a boolean (true/false/1/0).
func (l *Loader) Bool(name string, def bool) bool {
	v := l.String(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("%s=%q is not a boolean (true or false)", name, v))
		return def
	}
	return b
}

// Duration returns the variable as a Go duration ("30s", "5m").
func (l *Loader) Duration(name string, def time.Duration) time.Duration {
	v := l.String(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		l.errs = append(l.errs, fmt.Errorf("%s=%q is not a duration such as 30s or 5m", name, v))
		return def
	}
	return d
}

// List returns a comma-separated variable as trimmed, non-empty items.
func (l *Loader) List(name string, def []string) []string {
	v := l.String(name, "")
	if v == "" {
		return def
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Check records a validation problem of an already read variable.
func (l *Loader) Check(ok bool, name, format string, args ...any) {
	if !ok {
		l.errs = append(l.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
}

// Err returns every problem found, joined, or nil.
func (l *Loader) Err() error {
	if len(l.errs) == 0 {
		return nil
	}
	return fmt.Errorf("configuration: %w", errors.Join(l.errs...))
}
