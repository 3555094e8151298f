// Package supervisor runs the IoT supervision of one warehouse: the process
// between the devices' readings on NATS and the chain. Any consortium member
// may run one for any warehouse; the warehouse's collateral manager usually
// does.
//
// # Data flow
//
//	EWR_READINGS (ewr.readings.<warehouse>.>)
//	   │ durable pull consumer "sup-<warehouse>", batches of Config.Batch
//	   ▼
//	decode (iot.Decode) → batch signature verification across cores
//	(curve25519-voi, chunks of 64, cached expanded device keys)
//	   ▼
//	iot.Evaluator.Step: device trust, sequence, skew, plausibility,
//	then the rules of the lot in the reading's bay      → refused: counted by reason
//	   ▼ findings (breach + evidence, gap, verified, baseline)
//	dry run against the committed state (the validators' own rules)
//	   ▼
//	Submitter (chainengine.Client): signed tx, wait for commit
//
// Readings are acked after the batch was evaluated. The chain view (the
// warehouse's devices, its locked lots with baseline, tolerance, health
// and open alert, and the rules) is reloaded at each commit. An anchorer
// reads the same subjects with an ordered consumer from the chain's anchor
// head and anchors batches of Anchor.Every readings or Anchor.Interval
// (whichever first); Audit and AuditChain recompute them from the stream.
//
// # At least once, applied once
//
// A redelivery of a message this run handled is skipped (stream sequence
// at or below the last handled). After a restart, the durable consumer
// redelivers everything not acked; the evaluator rebuilds its state from
// it, and a finding re-made asks the chain for something it already did:
// the dry run (or the chain) refuses it as already done (lot in alarm,
// already unverified, healthy, baseline set, anchor overlap), and the
// supervisor treats that as success. A reading replayed by an attacker
// under a new message id is refused by its sequence (or, after a restart,
// by the skew window against its stored time).
//
// # Time
//
// The reference time of a reading is when the bus stored it, mapped onto
// the supervisor's clock (Config.Clock): the skew window compares the
// device's clock with it, and "last heard" for the offline rule uses it.
// Tests inject a clock to run hours of simulated time in seconds.
package supervisor
