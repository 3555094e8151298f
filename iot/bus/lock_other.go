//go:build !unix

package bus

// lockStoreDir is a no-op where flock is missing; one server per store dir
// is then the operator's job.
func lockStoreDir(string) (release func(), err error) { return func() {}, nil }
