// Package iot is the sensor side of the lock, as pure rules: the signed
// reading envelope devices publish, the checks every reading passes, the
// supervisor's rules as a state machine (Evaluator), and the chain ops a
// breach, a monitoring gap, a return to health, a re-count, a baseline and
// a batch anchor become. Like receipt and warehouse it has no clock, no
// randomness, no goroutines and no I/O: the supervisor (iot/supervisor)
// feeds it readings and time, the NATS transport is iot/bus, and the
// validators run its ops through the ledger.
//
// # Envelope
//
// A device signs canon("ewr/reading/v1\x00" ‖ Reading): event id, device
// id, a sequence counting the device's readings from 1 (every kind on one
// counter), device time in unix milliseconds, and exactly one typed
// payload — BayWeight (quantity in the lot's unit, stable flag), Motion
// (zone, class, confidence in permille, clip hash), Seal (seal id,
// closed/open/broken), Heartbeat (battery permille, clock skew, tamper
// switch, firmware hash) or a weighbridge's SignedTicket. No floats. A
// SignedReading's canonical encoding is the wire form on NATS and the form
// evidence takes inside a tx.
//
// # Checks
//
// Shared by the supervisor and the validators (CheckDevice, and the
// signature): the device is registered, active, calibrated, of the type
// the payload needs and bound to the warehouse and bay. The supervisor
// alone also checks what only a live observer can: the sequence is above
// the device's last, the device clock is within Rules.MaxSkewMs of when
// the bus stored the reading, the payload is physically plausible, and the
// subject agrees with the envelope. A refused reading is counted by
// reason and changes nothing.
//
// # Rules (Rules, on chain under KeyRules)
//
//   - drift: DriftReadings consecutive stable bay weights beyond the lot's
//     tolerance spanning DriftSustainMs of device time;
//   - step (theft, load-out): StepReadings stable weights beyond tolerance
//     plus min(StepAbsKg, StepBps of the baseline);
//   - motion: a person, vehicle or forklift seen with MotionMinPermille
//     confidence in a locked bay while no release order is open for the lot;
//   - seal: a seal broken, or a door opened while no release order is open;
//   - tamper: a heartbeat with the tamper switch set;
//   - gap: a bay device unheard for OfflineAfterMs.
//
// Breaches become iot.breach with the readings as evidence: validators
// re-check every signature and device and that the readings prove the
// claimed kind against the lot as recorded, then freeze the lot's live
// receipts and open an alert (ALARM). A gap is asserted (iot.gap, by a
// supervision role) and marks the lot UNVERIFIED; fresh readings
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
