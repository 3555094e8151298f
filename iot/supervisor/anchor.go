package supervisor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/iot/bus"
	"github.com/ewrchain/ewr/receipt"
	"github.com/nats-io/nats.go/jetstream"
)

// The anchorer reads the warehouse's readings with an ordered consumer that
// starts after the chain's anchor head, so the chain itself is its durable
// cursor: a crash between reading a batch and anchoring it re-reads the
// same messages, and a batch anchored but not yet seen as anchored is
// refused as an overlap and re-read from the new head. Batches are
// contiguous in the warehouse's subjects: no reading is skipped or anchored
// twice. It anchors every message of the warehouse's subjects, the refused
// ones too: an anchor commits to what the stream held.

// anchorRetries bounds retries of one anchor tx after node errors.
const anchorRetries = 5

// errRestart makes the anchorer start again from the chain's head.
var errRestart = errors.New("supervisor: anchor head moved")

func (s *Supervisor) anchorLoop(ctx context.Context, filter string) {
	log := s.cfg.Logger.With("warehouse", s.cfg.Warehouse)
	backoff := time.Second
	for ctx.Err() == nil {
		err := s.anchorFrom(ctx, filter, s.anchorHead()+1)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errRestart) {
			backoff = time.Second
			continue
		}
		var rule *receipt.Error
		if errors.As(err, &rule) {
			log.Error("iot supervisor: anchoring stopped: the chain refuses this supervisor's anchors", "err", err)
			s.metrics.addRefused("anchor_" + rule.Name)
			return
		}
		log.Warn("iot supervisor: anchoring interrupted", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// anchorHead is the last anchored stream sequence of the warehouse.
func (s *Supervisor) anchorHead() uint64 {
	st, _ := s.cfg.Chain.State()
	h, ok := receipt.Load[iot.AnchorHead](&receipt.Exec{Store: st}, iot.AnchorHeadKey(s.cfg.Warehouse, s.cfg.Stream))
	if !ok {
		return 0
	}
	return h.LastSeq
}

// anchorFrom anchors batches starting at stream sequence start.
func (s *Supervisor) anchorFrom(ctx context.Context, filter string, start uint64) error {
	it, err := orderedFrom(ctx, s.cfg.JetStream, s.cfg.Stream, filter, start)
	if err != nil {
		return err
	}
	defer it.Stop()
	var (
		leaves      [][32]byte
		first, last uint64
		deadline    time.Time
	)
	flush := func() error {
		op := &iot.AnchorBatch{Warehouse: s.cfg.Warehouse, Stream: s.cfg.Stream, FirstSeq: first, LastSeq: last,
			Count: uint32(len(leaves)), Root: iot.MerkleRoot(leaves)}
		if err := s.submitAnchor(ctx, op); err != nil {
			return err
		}
		leaves = leaves[:0]
		return nil
	}
	for {
		wait := time.Second
		if len(leaves) > 0 {
			wait = time.Until(deadline)
		}
		nctx, cancel := context.WithTimeout(ctx, max(wait, time.Millisecond))
		msg, err := it.Next(jetstream.NextContext(nctx))
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			if len(leaves) > 0 && !time.Now().Before(deadline) {
				if err := flush(); err != nil {
					return err
				}
			}
			continue
		}
		md, err := msg.Metadata()
		if err != nil {
			return err
		}
		seq := md.Sequence.Stream
		if len(leaves) == 0 {
			first, deadline = seq, time.Now().Add(s.cfg.Anchor.Interval)
		}
		leaves = append(leaves, iot.LeafHash(seq, msg.Data()))
		last = seq
		if len(leaves) >= s.cfg.Anchor.Every {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// submitAnchor commits one anchor, retrying node errors. An overlap means
// the head moved (an earlier try of this very anchor committed, or another
// supervisor of the warehouse anchored): start again from the head.
func (s *Supervisor) submitAnchor(ctx context.Context, op *iot.AnchorBatch) error {
	var err error
	for try := 0; try < anchorRetries; try++ {
		sctx, cancel := context.WithTimeout(ctx, submitTimeout)
		_, _, err = s.cfg.Submitter.Submit(sctx, []string{s.cfg.Signer}, op)
		cancel()
		switch {
		case err == nil:
			s.metrics.Anchors.Add(1)
			s.metrics.AnchoredReadings.Add(uint64(op.Count))
			return nil
		case errors.Is(err, iot.ErrAnchorOverlap):
			return errRestart
		case isRule(err):
			return err
		case ctx.Err() != nil:
			return ctx.Err()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(try+1) * 200 * time.Millisecond):
		}
	}
	return fmt.Errorf("supervisor: anchor %d..%d: %w", op.FirstSeq, op.LastSeq, err)
}

// orderedFrom reads the stream's messages matching filter in order from
// sequence start, with a client-managed ordered consumer (ephemeral: no
// state on the server to clean up).
func orderedFrom(ctx context.Context, js jetstream.JetStream, stream, filter string, start uint64) (jetstream.MessagesContext, error) {
	oc, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{filter},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    max(start, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("supervisor: ordered consumer on %s from %d: %w", stream, start, err)
	}
	it, err := oc.Messages(jetstream.PullMaxMessages(bus.MaxBatch))
	if err != nil {
		return nil, fmt.Errorf("supervisor: ordered consumer on %s from %d: %w", stream, start, err)
	}
	return it, nil
}
