//go:build race

package app_test

// raceDetector: libopenapi-validator under the race detector took over 16
// minutes of CPU for this package's answers, past its test timeout, so
// `make test` checks the wire in a run of its own without -race.
const raceDetector = true
