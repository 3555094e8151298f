// Package merkle owns the authenticated state structure whose root is the
// chain's app hash: a binary Patricia (crit-bit) Merkle trie over the app's
// (key, value) records, with inclusion and absence proofs a bank can check
// against a block header without trusting the node that served them.
//
// # Words
//
//   - key hash: SHA-256(key). The trie is keyed by it, never by the key, so
//     its shape does not depend on how callers lay out their keys and its
//     depth stays near log2(n).
//   - bit index: a position in a key hash; 0 is the most significant bit of
//     keyHash[0], 255 the least significant bit of keyHash[31].
//   - crit bit: the bit index of an inner node, the first bit at which the
//     key hashes below it differ. Leaves whose key hash has a 0 there are on
//     the left, a 1 on the right.
//   - snapshot: a *Tree. It never changes once returned; Apply returns a new
//     one that shares every unchanged node with the old.
//
// # Invariants
//
//   - History independence: a set of (key, value) pairs has exactly one trie
//     shape and one root, whatever the order or batching of the updates that
//     made it. A node that rebuilds its tree from its stored records after a
//     restart (Build) gets the app hash it committed.
//   - Every inner node has two children, its crit bit is below the crit bits
//     of its inner children, and it is exactly the first bit at which its
//     leftmost and rightmost leaf differ. In-order traversal therefore visits
//     the leaves in ascending key hash order, which is Walk's order.
//   - A snapshot is never written after Apply or Build returns it, so any
//     number of goroutines may read it while another builds the next one.
//   - Apply hashes each inner node on the union of the changed paths once per
//     batch: O(k log n) hashes for k changes to n keys.
//
// Build with the invariants tag to check the whole structure after every
// Apply and Build (slow; for tests and simulations).
//
// # Hash layout
//
//	empty tree   root = 32 zero bytes
//	leaf         SHA-256(0x00 || keyHash || SHA-256(value))              65 bytes hashed
//	inner        SHA-256(0x01 || critBit as 2-byte big-endian || left || right)   67 bytes hashed
//
// The one-byte prefixes keep a leaf from ever being taken for an inner node
// or the reverse, and each preimage has a fixed length, so a hash fixes its
// node's fields. A one-leaf tree's root is its leaf hash.
//
// # Proofs
//
// A Proof holds the path from the root down to the leaf a search for the key
// hash reaches — one (crit bit, sibling hash) step per inner node — and that
// leaf's key hash and value hash, or nothing at all for the empty tree. It
// carries no left/right flags: the verifier takes each side from the key
// hash, so a proof can only ever describe the search path of the key it is
// checked for. The same Proof type proves inclusion (the leaf is the key's)
// and absence (the leaf is another key's, or the tree is empty); see Verify.
package merkle
