package iot

import "github.com/ewrchain/ewr/receipt"

// Errors of the iot package (codes 500–599). Device trust reuses the
// warehouse package's device errors (device_not_found, device_suspended,
// device_uncalibrated, device_not_bound, device_type), and co-signatures
// and roles the receipt package's.
//
// 500–529 are chain rejections of an iot op; 530–549 are the reasons a
// supervisor refuses a reading before any op exists (they never appear in
// a block, but share the registry so the API names them the same way).
var (
	ErrReadingInvalid   = receipt.NewError(500, "reading_invalid", receipt.KindInvalid, "reading: malformed")
	ErrReadingSignature = receipt.NewError(501, "reading_signature", receipt.KindRule, "reading: bad device signature")
	ErrEvidenceOrder    = receipt.NewError(502, "evidence_order", receipt.KindInvalid, "evidence: readings repeated or out of order")
	ErrEvidenceTooFew   = receipt.NewError(503, "evidence_too_few", receipt.KindRule, "evidence: too few readings for the claimed breach")
	ErrWithinTolerance  = receipt.NewError(504, "within_tolerance", receipt.KindRule, "evidence: weight within the lot's tolerance")
	ErrNotSustained     = receipt.NewError(505, "not_sustained", receipt.KindRule, "evidence: drift not held for the sustain window")
	ErrEvidenceGap      = receipt.NewError(506, "evidence_gap", receipt.KindRule, "evidence: readings are not consecutive")
	ErrEvidenceStale    = receipt.NewError(507, "evidence_stale", receipt.KindRule, "evidence: reading older than the lot's lock, baseline or lock history")
	ErrNotABreach       = receipt.NewError(508, "not_a_breach", receipt.KindRule, "evidence: readings do not show the claimed breach")
	ErrReleaseOrderOpen = receipt.NewError(509, "release_order_open", receipt.KindRule, "evidence: a release order is open for the lot")
	ErrLotInAlarm       = receipt.NewError(510, "lot_in_alarm", receipt.KindConflict, "lot: already in alarm; re-count to clear it")
	ErrLotUnverified    = receipt.NewError(511, "lot_unverified", receipt.KindConflict, "lot: already unverified")
	ErrLotHealthy       = receipt.NewError(512, "lot_healthy", receipt.KindConflict, "lot: supervision is healthy")
	ErrNoBaseline       = receipt.NewError(513, "no_baseline", receipt.KindRule, "lot: no bay-scale baseline set")
	ErrBaselineSet      = receipt.NewError(514, "baseline_set", receipt.KindConflict, "lot: baseline already set; change it by re-count")
	ErrRecountShort     = receipt.NewError(515, "recount_short", receipt.KindRule, "re-count: counted quantity below the live receipts")
	ErrGapTooShort      = receipt.NewError(516, "gap_too_short", receipt.KindRule, "gap: device silent for less than the offline limit")
	ErrAnchorOverlap    = receipt.NewError(517, "anchor_overlap", receipt.KindConflict, "anchor: range overlaps an anchored batch")
	ErrAnchorInvalid    = receipt.NewError(518, "anchor_invalid", receipt.KindInvalid, "anchor: inconsistent batch")
	ErrRulesInvalid     = receipt.NewError(519, "iot_rules_invalid", receipt.KindInvalid, "iot rules: out of range")
	ErrBreachKind       = receipt.NewError(520, "breach_kind", receipt.KindInvalid, "breach: unknown kind")
	ErrNotSupervisor    = receipt.NewError(521, "not_supervisor", receipt.KindForbidden, "iot: signer may not supervise this warehouse")
	ErrEvidenceTooOld   = receipt.NewError(522, "evidence_too_old", receipt.KindRule, "evidence: reading outside the evidence window of block time")
	ErrReadingConsumed  = receipt.NewError(523, "reading_consumed", receipt.KindConflict, "evidence: reading not after the device's last reading used on chain")
	ErrBaselineOff      = receipt.NewError(524, "baseline_disagrees", receipt.KindRule, "lot: baseline reading disagrees with the locked goods beyond tolerance")
	ErrClosingMissing   = receipt.NewError(525, "closing_reading_missing", receipt.KindRule, "delivery: a reading of the bay's scale after the goods left is required")
	ErrClosingInvalid   = receipt.NewError(526, "closing_reading_invalid", receipt.KindRule, "delivery: closing reading is not a stable bay-scale weight taken after the load-out")
	ErrGapContradicted  = receipt.NewError(527, "gap_contradicted", receipt.KindRule, "gap: the chain holds a reading of the device from after the claimed silence")

	// Supervisor-side refusals of a reading.
	ErrReplayed        = receipt.NewError(530, "reading_replayed", receipt.KindConflict, "reading: sequence not above the device's last")
	ErrClockSkew       = receipt.NewError(531, "reading_clock_skew", receipt.KindRule, "reading: device time outside the skew window")
	ErrImplausible     = receipt.NewError(532, "reading_implausible", receipt.KindRule, "reading: physically implausible")
	ErrSubjectMismatch = receipt.NewError(533, "reading_subject_mismatch", receipt.KindInvalid, "reading: subject does not match the device's binding")
	ErrUnsigned        = receipt.NewError(534, "reading_unsigned", receipt.KindInvalid, "reading: no signature")
)
