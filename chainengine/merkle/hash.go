package merkle

import (
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
)

// KeyHashBits is the number of bits in a key hash. Bit indices run from 0 to
// KeyHashBits-1, so no path from the root has more than KeyHashBits steps.
const KeyHashBits = 256

// Domain prefixes of the two kinds of node hash.
const (
	leafPrefix  = 0x00
	innerPrefix = 0x01
)

// emptyRoot is the root of the tree with no keys.
var emptyRoot [32]byte

func hashLeaf(keyHash, valueHash *[32]byte) [32]byte {
	var buf [1 + 32 + 32]byte
	buf[0] = leafPrefix
	copy(buf[1:33], keyHash[:])
	copy(buf[33:], valueHash[:])
	return sha256.Sum256(buf[:])
}

func hashInner(critBit uint16, left, right *[32]byte) [32]byte {
	var buf [1 + 2 + 32 + 32]byte
	buf[0] = innerPrefix
	binary.BigEndian.PutUint16(buf[1:3], critBit)
	copy(buf[3:35], left[:])
	copy(buf[35:], right[:])
	return sha256.Sum256(buf[:])
}

// bitAt returns bit i of h, counting from the most significant bit of h[0].
// i must be below KeyHashBits.
func bitAt(h *[32]byte, i int) int {
	return int(h[i>>3]>>(7-uint(i&7))) & 1
}

// firstDiff returns the first bit index at which a and b differ, or
// KeyHashBits if they are equal.
func firstDiff(a, b *[32]byte) int {
	for i := 0; i < 32; i += 8 {
		x := binary.BigEndian.Uint64(a[i:]) ^ binary.BigEndian.Uint64(b[i:])
		if x != 0 {
			return i*8 + bits.LeadingZeros64(x)
		}
	}
	return KeyHashBits
}

// compareHash orders key hashes as big-endian numbers, which is the order
// of the leaves in the trie.
func compareHash(a, b *[32]byte) int {
	for i := 0; i < 32; i += 8 {
		x, y := binary.BigEndian.Uint64(a[i:]), binary.BigEndian.Uint64(b[i:])
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// comparePrefix compares the first n bits of h with those of ref.
func comparePrefix(h, ref *[32]byte, n int) int {
	d := firstDiff(h, ref)
	if d >= n {
		return 0
	}
	if bitAt(h, d) == 0 {
		return -1
	}
	return 1
}
