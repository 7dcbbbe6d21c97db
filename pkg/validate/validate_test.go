package validate

import (
	"errors"
	"strings"
	"testing"
)

// validCase is an input and its normalized value.
type validCase struct{ in, want string }

// invalidCase is an input and a part of the English reason it must get.
type invalidCase struct{ in, reason string }

func runValid(t *testing.T, fn func(string) (string, error), cases []validCase) {
	t.Helper()
	for _, c := range cases {
		got, err := fn(c.in)
		if err != nil {
			t.Errorf("%q: unexpected error %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("%q = %q, want %q", c.in, got, c.want)
		}
		if again, err := fn(got); err != nil || again != got {
			t.Errorf("%q: normalized %q does not re-validate to itself: %q, %v", c.in, got, again, err)
		}
	}
}

func runInvalid(t *testing.T, fn func(string) (string, error), cases []invalidCase) {
	t.Helper()
	for _, c := range cases {
		got, err := fn(c.in)
		checkProblem(t, c.in, err, c.reason)
		if got != "" {
			t.Errorf("%q: returned %q with an error", c.in, got)
		}
	}
}

func checkProblem(t *testing.T, in string, err error, reason string) {
	t.Helper()
	var p *Problem
	if !errors.As(err, &p) {
		t.Errorf("%q: error %v (%T) is not a *Problem", in, err, err)
		return
	}
	if !strings.Contains(p.Reason, reason) {
		t.Errorf("%q: reason %q does not contain %q", in, p.Reason, reason)
	}
	if p.ReasonZh == "" || p.Error() != p.Reason {
		t.Errorf("%q: ReasonZh %q, Error() %q", in, p.ReasonZh, p.Error())
	}
}
