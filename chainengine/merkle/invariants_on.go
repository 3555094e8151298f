//go:build invariants

package merkle

const invariants = true
