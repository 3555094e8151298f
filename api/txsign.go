package api

import (
	"encoding/hex"
	"strings"
)

// Tx signing is chainengine's (OpBody, SignBody, AssembleTx): the API, the
// CLI and offline signers use the same helpers as the chain's own clients.

// hashHex is a tx hash as the API prints it.
func hashHex(h [32]byte) string { return hex.EncodeToString(h[:]) }

// parseHash reads a tx hash in hex (either case).
func parseHash(s string) ([32]byte, bool) {
	var h [32]byte
	if len(s) != 64 {
		return h, false
	}
	if _, err := hex.Decode(h[:], []byte(strings.ToLower(s))); err != nil {
		return h, false
	}
	return h, true
}
