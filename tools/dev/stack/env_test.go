package stack

import (
	"slices"
	"testing"
)

func TestMergeEnv(t *testing.T) {
	base := []string{"PATH=/bin", "HOME=/root", "EMPTY="}
	got := MergeEnv(base, "HOME=/home/dev", "NEW=1", "NEW=2", "EMPTY=x")
	want := []string{"PATH=/bin", "HOME=/home/dev", "EMPTY=x", "NEW=2"}
	if !slices.Equal(got, want) {
		t.Errorf("MergeEnv = %q, want %q", got, want)
	}
	if !slices.Equal(base, []string{"PATH=/bin", "HOME=/root", "EMPTY="}) {
		t.Errorf("MergeEnv modified its base: %q", base)
	}
}

func TestWithoutEnv(t *testing.T) {
	got := WithoutEnv([]string{"DATABASE_URL=postgres://admin", "PATH=/bin", "DATABASE_URL_X=keep"}, "DATABASE_URL")
	want := []string{"PATH=/bin", "DATABASE_URL_X=keep"}
	if !slices.Equal(got, want) {
		t.Errorf("WithoutEnv = %q, want %q", got, want)
	}
}

func TestLookupEnv(t *testing.T) {
	env := []string{"A=1", "B=x=y", "A=2"}
	if v, ok := LookupEnv(env, "A"); !ok || v != "2" {
		t.Errorf("A = %q, %v; want the last value 2", v, ok)
	}
	if v, ok := LookupEnv(env, "B"); !ok || v != "x=y" {
		t.Errorf("B = %q, %v; want x=y", v, ok)
	}
	if _, ok := LookupEnv(env, "C"); ok {
		t.Error("C found")
	}
}
