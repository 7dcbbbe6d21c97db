// Package config reads typed configuration from environment variables. Each
// component declares a struct, fills it with a Loader and validates it; the
// first bad or missing variable stops start-up with a message naming it.
package config

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Loader reads variables and collects every problem, so one start-up attempt
// reports all of them.
type Loader struct {
	lookup func(string) (string, bool)
	errs   []error
	// vars records what was asked for, in order, when describing.
	vars *[]Var
}

// Var is a variable a component reads, as Describe records it.
type Var struct {
	Name string
	// Default is the value used when the variable is unset ("" for none).
	Default string
	// Required variables have no default: start-up fails without them.
	Required bool
}

// Describe returns a Loader that finds no variable set and records every
// one asked for, so a program can list what it reads (`--help`) and the
// chart's drift test can compare that list with the environment the chart
// sets, instead of a list kept by hand.
func Describe() *Loader {
	return &Loader{lookup: func(string) (string, bool) { return "", false }, vars: &[]Var{}}
}

// Vars returns the variables read through l, each once, in first-read
// order; nil unless l came from Describe.
func (l *Loader) Vars() []Var {
	if l.vars == nil {
		return nil
	}
	return slices.Clone(*l.vars)
}

func (l *Loader) note(name, def string, required bool) {
	if l.vars == nil {
		return
	}
	for i, v := range *l.vars {
		if v.Name == name {
			(*l.vars)[i].Required = v.Required || required
			return
		}
	}
	*l.vars = append(*l.vars, Var{Name: name, Default: def, Required: required})
}

// value is the trimmed variable, "" when unset.
func (l *Loader) value(name string) string {
	if v, ok := l.lookup(name); ok {
		return strings.TrimSpace(v)
	}
	return ""
}

// Getenv returns the variable as set, untrimmed, like os.Getenv; for
// readers that take a getenv function (postgres.ConfigFromEnv).
func (l *Loader) Getenv(name string) string {
	l.note(name, "", false)
	v, _ := l.lookup(name)
	return v
}

// FromEnv reads the process environment.
func FromEnv() *Loader { return &Loader{lookup: os.LookupEnv} }

// FromMap reads a map; for tests.
func FromMap(m map[string]string) *Loader {
	return &Loader{lookup: func(k string) (string, bool) { v, ok := m[k]; return v, ok }}
}

// String returns the variable or def when unset or empty.
func (l *Loader) String(name, def string) string {
	l.note(name, def, false)
	if v := l.value(name); v != "" {
		return v
	}
	return def
}

// Required returns the variable, recording an error when it is unset.
func (l *Loader) Required(name string) string {
	l.note(name, "", true)
	v := l.value(name)
	if v == "" {
		l.errs = append(l.errs, fmt.Errorf("%s is required but not set", name))
	}
	return v
}

// Int returns the variable as an integer.
func (l *Loader) Int(name string, def int) int {
	l.note(name, strconv.Itoa(def), false)
	v := l.value(name)
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
	l.note(name, strconv.FormatBool(def), false)
	v := l.value(name)
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
	l.note(name, def.String(), false)
	v := l.value(name)
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
	l.note(name, strings.Join(def, ","), false)
	v := l.value(name)
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
