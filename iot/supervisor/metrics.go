package supervisor

import (
	"sort"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts what a supervisor did. The counters only grow; Snapshot
// reads them all, and Metrics implements prometheus.Collector for the
// API's /metrics.
type Metrics struct {
	Warehouse string

	// Readings is every reading message handled (accepted or refused);
	// Accepted those that passed every check and were evaluated.
	Readings atomic.Uint64
	Accepted atomic.Uint64
	// Duplicates are redeliveries of messages already handled: acked and
	// skipped, so a message delivered ten times changes nothing twice.
	Duplicates atomic.Uint64
	// Redelivered are messages handled that had been delivered before
	// (to a supervisor that stopped before acking them).
	Redelivered atomic.Uint64
	// Batches is how many fetched batches were processed.
	Batches atomic.Uint64

	// Txs: submitted, applied, refused by the chain, and findings the
	// dry run showed the chain would refuse (never sent).
	TxSubmitted atomic.Uint64
	TxApplied   atomic.Uint64
	TxRefused   atomic.Uint64
	TxFailed    atomic.Uint64 // node or context errors
	Suppressed  atomic.Uint64

	// Anchors committed and the readings they cover.
	Anchors          atomic.Uint64
	AnchoredReadings atomic.Uint64

	mu struct {
		sync.Mutex
		rejected map[string]uint64 // by reason (the rule error's name)
		findings map[string]uint64 // by finding name ("breach:step", "gap", …)
		refused  map[string]uint64 // chain or dry-run refusals by reason
	}
}

// NewMetrics returns zeroed metrics for a warehouse's supervisor.
func NewMetrics(warehouse string) *Metrics {
	m := &Metrics{Warehouse: warehouse}
	m.mu.rejected = map[string]uint64{}
	m.mu.findings = map[string]uint64{}
	m.mu.refused = map[string]uint64{}
	return m
}

func (m *Metrics) addRejected(counts map[string]uint64) {
	if len(counts) == 0 {
		return
	}
	m.mu.Lock()
	for k, v := range counts {
		m.mu.rejected[k] += v
	}
	m.mu.Unlock()
}

func (m *Metrics) addFinding(name string) {
	m.mu.Lock()
	m.mu.findings[name]++
	m.mu.Unlock()
}

func (m *Metrics) addRefused(reason string) {
	m.mu.Lock()
	m.mu.refused[reason]++
	m.mu.Unlock()
}

// Snapshot is a point-in-time copy of the metrics, for JSON.
type Snapshot struct {
	Warehouse        string            `json:"warehouse"`
	Readings         uint64            `json:"readings"`
	Accepted         uint64            `json:"accepted"`
	Duplicates       uint64            `json:"duplicates"`
	Redelivered      uint64            `json:"redelivered"`
	Batches          uint64            `json:"batches"`
	Rejected         map[string]uint64 `json:"rejected"`
	Findings         map[string]uint64 `json:"findings"`
	Refused          map[string]uint64 `json:"refused"`
	TxSubmitted      uint64            `json:"tx_submitted"`
	TxApplied        uint64            `json:"tx_applied"`
	TxRefused        uint64            `json:"tx_refused"`
	TxFailed         uint64            `json:"tx_failed"`
	Suppressed       uint64            `json:"suppressed"`
	Anchors          uint64            `json:"anchors"`
	AnchoredReadings uint64            `json:"anchored_readings"`
}

// RejectedTotal sums the rejections.
func (s Snapshot) RejectedTotal() uint64 {
	var n uint64
	for _, v := range s.Rejected {
		n += v
	}
	return n
}

// Snapshot copies the metrics.
func (m *Metrics) Snapshot() Snapshot {
	s := Snapshot{
		Warehouse: m.Warehouse, Readings: m.Readings.Load(), Accepted: m.Accepted.Load(), Duplicates: m.Duplicates.Load(),
		Redelivered: m.Redelivered.Load(),
		Batches:     m.Batches.Load(), TxSubmitted: m.TxSubmitted.Load(), TxApplied: m.TxApplied.Load(),
		TxRefused: m.TxRefused.Load(), TxFailed: m.TxFailed.Load(), Suppressed: m.Suppressed.Load(),
		Anchors: m.Anchors.Load(), AnchoredReadings: m.AnchoredReadings.Load(),
	}
	m.mu.Lock()
	s.Rejected = copyMap(m.mu.rejected)
	s.Findings = copyMap(m.mu.findings)
	s.Refused = copyMap(m.mu.refused)
	m.mu.Unlock()
	return s
}

func copyMap(in map[string]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

var (
	descReadings = prometheus.NewDesc("ewr_iot_readings_total", "Reading messages a supervisor handled, by outcome.", []string{"warehouse", "outcome"}, nil)
	descRejected = prometheus.NewDesc("ewr_iot_rejected_total", "Readings refused, by reason.", []string{"warehouse", "reason"}, nil)
	descFindings = prometheus.NewDesc("ewr_iot_findings_total", "Findings the rules made, by kind.", []string{"warehouse", "kind"}, nil)
	descTxs      = prometheus.NewDesc("ewr_iot_txs_total", "Supervisor txs, by outcome.", []string{"warehouse", "outcome"}, nil)
	descAnchors  = prometheus.NewDesc("ewr_iot_anchors_total", "Anchors committed.", []string{"warehouse"}, nil)
	descAnchored = prometheus.NewDesc("ewr_iot_anchored_readings_total", "Readings covered by committed anchors.", []string{"warehouse"}, nil)
)

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descReadings, descRejected, descFindings, descTxs, descAnchors, descAnchored} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	s := m.Snapshot()
	c := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append([]string{s.Warehouse}, labels...)...)
	}
	c(descReadings, s.Accepted, "accepted")
	c(descReadings, s.RejectedTotal(), "rejected")
	c(descReadings, s.Duplicates, "duplicate")
	for _, k := range sortedKeys(s.Rejected) {
		c(descRejected, s.Rejected[k], k)
	}
	for _, k := range sortedKeys(s.Findings) {
		c(descFindings, s.Findings[k], k)
	}
	c(descTxs, s.TxApplied, "applied")
	c(descTxs, s.TxRefused, "refused")
	c(descTxs, s.TxFailed, "failed")
	c(descTxs, s.Suppressed, "suppressed")
	c(descAnchors, s.Anchors)
	c(descAnchored, s.AnchoredReadings)
}

func sortedKeys(m map[string]uint64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
