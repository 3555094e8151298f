// Package testkit holds what tests across packages share. Tests only:
// nothing the binary links imports it.
package testkit

import (
	"errors"
	"testing"
	"time"
)

// Poll calls cond until it returns nil, waiting 1 ms at first and then
// twice as long each time up to 50 ms, and fails t with what and cond's
// last error once within has passed. It is the one way tests wait for
// something another goroutine or process does: no bare sleeps.
func Poll(t testing.TB, within time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	wait := time.Millisecond
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, within, err)
		}
		time.Sleep(wait)
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// errFalse is cond's "not yet" for PollTrue.
var errFalse = errors.New("condition still false")

// PollTrue is Poll for a condition without a reason.
func PollTrue(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	Poll(t, within, what, func() error {
		if cond() {
			return nil
		}
		return errFalse
	})
}
