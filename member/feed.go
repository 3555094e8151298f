// Package member is the composition root of one consortium member's
// stack. This file is its event feed: the chain's committed events on the
// member's own NATS, for the member's own systems to subscribe to with any
// NATS client.
package member

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/iot/bus"
	"github.com/ewrchain/ewr/ledger"
	"github.com/nats-io/nats.go/jetstream"
)

// Blocks is the member's chain as the feed reads it (*chainengine.ReceiptApp).
type Blocks interface {
	Height() int64
	Block(height int64) (*ledger.BlockRecord, bool, error)
	Committed() <-chan struct{}
}

// Feed publishes every committed event, in chain order, on
// ewr.events.<type> in the EWR_EVENTS stream, with the message id
// <height>:<tx>:<index> (the event's id in the API). It publishes at least
// once and the stream holds each event once: the server drops a repeat
// within its duplicate window, and a feed that starts again resumes after
// the last event the stream holds, however long it was down.
type Feed struct {
	Chain     Blocks
	JetStream jetstream.JetStream
	Logger    *slog.Logger
	// RetryEvery is how long a failed publish waits (default 1 s).
	RetryEvery time.Duration

	repeats atomic.Uint64
}

// Repeats is how many events this feed published that the stream already
// held (the server dropped them as duplicates): a retry after a lost ack.
// A resume never repeats.
func (f *Feed) Repeats() uint64 { return f.repeats.Load() }

// Run publishes until ctx ends.
func (f *Feed) Run(ctx context.Context) error {
	if f.Logger == nil {
		f.Logger = slog.New(slog.DiscardHandler)
	}
	if f.RetryEvery <= 0 {
		f.RetryEvery = time.Second
	}
	last, err := f.lastPublished(ctx)
	if err != nil {
		return err
	}
	next := max(last.Height, 0)
	for {
		committed := f.Chain.Committed()
		for ; next <= f.Chain.Height(); next++ {
			if err := f.publishBlock(ctx, next, last); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-committed:
		}
	}
}

// publishBlock publishes the events of block h after position after.
func (f *Feed) publishBlock(ctx context.Context, h int64, after api.EventPos) error {
	rec, ok, err := f.Chain.Block(h)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("member: feed: block %d is not kept", h)
	}
	for ti := range rec.Txs {
		t := &rec.Txs[ti]
		for i := range t.Events {
			pos := api.EventPos{Height: h, TxIndex: t.Index, Index: uint32(i)}
			if !after.Less(pos) {
				continue
			}
			v := api.EventViewOf(rec, t, i)
			body, err := json.Marshal(v)
			if err != nil {
				return err
			}
			subj, err := bus.EventSubject(v.Type)
			if err != nil {
				return fmt.Errorf("member: feed: event %s: %w", v.ID, err)
			}
			if err := f.publish(ctx, subj, v.ID, body); err != nil {
				return err
			}
		}
	}
	return nil
}

// publish retries until the server has the message or ctx ends.
func (f *Feed) publish(ctx context.Context, subj, id string, body []byte) error {
	for {
		_, dup, err := bus.Publish(ctx, f.JetStream, subj, id, body)
		if err == nil {
			if dup {
				f.repeats.Add(1)
			}
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		f.Logger.Warn("event feed: publish failed; retrying", "event", id, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(f.RetryEvery):
		}
	}
}

// lastPublished is the position of the newest event in the stream (before
// every event when it holds none).
func (f *Feed) lastPublished(ctx context.Context) (api.EventPos, error) {
	none := api.EventPos{Height: -1}
	s, err := f.JetStream.Stream(ctx, bus.EventsStream)
	if err != nil {
		return none, fmt.Errorf("member: feed: %w", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return none, err
	}
	if info.State.Msgs == 0 {
		return none, nil
	}
	m, err := s.GetLastMsgForSubject(ctx, bus.EventsRoot+".>")
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return none, nil
	}
	if err != nil {
		return none, err
	}
	pos, ok := api.ParseEventPos(m.Header.Get(jetstream.MsgIDHeader))
	if !ok {
		return none, fmt.Errorf("member: feed: the stream's last message has id %q, not an event's", m.Header.Get(jetstream.MsgIDHeader))
	}
	return pos, nil
}
