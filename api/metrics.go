package api

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/receipt"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the API's Prometheus metrics, in a registry of its own (no
// global state: several servers run in one test process).
type metrics struct {
	reg          *prometheus.Registry
	height       prometheus.Gauge
	blocks       prometheus.Counter
	txs          *prometheus.CounterVec // result = applied | rejected
	rejected     *prometheus.CounterVec // reason = rule name or tx/node code
	txLatency    prometheus.Histogram
	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	events       prometheus.Counter
	streams      prometheus.Gauge
	readings     prometheus.Counter
	alerts       *prometheus.CounterVec
}

func newMetrics(iot IoT) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		reg:    reg,
		height: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ewr_chain_height", Help: "Last committed block height of this node."}),
		blocks: prometheus.NewCounter(prometheus.CounterOpts{Name: "ewr_blocks_committed_total", Help: "Blocks committed since the API started."}),
		txs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ewr_txs_committed_total",
			Help: "Txs committed in blocks, by result (applied, or rejected by a rule)."}, []string{"result"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ewr_txs_rejected_total",
			Help: "Txs rejected, by reason (the rule's name, or the tx or node refusal) and stage: " +
				"block (committed as rejected, any submitter) or check (refused by this API before submission)."}, []string{"reason", "stage"}),
		txLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ewr_tx_commit_latency_seconds",
			Help:    "From submission through this API to commit.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2, 5, 10, 30}}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ewr_http_requests_total",
			Help: "HTTP requests, by route, method and status."}, []string{"route", "method", "status"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ewr_http_request_duration_seconds",
			Help:    "HTTP request duration, by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"route"}),
		events:   prometheus.NewCounter(prometheus.CounterOpts{Name: "ewr_events_total", Help: "Events emitted by committed txs."}),
		streams:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "ewr_event_streams", Help: "Open server-sent event streams."}),
		readings: prometheus.NewCounter(prometheus.CounterOpts{Name: "ewr_iot_readings_total", Help: "Device readings anchored or used as evidence on chain."}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ewr_iot_alerts_total",
			Help: "Supervision alerts committed on chain (breaches and gaps), by event type."}, []string{"type"}),
	}
	reg.MustRegister(m.height, m.blocks, m.txs, m.rejected, m.txLatency, m.httpRequests, m.httpDuration, m.events, m.streams,
		m.readings, m.alerts,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if iot != nil {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ewr_iot_supervisor_readings_total",
			Help: "Readings the IoT supervisor of this node received."}, func() float64 { return float64(iot.Stats().Readings) }))
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ewr_iot_supervisor_alerts_total",
			Help: "Alerts the IoT supervisor of this node raised."}, func() float64 { return float64(iot.Stats().Alerts) }))
	}
	return m
}

// watch follows the chain's commits: block and tx metrics, the last block
// time the rule checks use. It returns when ctx ends.
func (s *Service) watch(ctx context.Context, log *slog.Logger) {
	next := s.chain.Height() + 1
	if rec, ok, err := s.blocks.get(next - 1); err == nil && ok {
		s.lastBlockTime.Store(rec.Time)
	}
	s.metrics.height.Set(float64(next - 1))
	for {
		ch := s.chain.Committed()
		top := s.chain.Height()
		for ; next <= top; next++ {
			rec, ok, err := s.blocks.get(next)
			if err != nil || !ok {
				log.Error("api: block record missing", "height", next, "err", err)
				continue
			}
			s.lastBlockTime.Store(rec.Time)
			s.metrics.blocks.Inc()
			for _, t := range rec.Txs {
				if t.Code == 0 {
					s.metrics.txs.WithLabelValues("applied").Inc()
					for _, ev := range t.Events {
						s.metrics.events.Inc()
						countIoT(s.metrics, ev)
					}
					continue
				}
				s.metrics.txs.WithLabelValues("rejected").Inc()
				s.metrics.rejected.WithLabelValues(reasonOf(t.Code), "block").Inc()
			}
		}
		s.metrics.height.Set(float64(top))
		select {
		case <-ctx.Done():
			return
		case <-ch:
		case <-time.After(5 * time.Second):
		}
	}
}

// countIoT counts the supervision's events (package iot's "iot.*" types).
func countIoT(m *metrics, ev receipt.Event) {
	switch ev.Type {
	case "iot.breach", "iot.gap":
		m.alerts.WithLabelValues(ev.Type).Inc()
	case "iot.anchored":
		for _, a := range ev.Attrs {
			if a.Key == "count" || a.Key == "readings" {
				if n, err := strconv.ParseUint(a.Value, 10, 64); err == nil {
					m.readings.Add(float64(n))
				}
			}
		}
	}
}

// reasonOf names a rejected tx's code for the metrics.
func reasonOf(code uint32) string {
	if code == chainengine.CodeInternal {
		return "internal"
	}
	if e, ok := receipt.LookupError(code); ok {
		return e.Name
	}
	return "code_" + strconv.FormatUint(uint64(code), 10)
}
