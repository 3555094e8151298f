//go:build !invariants

package merkle

// invariants turns on whole-tree checks after every Apply and Build; build
// with -tags invariants.
const invariants = false
