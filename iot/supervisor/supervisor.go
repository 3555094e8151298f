package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/iot/bus"
	"github.com/ewrchain/ewr/receipt"
	"github.com/nats-io/nats.go/jetstream"
)

// Submitter signs op as signers, submits it and waits until a block holding
// it is committed. A rule rejection is an error wrapping the rule's
// *receipt.Error; any other error means the node or ctx failed.
// *chainengine.Client satisfies it.
type Submitter interface {
	Submit(ctx context.Context, signers []string, op receipt.Op) ([32]byte, int64, error)
}

// Config configures a Supervisor. Warehouse, Signer, Chain, Submitter and
// JetStream are required; zero values elsewhere take the defaults named.
type Config struct {
	// Warehouse is the warehouse supervised: its readings, devices, lots.
	Warehouse string
	// Signer is the participant whose key signs the supervisor's txs
	// (the Submitter holds the key). Breaches may be signed by any
	// participant; gaps and returns to health need the warehouse's
	// collateral manager or a supervisor the consortium registered for it
	// (warehouse.SetSupervisors); baselines need the collateral manager;
	// anchors either of those or the operator.
	Signer    string
	Chain     Chain
	Submitter Submitter
	JetStream jetstream.JetStream

	// Stream is the readings stream (default bus.ReadingsStream); Durable
	// the consumer's durable name (default "sup-<warehouse>"): a
	// supervisor restarted with the same name resumes after its last ack.
	Stream  string
	Durable string
	// Batch is how many readings are fetched, verified and evaluated at
	// once (default 512, at most bus.MaxBatch).
	Batch int
	// AckWait is how long the bus waits for an ack before redelivering
	// (default bus.DefaultAckWait).
	AckWait time.Duration
	// Workers verify signatures in parallel (default GOMAXPROCS).
	Workers int
	// TickInterval paces the offline check and the longest a fetch waits
	// (default 250 ms).
	TickInterval time.Duration
	// RetryAfter is how long a finding for a lot holds back the next one
	// while its tx is on its way (default 15 s).
	RetryAfter time.Duration
	// MaxInFlight bounds findings queued or being submitted (default 64);
	// SubmitWorkers submit them concurrently (default 4).
	MaxInFlight   int
	SubmitWorkers int
	// NoAutoBaseline stops the supervisor proposing baselines for new
	// lots; it proposes them only if Signer is the warehouse's collateral
	// manager in any case.
	NoAutoBaseline bool
	// Anchor configures batch anchoring.
	Anchor AnchorConfig
	// Clock is the supervisor's clock (default time.Now). Tests inject
	// one to run hours of simulated time.
	Clock func() time.Time
	// Logger (default slog.Default()); Metrics (default a fresh set).
	Logger  *slog.Logger
	Metrics *Metrics

	// skipAck, if set (tests), is asked before a batch is acked; true
	// leaves it unacked, as a crash between evaluating and acking would.
	skipAck func(msgs []bus.Msg) bool
}

// AnchorConfig configures anchoring: a batch of the warehouse's readings is
// anchored once it has Every readings or its first is Interval old.
type AnchorConfig struct {
	Disabled bool
	Every    int           // default 4096, at most iot.MaxAnchorCount
	Interval time.Duration // default 10 s
}

// Defaults.
const (
	DefaultBatch        = 512
	DefaultTickInterval = 250 * time.Millisecond
	DefaultMaxInFlight  = 64
	DefaultSubmitters   = 4
	DefaultAnchorEvery  = 4096
	DefaultAnchorPeriod = 10 * time.Second
)

func (c *Config) setDefaults() error {
	if c.Warehouse == "" || c.Signer == "" || c.Chain == nil || c.Submitter == nil || c.JetStream == nil {
		return errors.New("supervisor: config needs Warehouse, Signer, Chain, Submitter and JetStream")
	}
	if !bus.ValidToken(c.Warehouse) {
		return fmt.Errorf("supervisor: warehouse %q is not a subject token", c.Warehouse)
	}
	if c.Stream == "" {
		c.Stream = bus.ReadingsStream
	}
	if c.Durable == "" {
		c.Durable = "sup-" + c.Warehouse
	}
	if c.Batch == 0 {
		c.Batch = DefaultBatch
	}
	if c.Workers <= 0 {
		c.Workers = defaultWorkers()
	}
	if c.TickInterval <= 0 {
		c.TickInterval = DefaultTickInterval
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = iot.DefaultRetryMs * time.Millisecond
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.SubmitWorkers <= 0 {
		c.SubmitWorkers = DefaultSubmitters
	}
	if c.Anchor.Every <= 0 {
		c.Anchor.Every = DefaultAnchorEvery
	}
	if c.Anchor.Every > iot.MaxAnchorCount {
		return fmt.Errorf("supervisor: anchor every %d, at most %d", c.Anchor.Every, iot.MaxAnchorCount)
	}
	if c.Anchor.Interval <= 0 {
		c.Anchor.Interval = DefaultAnchorPeriod
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics(c.Warehouse)
	}
	return nil
}

// Supervisor watches one warehouse: it consumes the warehouse's readings
// from a durable consumer, verifies their signatures in batches across
// cores, screens and evaluates them with iot.Evaluator, and submits what
// the rules find (breaches with their evidence, gaps, returns to health,
// baselines) after a dry run against the committed state; it anchors the
// readings stream in batches. Delivery is at least once: a reading is
// acked only after it was evaluated, a redelivery of one already handled
// is skipped, and whatever a restart re-evaluates asks the chain for
// something it already did, which the dry run (or the chain) refuses.
type Supervisor struct {
	cfg     Config
	metrics *Metrics
	cons    *bus.Consumer

	// Owned by the run goroutine.
	ev       *iot.Evaluator
	view     *view
	handled  *seqSet // stream sequences this run handled, recent ones
	lastTick time.Time

	queue   chan iot.Finding
	settled chan settlement

	mu struct {
		sync.Mutex
		view *view // the latest, for Lots and the dry run
	}

	cancel context.CancelFunc
	wg     sync.WaitGroup
	done   chan struct{}
	errMu  sync.Mutex
	err    error
}

type settlement struct {
	lot string
	ok  bool
}

// Start loads the chain's view of the warehouse, opens (or resumes) the
// durable consumer and starts supervising until ctx ends or Stop.
func Start(ctx context.Context, cfg Config) (*Supervisor, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	st, h := cfg.Chain.State()
	v, err := loadView(st, h, cfg.Warehouse, nil)
	if err != nil {
		return nil, err
	}
	filter, err := bus.ReadingFilter(cfg.Warehouse, "", "", "")
	if err != nil {
		return nil, err
	}
	cons, err := bus.OpenConsumer(ctx, cfg.JetStream, bus.ConsumerConfig{
		Stream: cfg.Stream, Durable: cfg.Durable, FilterSubject: filter, Batch: cfg.Batch,
		AckWait: cfg.AckWait, MaxAckPending: max(bus.DefaultMaxAckPending, 4*cfg.Batch), Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	s := &Supervisor{
		cfg: cfg, metrics: cfg.Metrics, cons: cons,
		queue: make(chan iot.Finding, cfg.MaxInFlight), settled: make(chan settlement, cfg.MaxInFlight),
		done: make(chan struct{}), handled: newSeqSet(handledWindow),
	}
	autoBaseline := !cfg.NoAutoBaseline && cfg.Signer == v.warehouse.CollateralManager
	s.ev = iot.NewEvaluator(iot.EvalConfig{Warehouse: cfg.Warehouse, RetryMs: cfg.RetryAfter.Milliseconds(), AutoBaseline: autoBaseline,
		EvidenceWindowMs: v.windowMs}, v.rules)
	s.setView(v)
	s.ev.SetLots(v.lots, cfg.Clock().UnixMilli())
	s.lastTick = time.Now()

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	stopOnParent := context.AfterFunc(ctx, cancel)
	for range cfg.SubmitWorkers {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.submitLoop(runCtx)
		}()
	}
	anchoring := !cfg.Anchor.Disabled && (v.warehouse.MaySupervise(cfg.Signer) || cfg.Signer == v.warehouse.Operator)
	if anchoring {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.anchorLoop(runCtx, filter)
		}()
	}
	go func() {
		defer close(s.done)
		defer stopOnParent()
		err := s.run(runCtx)
		cancel()
		s.wg.Wait()
		s.cons.Close()
		s.fail(err)
	}()
	cfg.Logger.Info("iot supervisor started", "warehouse", cfg.Warehouse, "signer", cfg.Signer, "durable", cfg.Durable,
		"lots", len(v.lots), "auto_baseline", autoBaseline, "anchoring", anchoring)
	return s, nil
}

func (s *Supervisor) fail(err error) {
	if err == nil {
		return
	}
	s.errMu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.errMu.Unlock()
	s.cfg.Logger.Error("iot supervisor failed", "warehouse", s.cfg.Warehouse, "err", err)
	s.cancel()
}

// Stop stops the supervisor and waits for it. Unacked readings come back
// to whoever consumes the durable next. It returns the error that stopped
// the supervisor early, if any.
func (s *Supervisor) Stop() error {
	s.cancel()
	<-s.done
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.err
}

// Done is closed when the supervisor has stopped.
func (s *Supervisor) Done() <-chan struct{} { return s.done }

// Metrics returns the supervisor's counters.
func (s *Supervisor) Metrics() *Metrics { return s.metrics }

// Lots returns the lots the supervisor watches, as the chain last said.
func (s *Supervisor) Lots() []iot.LotView {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]iot.LotView(nil), s.mu.view.lots...)
}

// ViewHeight is the chain height of the supervisor's view.
func (s *Supervisor) ViewHeight() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.view.height
}

func (s *Supervisor) setView(v *view) {
	s.view = v
	s.mu.Lock()
	s.mu.view = v
	s.mu.Unlock()
}

// refresh reloads the chain's view after a commit.
func (s *Supervisor) refresh() error {
	st, h := s.cfg.Chain.State()
	if h == s.view.height {
		return nil
	}
	v, err := loadView(st, h, s.cfg.Warehouse, s.view)
	if err != nil {
		return err
	}
	s.setView(v)
	s.ev.SetRules(v.rules)
	s.ev.SetEvidenceWindow(v.windowMs)
	s.ev.SetLots(v.lots, s.cfg.Clock().UnixMilli())
	return nil
}

func (s *Supervisor) tick() {
	s.lastTick = time.Now()
	for _, f := range s.ev.Tick(s.cfg.Clock().UnixMilli()) {
		s.dispatch(f)
	}
}

func (s *Supervisor) drainSettled() {
	for {
		select {
		case r := <-s.settled:
			s.ev.Settle(r.lot, r.ok)
		default:
			return
		}
	}
}

// handledWindow is how many recently handled stream sequences a run
// remembers to recognise a redelivery of its own (a lost ack). It is far
// more than the consumer's unacked bound, so any redelivery of a message
// this run handled is still remembered.
const handledWindow = 1 << 17

// seqSet remembers the last n stream sequences added.
type seqSet struct {
	set  map[uint64]struct{}
	ring []uint64
	next int
}

func newSeqSet(n int) *seqSet {
	return &seqSet{set: make(map[uint64]struct{}, n), ring: make([]uint64, 0, n)}
}

func (s *seqSet) has(seq uint64) bool {
	_, ok := s.set[seq]
	return ok
}

func (s *seqSet) add(seq uint64) {
	if _, ok := s.set[seq]; ok {
		return
	}
	if len(s.ring) < cap(s.ring) {
		s.ring = append(s.ring, seq)
	} else {
		delete(s.set, s.ring[s.next])
		s.ring[s.next] = seq
		s.next = (s.next + 1) % len(s.ring)
	}
	s.set[seq] = struct{}{}
}

// reason names a rejection for the counters: the rule error's name.
func reason(err error) string {
	if e, ok := receipt.AsError(err); ok {
		return e.Name
	}
	return "error"
}

// dispatch queues a finding for submission; a full queue drops it (the
// lot's rules report it again once RetryAfter passes).
func (s *Supervisor) dispatch(f iot.Finding) {
	s.metrics.addFinding(f.Name())
	select {
	case s.queue <- f:
	default:
		s.metrics.addRefused("queue_full")
		s.ev.Settle(f.Lot, false)
	}
}
