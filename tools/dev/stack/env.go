package stack

import "strings"

// MergeEnv returns base with the KEY=VALUE pairs of set applied: a key of
// set replaces the same key of base in place, new keys follow in set's
// order, and a key set twice keeps its last value. base is not modified.
func MergeEnv(base []string, set ...string) []string {
	index := make(map[string]int, len(base)+len(set))
	out := make([]string, 0, len(base)+len(set))
	for _, kv := range append(append([]string(nil), base...), set...) {
		k := envKey(kv)
		if i, ok := index[k]; ok {
			out[i] = kv
			continue
		}
		index[k] = len(out)
		out = append(out, kv)
	}
	return out
}

// WithoutEnv returns env without the given keys, e.g. to keep an admin
// DATABASE_URL away from programs that must connect as their own role.
func WithoutEnv(env []string, keys ...string) []string {
	drop := make(map[string]bool, len(keys))
	for _, k := range keys {
		drop[k] = true
	}
	var out []string
	for _, kv := range env {
		if !drop[envKey(kv)] {
			out = append(out, kv)
		}
	}
	return out
}

// LookupEnv returns the value of key in env.
func LookupEnv(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if envKey(env[i]) == key {
			_, v, _ := strings.Cut(env[i], "=")
			return v, true
		}
	}
	return "", false
}

func envKey(kv string) string {
	k, _, _ := strings.Cut(kv, "=")
	return k
}
