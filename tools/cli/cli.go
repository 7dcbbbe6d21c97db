// Package cli is the `dealercare` command: the REST API's jobs people do
// from a terminal. It signs in with a token or the dev key, lists and shows
// any resource of the OpenAPI document (so resources added later need no
// change here), runs a DMS import with a progress bar that follows it to
// its end and prints its row errors, and prints or saves the evaluation
// service's KPI and ranking exports (CSV or XLSX, made by the server).
// Output is a table, or JSON with --json; errors are the API's message,
// in the caller's language (--lang, else $LANG, sent as Accept-Language),
// which is also the language of table and file headers.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Main runs one command line.
type Main struct {
	Stdout, Stderr io.Writer
	// Env reads the environment (os.Getenv by default), for tests.
	Env func(string) string
	// HTTP sends the requests (http.DefaultClient by default).
	HTTP *http.Client
	// PollInterval is how often an import's progress is read (default 300 ms).
	PollInterval time.Duration
}

const usage = `dealercare: the dealercare REST API from a terminal.

  dealercare login --url URL --token TOKEN
  dealercare login --url URL --dev [--role agent --dealer SH001 | --region EAST] [--keys DIR]
  dealercare list COLLECTION [--dealer SH001] [-p name=value ...] [--all]
  dealercare show COLLECTION ID [--dealer SH001] [-p name=value ...]
  dealercare import FILE --dealer SH001 [--encoding gbk]
  dealercare kpis [--dealer SH001 | --region EAST] [--granularity month|week|day] [--date YYYY-MM-DD] [--periods N] [--out FILE.csv|FILE.xlsx]
  dealercare rank [--region EAST] [--granularity month|week|day] [--date YYYY-MM-DD] [--out FILE.csv|FILE.xlsx]
  dealercare webhooks list|deliveries SUBSCRIPTION|redeliver SUBSCRIPTION DELIVERY [--dealer SH001]
  dealercare collections

Global flags (before the command): --json, --lang zh-CN|en, --url, --token.
DEALERCARE_URL and DEALERCARE_TOKEN (as in make run's .run/env) override
the saved sign-in; DEALERCARE_CONFIG names the file it is saved in.
COLLECTION is a collection of the API: dealers, regions, customers,
vehicles, repairOrders, sales, complaints, callbackTasks, imports, ...
`

// Run runs args (without the program name) and returns the exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	if m.Env == nil {
		m.Env = os.Getenv
	}
	if m.HTTP == nil {
		m.HTTP = http.DefaultClient
	}
	if m.PollInterval == 0 {
		m.PollInterval = 300 * time.Millisecond
	}
	err := m.run(ctx, args)
	var exit exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		if exit.msg != "" {
			fmt.Fprintln(m.Stderr, "dealercare:", exit.msg)
		}
		return exit.code
	case errors.Is(err, flag.ErrHelp):
		return 2
	default:
		fmt.Fprintln(m.Stderr, "dealercare:", err)
		return 1
	}
}

// exitError ends the program with code after printing msg.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

// globals are the flags before the command.
type globals struct {
	json       bool
	lang       string
	url, token string
}

func (m *Main) run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dealercare", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() { fmt.Fprint(m.Stderr, usage) }
	var g globals
	fs.BoolVar(&g.json, "json", false, "print JSON instead of a table")
	fs.StringVar(&g.lang, "lang", "", "language of messages and errors: zh-CN or en (default from $LANG)")
	fs.StringVar(&g.url, "url", "", "gateway URL (default: the saved sign-in, or DEALERCARE_URL)")
	fs.StringVar(&g.token, "token", "", "bearer token (default: the saved sign-in, or DEALERCARE_TOKEN)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitError{code: 2}
	}
	if g.lang == "" {
		g.lang = langOf(m.Env("LANG"))
	}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	if cmd == "login" {
		return m.login(ctx, g, rest)
	}
	if cmd == "collections" {
		return m.collections(g)
	}
	api, err := m.api(g)
	if err != nil {
		return err
	}
	run, ok := commands[cmd]
	if !ok {
		fs.Usage()
		return exitError{code: 2, msg: fmt.Sprintf("unknown command %q", cmd)}
	}
	return run(api, ctx, rest)
}

// commands are the commands that call the API as the signed-in caller. A
// command in a file of its own adds itself here from an init function.
var commands = map[string]func(a *api, ctx context.Context, args []string) error{
	"list":   (*api).list,
	"show":   (*api).show,
	"import": (*api).importFile,
	"kpis":   (*api).kpis,
	"rank":   (*api).rank,
}

// langOf maps $LANG (zh_CN.UTF-8) to an Accept-Language value.
func langOf(lang string) string {
	if strings.HasPrefix(strings.ToLower(lang), "zh") {
		return "zh-CN"
	}
	return "en"
}

// signIn is what login saves.
type signIn struct {
	URL   string `json:"url"`
	Token string `json:"token"`
}

func (m *Main) configPath() (string, error) {
	if p := m.Env("DEALERCARE_CONFIG"); p != "" {
		return p, nil
	}
	dir := m.Env("XDG_CONFIG_HOME")
	if dir == "" {
		home := m.Env("HOME")
		if home == "" {
			return "", errors.New("no HOME: set DEALERCARE_CONFIG")
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "dealercare", "config.json"), nil
}

func (m *Main) saved() (signIn, error) {
	var s signIn
	p, err := m.configPath()
	if err != nil {
		return s, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("%s: %w", p, err)
	}
	return s, nil
}

func (m *Main) save(s signIn) (string, error) {
	p, err := m.configPath()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", err
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	return p, os.WriteFile(p, append(b, '\n'), 0o600)
}

// api is the signed-in API: flags, then the environment, then the saved
// sign-in.
func (m *Main) api(g globals) (*api, error) {
	s, err := m.saved()
	if err != nil {
		return nil, err
	}
	for _, v := range []struct {
		dst       *string
		flag, env string
	}{{&s.URL, g.url, "DEALERCARE_URL"}, {&s.Token, g.token, "DEALERCARE_TOKEN"}} {
		if v.flag != "" {
			*v.dst = v.flag
		} else if e := m.Env(v.env); e != "" {
			*v.dst = e
		}
	}
	if s.URL == "" || s.Token == "" {
		return nil, exitError{code: 2, msg: "not signed in: run `dealercare login` (or set DEALERCARE_URL and DEALERCARE_TOKEN)"}
	}
	return newAPI(m, g, s)
}
