// Package rpcsource feeds the read model from a node it reaches over
// CometBFT's HTTP RPC, so that an indexer can run in a process (or on a
// host) of its own: `ewr indexer run --rpc URL`, `ewr indexer rebuild`.
//
// It reads what chainengine.ReceiptApp.Query serves: the block record of
// height h at ABCI query path /block/<h> (ledger.EncodeBlockRecord bytes;
// height 0 is the genesis record), and the last committed height from
// abci_info. It trusts the node it asks, as the in-process source trusts
// its app: a read model fed from a node is that node's view. (A bank that
// trusts no single node checks the proofs, not the read model.)
//
// Every call is bounded by Timeout; a block record larger than MaxBlockBytes
// is refused rather than decoded.
package rpcsource
