package pii

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
)

// Mobile is a mobile number to be logged or printed: slog, every fmt verb
// (%v %+v %#v %s %q %x …), and text or JSON marshalling all give the masked
// form. Wrap at the call site, slog.Any("mobile", pii.Mobile(c.Mobile)), and
// keep clear values as plain strings in domain types: marshalling masks too,
// so Mobile is not a type to store or send.
type Mobile string

// LogValue is the masked number.
func (m Mobile) LogValue() slog.Value { return slog.StringValue(m.String()) }

// String is the masked number.
func (m Mobile) String() string { return MaskMobile(string(m)) }

// GoString is the masked number as a Go expression, for %#v.
func (m Mobile) GoString() string { return "pii.Mobile(" + strconv.Quote(m.String()) + ")" }

// Format applies any verb and flags to the masked number.
func (m Mobile) Format(f fmt.State, verb rune) { formatMasked(f, verb, m.String(), m.GoString()) }

// MarshalText is the masked number, so encoders never see the clear one.
func (m Mobile) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// IDNumber is a resident ID number to be logged or printed; it behaves like
// Mobile.
type IDNumber string

// LogValue is the masked ID number.
func (n IDNumber) LogValue() slog.Value { return slog.StringValue(n.String()) }

// String is the masked ID number.
func (n IDNumber) String() string { return MaskIDNumber(string(n)) }

// GoString is the masked ID number as a Go expression, for %#v.
func (n IDNumber) GoString() string { return "pii.IDNumber(" + strconv.Quote(n.String()) + ")" }

// Format applies any verb and flags to the masked ID number.
func (n IDNumber) Format(f fmt.State, verb rune) { formatMasked(f, verb, n.String(), n.GoString()) }

// MarshalText is the masked ID number.
func (n IDNumber) MarshalText() ([]byte, error) { return []byte(n.String()), nil }

func formatMasked(f fmt.State, verb rune, masked, goString string) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, goString)
		return
	}
	_, _ = fmt.Fprintf(f, fmt.FormatString(f, verb), masked)
}
