package iot

import (
	"fmt"

	"github.com/ewrchain/ewr/receipt"
)

// AlertKind is what an alert is about: a breach proven by signed readings,
// or a monitoring gap someone asserted.
type AlertKind uint8

// Alert kinds. Drift through Tamper are breaches proven by an iot.breach;
// LoadOut is a breach found when a delivery closed with the bay's scale
// disagreeing with the lock; every breach freezes the lot's receipts. Gap
// marks the lot unverified.
const (
	AlertDrift   AlertKind = iota + 1 // weight outside the lock's band, held for the sustain window
	AlertStep                         // a sudden change beyond the step threshold (a theft)
	AlertMotion                       // motion in a locked bay with no release order open
	AlertSeal                         // a seal broken, or a door opened with no release order open
	AlertTamper                       // a device's tamper switch
	AlertGap                          // a bay device silent past its limit
	AlertLoadOut                      // a load-out closed with the bay's weight off the lock
)

func (k AlertKind) String() string {
	switch k {
	case AlertDrift:
		return "drift"
	case AlertStep:
		return "step"
	case AlertMotion:
		return "motion"
	case AlertSeal:
		return "seal"
	case AlertTamper:
		return "tamper"
	case AlertGap:
		return "gap"
	case AlertLoadOut:
		return "load_out"
	}
	return "unknown"
}

// Breach reports whether the kind freezes receipts.
func (k AlertKind) Breach() bool { return k.Provable() || k == AlertLoadOut }

// Provable reports whether an iot.breach may claim the kind: the breaches
// signed readings prove by themselves.
func (k AlertKind) Provable() bool { return k >= AlertDrift && k <= AlertTamper }

// AlertStatus is where an alert is.
type AlertStatus uint8

// Alert statuses.
const (
	AlertOpen       AlertStatus = iota + 1
	AlertClosed                 // resolved by re-count or by fresh readings
	AlertSuperseded             // a gap overtaken by a proven breach
)

func (s AlertStatus) String() string {
	switch s {
	case AlertOpen:
		return "OPEN"
	case AlertClosed:
		return "CLOSED"
	case AlertSuperseded:
		return "SUPERSEDED"
	}
	return "UNKNOWN"
}

// Alert is the chain's record of a breach or a gap on a lot. A breach
// alert keeps the digest and ids of the signed readings that proved it;
// the readings themselves are in the tx, in the block.
type Alert struct {
	ID        string
	Lot       string
	Warehouse string
	Bay       string
	Kind      AlertKind
	Status    AlertStatus
	// Digest is sha256 of the evidence (breach) or of the assertion (gap).
	Digest   [32]byte
	Readings []string // ids ("<device>:<seq>") of the evidence readings
	// Device is the device whose readings proved the breach, or the
	// silent device of a gap.
	Device string
	// AtMs is the device time of the last evidence reading (breach) or
	// the asserting supervisor's clock (gap); LastSeenMs is when a gap's
	// device was last heard.
	AtMs         int64
	LastSeenMs   int64
	By           string   // who submitted it
	Frozen       []string // receipts this alert froze, sorted
	OpenedAt     int64    // block time
	OpenedHeight int64
	ClosedAt     int64
	ClosedBy     string
	Resolution   string // "recount", "verified", or the breach alert that superseded a gap
	Counted      uint64 // the re-count's quantity
	Version      uint64
}

// sinceMs is the time readings must follow to show the lot after the
// alert: the last evidence reading of a breach; for a gap, when it was
// asserted — but never later than the block that recorded it, so an
// asserter's clock set in the future cannot hold the lot unverified.
func (a *Alert) sinceMs() int64 {
	if a.Kind == AlertGap {
		return min(a.AtMs, a.OpenedAt*1000)
	}
	return a.AtMs
}

// Watch is the iot side of a lot: when its baseline was taken and how
// many alerts it has had. The lock's expected weight and its history are
// the lot's (warehouse.Lot.Expected, warehouse.LockHistory).
type Watch struct {
	Lot string
	// BaselineAtMs is the device time of the reading the baseline came
	// from: evidence older than it proves nothing about the lot now.
	BaselineAtMs    int64
	BaselineReading string
	BaselineBy      string
	Counted         uint64 // the last re-count
	Alerts          uint32 // alerts ever opened
	LastAlert       string
	Version         uint64
}

// Anchor commits a batch of the readings stream to the chain: the Merkle
// root (MerkleRoot) of every message of the warehouse's subjects with
// stream sequence in [FirstSeq, LastSeq]. `ewr iot audit` recomputes it.
type Anchor struct {
	Warehouse string
	Stream    string
	FirstSeq  uint64
	LastSeq   uint64
	Count     uint32
	Root      [32]byte
	// PrevFirstSeq is the previous anchor's FirstSeq (0 for the first):
	// the anchors of a stream form a chain an auditor walks back.
	PrevFirstSeq uint64
	By           string
	Height       int64
	At           int64
	Version      uint64
}

// AnchorHead is the last anchored sequence of a warehouse's stream:
// batches never overlap, so a re-anchored batch is refused.
type AnchorHead struct {
	Warehouse string
	Stream    string
	LastSeq   uint64
	LastKey   string
	Anchors   uint64
	Readings  uint64
	Version   uint64
}

// DeviceMark is the last reading of a device the chain consumed as
// evidence (a breach, a return to health, a baseline, a load-out's closing
// reading). A reading at or before it is refused as evidence: each
// reading counts once, and nothing signed before a device's restart (an
// earlier epoch) counts after it.
type DeviceMark struct {
	Device  string
	Epoch   uint64
	Seq     uint64
	TimeMs  int64  // the reading's device time
	Op      string // the op type that consumed it
	Height  int64
	Version uint64
}

// Pos is the mark's place in the device's history.
func (m *DeviceMark) Pos() Pos { return Pos{m.Epoch, m.Seq} }

// Record key prefixes of this package.
const (
	PrefixAlert      = "ial/"
	PrefixWatch      = "iwl/"
	PrefixAnchor     = "ian/"
	PrefixAnchorHead = "iah/"
	PrefixDeviceMark = "idm/"
)

// Key builders.
func AlertKey(id string) string       { return PrefixAlert + id }
func WatchKey(lot string) string      { return PrefixWatch + lot }
func DeviceMarkKey(dev string) string { return PrefixDeviceMark + dev }
func AnchorKey(warehouse, stream string, firstSeq uint64) string {
	return fmt.Sprintf("%s%s/%s/%020d", PrefixAnchor, warehouse, stream, firstSeq)
}
func AnchorHeadKey(warehouse, stream string) string {
	return PrefixAnchorHead + warehouse + "/" + stream
}

// LoadWatch reads a lot's watch record, or a fresh one.
func LoadWatch(x *receipt.Exec, lot string) *Watch {
	w, ok := receipt.Load[Watch](x, WatchKey(lot))
	if !ok {
		return &Watch{Lot: lot}
	}
	return w
}

func saveWatch(x *receipt.Exec, w *Watch) {
	w.Version++
	receipt.Save(x, WatchKey(w.Lot), w)
}

func saveAlert(x *receipt.Exec, a *Alert) {
	a.Version++
	receipt.Save(x, AlertKey(a.ID), a)
}

// Event types of the iot package.
const (
	EvBreach   = "iot.breach"
	EvGap      = "iot.gap"
	EvVerified = "iot.verified"
	EvRecount  = "iot.recount"
	EvBaseline = "iot.baseline"
	EvAnchored = "iot.anchored"
	EvRulesSet = "iot.rules_set"
)
