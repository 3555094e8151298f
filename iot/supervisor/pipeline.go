package supervisor

import (
	"context"
	"errors"
	"time"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/iot/bus"
	"github.com/ewrchain/ewr/receipt"
)

// The supervisor works in three stages, one batch in each at a time, so
// the bus delivering the next batch, the cores verifying this one's
// signatures and the evaluator judging the previous one overlap:
//
//	fetch: Fetch a batch, decode it, look up each device's key   (one goroutine)
//	verify: batch-verify its signatures across Workers goroutines (one goroutine)
//	run: screen and evaluate in stream order, dispatch findings, ack (the run goroutine)
//
// At most three batches are unacked at once (MaxAckPending allows four).
// The evaluator and its state belong to the run goroutine alone.

// batch is one fetched batch on its way through the stages.
type batch struct {
	msgs  []bus.Msg
	items []item
	jobs  []sigJob
}

// item is one message of a batch.
type item struct {
	m   bus.Msg
	sr  *iot.SignedReading
	dk  *deviceKey
	bay string
	dev string
	kin string
	job int // index into the batch's signature jobs, or -1
	err error
}

// fetchLoop fetches and decodes batches until ctx ends; it closes out.
func (s *Supervisor) fetchLoop(ctx context.Context, out chan<- *batch) {
	defer close(out)
	var fetchErrs int
	for ctx.Err() == nil {
		fctx, cancel := context.WithTimeout(ctx, s.cfg.TickInterval)
		msgs, err := s.cons.Fetch(fctx, s.cfg.Batch)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, context.DeadlineExceeded) {
				continue
			}
			fetchErrs++
			s.cfg.Logger.Warn("iot supervisor: fetch failed", "warehouse", s.cfg.Warehouse, "err", err, "consecutive", fetchErrs)
			select {
			case <-ctx.Done():
				return
			case <-time.After(min(time.Duration(fetchErrs)*100*time.Millisecond, 5*time.Second)):
			}
			continue
		}
		fetchErrs = 0
		b := s.prepare(msgs)
		select {
		case out <- b:
		case <-ctx.Done():
			nak(b.msgs)
			return
		}
	}
}

// verifyLoop verifies each batch's signatures; it closes out.
func (s *Supervisor) verifyLoop(ctx context.Context, in <-chan *batch, out chan<- *batch) {
	defer close(out)
	for b := range in {
		verifyJobs(b.jobs, s.cfg.Workers)
		select {
		case out <- b:
		case <-ctx.Done():
			nak(b.msgs)
			for b := range in {
				nak(b.msgs)
			}
			return
		}
	}
}

// nak hands messages back for redelivery now (a clean stop).
func nak(msgs []bus.Msg) {
	for _, m := range msgs {
		_ = m.Nak(0)
	}
}

// prepare decodes a batch and sets up its signature checks against the
// latest view's device keys.
func (s *Supervisor) prepare(msgs []bus.Msg) *batch {
	s.mu.Lock()
	v := s.mu.view
	s.mu.Unlock()
	b := &batch{msgs: msgs, items: make([]item, 0, len(msgs)), jobs: make([]sigJob, 0, len(msgs))}
	for _, m := range msgs {
		it := item{m: m, job: -1}
		wh, bay, dev, kind, err := bus.ParseReadingSubject(m.Subject)
		switch {
		case err != nil:
			it.err = receipt.Errorf(iot.ErrReadingInvalid, "subject %q: %v", m.Subject, err)
		case wh != s.cfg.Warehouse:
			it.err = receipt.Errorf(iot.ErrSubjectMismatch, "subject %q", m.Subject)
		default:
			it.bay, it.dev, it.kin = bay, dev, kind
			sr, msg, err := iot.Decode(m.Data)
			if err != nil {
				it.err = err
				break
			}
			it.sr = sr
			if dk, ok := v.devices[sr.Reading.Device]; ok {
				it.dk = dk
				if dk.exp != nil && sr.Sig != ([64]byte{}) {
					it.job = len(b.jobs)
					b.jobs = append(b.jobs, sigJob{key: dk.exp, msg: msg, sig: sr.Sig[:]})
				}
			}
		}
		b.items = append(b.items, it)
	}
	return b
}

// run is the evaluating goroutine: it judges verified batches in stream
// order, reloads the chain's view after commits and runs the offline
// check every TickInterval.
func (s *Supervisor) run(ctx context.Context) error {
	fetched := make(chan *batch, 1)
	verified := make(chan *batch, 1)
	stages, cancel := context.WithCancel(ctx)
	defer cancel()
	go s.fetchLoop(stages, fetched)
	go s.verifyLoop(stages, fetched, verified)
	defer func() {
		cancel()
		for b := range verified { // wait for the stages; hand back what they hold
			nak(b.msgs)
		}
	}()
	ticker := time.NewTicker(s.cfg.TickInterval)
	defer ticker.Stop()
	committed := s.cfg.Chain.Committed()
	for {
		s.drainSettled()
		select {
		case <-ctx.Done():
			return nil
		case <-committed:
			committed = s.cfg.Chain.Committed()
			if err := s.refresh(); err != nil {
				return err
			}
		case <-ticker.C:
			s.tick()
		case b, ok := <-verified:
			if !ok {
				return nil
			}
			s.evaluate(ctx, b)
			if time.Since(s.lastTick) >= s.cfg.TickInterval { // busy: tick between batches too
				s.tick()
			}
		}
	}
}

// evaluate screens and evaluates a verified batch in stream order, then
// acks it.
func (s *Supervisor) evaluate(ctx context.Context, b *batch) {
	// Reference time: when the bus stored each message, on our clock.
	offsetMs := s.cfg.Clock().UnixMilli() - time.Now().UnixMilli()
	rejected := map[string]uint64{}
	var accepted, handled, dups, redelivered uint64
	for i := range b.items {
		it := &b.items[i]
		if it.m.Redelivered() {
			if s.handled.has(it.m.StreamSeq) {
				dups++ // this run handled it; its ack was lost
				continue
			}
			redelivered++ // left unacked by a supervisor before this one
		}
		s.handled.add(it.m.StreamSeq)
		handled++
		if it.err == nil {
			in := iot.Input{Reading: it.sr, SubjectBay: it.bay, SubjectDevice: it.dev, SubjectKind: it.kin,
				RefMs: it.m.Stored.UnixMilli() + offsetMs, Redelivered: it.m.Redelivered()}
			if it.dk != nil {
				in.Device = it.dk.dev
			}
			if it.job >= 0 {
				in.SigOK = b.jobs[it.job].ok
			}
			var f *iot.Finding
			f, it.err = s.ev.Step(in)
			if f != nil {
				s.dispatch(*f)
			}
		}
		if it.err != nil {
			rejected[reason(it.err)]++
			continue
		}
		accepted++
	}
	m := s.metrics
	m.Readings.Add(handled)
	m.Accepted.Add(accepted)
	m.Duplicates.Add(dups)
	m.Redelivered.Add(redelivered)
	m.Batches.Add(1)
	m.addRejected(rejected)

	if s.cfg.skipAck != nil && s.cfg.skipAck(b.msgs) {
		return
	}
	for _, msg := range b.msgs {
		if err := msg.Ack(); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("iot supervisor: ack failed; the reading will come back", "seq", msg.StreamSeq, "err", err)
		}
	}
}
