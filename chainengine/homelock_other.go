//go:build !unix

package chainengine

import "errors"

// ErrHomeInUse: another process runs a node on this home.
var ErrHomeInUse = errors.New("chainengine: another process runs a node on this home")

// LockHome is a no-op where flock is missing.
func LockHome(string) (func(), error) { return func() {}, nil }
