// Package iot is the sensor side of the lock, as pure rules: the signed
// reading envelope devices publish, the checks every reading passes, the
// supervisor's rules as a state machine (Evaluator), the lock's judge of a
// load-out's closing reading (LockJudge), and the chain ops a breach, a
// monitoring gap, a return to health, a re-count, a baseline and a batch
// anchor become. Like receipt and warehouse it has no clock, no
// randomness, no goroutines and no I/O: the supervisor (iot/supervisor)
// feeds it readings and time, the NATS transport is iot/bus, devices sign
// through iot/device, and the validators run its ops through the ledger.
//
// # Envelope
//
// A device signs canon("ewr/reading/v2\x00" ‖ Reading): event id, device
// id, its boot epoch, a sequence counting the epoch's readings from 1
// (every kind on one counter), device time in unix milliseconds, and
// exactly one typed payload — BayWeight (quantity in the lot's unit,
// stable flag), Motion (zone, class, confidence in permille, clip hash),
// Seal (seal id, closed/open/broken), Heartbeat (battery permille, clock
// skew, tamper switch, firmware hash) or a weighbridge's SignedTicket. No
// floats. A device's position (epoch, seq) only ever rises: a restart
// begins a new epoch at sequence 1 instead of going silent. A
// SignedReading's canonical encoding is the wire form on NATS and the form
// evidence takes inside a tx.
//
// # The lock as a physical model
//
// A lot's lock expects its bay scale to read Lot.Expected: the bay's tare
// plus the goods, raised by intake, lowered by each confirmed delivery by
// the weighed-out net, re-centred on each accepted baseline. Every change
// is a phase of the lot's LockHistory (warehouse/lock.go), kept for the
// evidence window: what was expected from when, and which release orders
// were open, allowed to take how much. A reading is judged against the
// phase in force at its device time, so a door, a forklift or a falling
// weight seen during a load-out stays excused after the order closed, and
// a weight below what the open orders allow is a breach at any time.
// Closing a load-out (warehouse ConfirmDelivery) on a bay with an active
// scale needs the scale's signed stable reading taken after the last
// truck weighed; if it disagrees with the new expectation beyond the
// lot's tolerance the lot goes to ALARM with it as evidence. A baseline,
// or a re-count's, must agree with the tare plus the locked goods.
//
// # Evidence the validators accept
//
// Shared by the supervisor and the validators: the device is registered,
// active, calibrated, of the type the payload needs and bound to the
// lot's warehouse and bay; the signature is its key's; the reading was
// taken inside Params.EvidenceWindowSec before block time (Rules.MaxSkewMs
// after); it is not older than the lot's watch (registration, baseline);
// and it comes after the device's last reading the chain used
// (DeviceMark): a reading is used once, an old sequence or an earlier
// epoch never again. The supervisor alone also checks what only a live
// observer can: the device clock against when the bus stored the reading,
// physical plausibility, and the subject against the envelope. A refused
// reading is counted by reason and changes nothing.
//
// # Rules (Rules, on chain under KeyRules)
//
//   - drift: DriftReadings consecutive stable bay weights beyond the lot's
//     tolerance spanning DriftSustainMs of device time, outside what open
//     release orders allow;
//   - step (theft): StepReadings stable weights beyond tolerance plus
//     min(StepAbsKg, StepBps of the expectation), outside what open release
//     orders allow;
//   - motion: a person, vehicle or forklift seen with MotionMinPermille
//     confidence in a locked bay while no release order was open for it;
//   - seal: a seal broken, or a door opened while no release order was open;
//   - tamper: a heartbeat with the tamper switch set;
//   - load-out: a closing reading that disagrees with the lock;
//   - gap: a bay device unheard for OfflineAfterMs.
//
// Breaches become iot.breach with the readings as evidence: validators
// re-check every reading as above and that the readings prove the claimed
// kind against the lock as it stood, then freeze the lot's live receipts
// and open an alert (ALARM). A gap is asserted (iot.gap) only by the
// warehouse's collateral manager or a supervisor the consortium registered
// for it (warehouse.supervisors.set), while the lot has no open alert, and
// never against a reading of the device the chain holds from after the
// claimed silence; it marks the lot UNVERIFIED, and fresh readings
// (iot.verified) or a re-count return it to OK. Only a re-count signed by
// the warehouse's collateral manager and a regulator (iot.recount) clears
// an alarm and unfreezes its receipts.
//
// # Anchors
//
// iot.anchor records the RFC 6962 Merkle root over a batch of a
// warehouse's stored readings; batches never overlap.
//
// Error codes are 500–599 (errors.go).
package iot
