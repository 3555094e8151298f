package iot

import (
	"crypto/sha256"
	"encoding/binary"
)

// The anchor's Merkle tree is RFC 6962's (Certificate Transparency): a leaf
// is H(0x00 ‖ u64be(stream seq) ‖ message bytes), an inner node
// H(0x01 ‖ left ‖ right), and a list of n > 1 leaves splits at the largest
// power of two below n. Binding the stream sequence into each leaf makes
// the root commit to where each message sat, not only to what it said;
// the prefixes keep a leaf from passing for an inner node.

// LeafHash is the Merkle leaf of one stored message.
func LeafHash(streamSeq uint64, data []byte) [32]byte {
	h := sha256.New()
	var b [9]byte
	b[0] = 0x00
	binary.BigEndian.PutUint64(b[1:], streamSeq)
	h.Write(b[:])
	h.Write(data)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// MerkleRoot is the root over leaves in order. The root of no leaves is
// H() (RFC 6962), though an anchor always has at least one.
func MerkleRoot(leaves [][32]byte) [32]byte {
	if len(leaves) == 0 {
		return sha256.Sum256(nil)
	}
	return merkleRoot(leaves)
}

func merkleRoot(leaves [][32]byte) [32]byte {
	if len(leaves) == 1 {
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	l, r := merkleRoot(leaves[:k]), merkleRoot(leaves[k:])
	var b [65]byte
	b[0] = 0x01
	copy(b[1:], l[:])
	copy(b[33:], r[:])
	return sha256.Sum256(b[:])
}
