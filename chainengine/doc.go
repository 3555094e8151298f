// Package chainengine runs ewr's chain: CometBFT validators with an ABCI app
// in-process, the tx envelope every app checks, and the tools around them.
//
// What it owns:
//
//   - The tx envelope (tx.go): canonical Body and Envelope, DecodeTx,
//     VerifySigs, CheckHeight.
//   - The App contract (engine.go): an ABCI 2.0 app that reports each
//     committed block to a hook, the result codes of envelope failures, and
//     the SigCache (sigcache.go) through which apps verify each raw tx once.
//   - The apps: the receipt app (app.go, state.go, proof.go) and the baseline
//     app (baseline.go), the smallest app that checks, refuses replays and
//     persists, which the chain benchmark compares against.
//   - Nodes (node.go, config.go, configfile.go, logger.go): a CometBFT node
//     started from a home directory, tuned for validators on one LAN.
//   - Homes (testnet.go): InitHome for one member, GenerateTestnet for n
//     validators sharing a genesis; the app's genesis goes in app_state.
//   - In-process networks (localnet.go): n validators in one process on
//     loopback, for trying ewr out, tests and the benchmark.
//   - The submit path (submit.go, waiter.go): Node.Submit hands a tx to the
//     mempool in-process and waits for the commit hook to report it.
//   - The chain benchmark (bench.go, workload.go): RunChainBench drives a
//     pluggable Workload through a localnet and reports tx/s and latency.
//
// Invariants:
//
//   - A bad tx is a result code, never an error; an error from an ABCI
//     method means the node is broken, and CometBFT stops.
//   - FinalizeBlock stages, Commit persists (pebble.Sync, state and height and
//     app hash in one batch), and only then does the commit hook run. Info
//     reports the last commit, so a node killed at any point replays the
//     blocks after it and reaches the same app hash as its peers.
//   - The app hash changes only when a tx succeeds; an empty block must not
//     change it, or CometBFT (create_empty_blocks = false) makes empty blocks
//     forever.
//   - ProcessProposal rejects a block holding a tx that does not decode or
//     whose signatures do not verify. Signatures this node verified (in
//     CheckTx or an earlier proposal) are trusted by the raw bytes' hash, so
//     a proposer cannot pair a verified body with a forged signature.
//   - CheckTx reads only committed state. A recheck repeats only what a
//     block can change (expiry, replay), never signature verification.
//
// Words: a home is one validator's directory (config/, data/); a localnet is
// validators in one process; a lane is one sequence of txs of the benchmark,
// at most one in flight; the outcome of a tx is its code, in CheckTx or in
// its block.
package chainengine
