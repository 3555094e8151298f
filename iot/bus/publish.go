package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Publishing limits.
const (
	// MaxPayloadBytes bounds one message's data; streams may set lower
	// limits (readings default to 16 KiB).
	MaxPayloadBytes = 256 << 10
	// MaxPublishBatch bounds one PublishBatch call, and so the acks it waits
	// for at once.
	MaxPublishBatch = 4096
	// PublishRetries is how many times a publish is retried when no
	// JetStream server answers (e.g. during a restart). A retry reuses the
	// message id, so it cannot store a message twice within the window.
	PublishRetries = 3
	// publishRetryWait is the pause between those retries.
	publishRetryWait = 250 * time.Millisecond
)

var (
	// ErrPayloadTooLarge rejects data over MaxPayloadBytes.
	ErrPayloadTooLarge = errors.New("bus: payload too large")
	// ErrBatchTooLarge rejects a PublishBatch over MaxPublishBatch.
	ErrBatchTooLarge = errors.New("bus: publish batch too large")
)

func newPubMsg(subject, msgID string, data []byte) (*nats.Msg, string, error) {
	stream, err := streamForSubject(subject)
	if err != nil {
		return nil, "", err
	}
	if err := checkMsgID(msgID); err != nil {
		return nil, "", err
	}
	if len(data) > MaxPayloadBytes {
		return nil, "", fmt.Errorf("%w: %d bytes, limit %d", ErrPayloadTooLarge, len(data), MaxPayloadBytes)
	}
	return &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}, stream, nil
}

// Publish stores data on subject under msgID and returns the stream sequence
// once the server has it on disk. duplicate is true when msgID was already
// stored within the stream's duplicates window; seq is then the sequence of
// the first copy. subject must be a reading or event subject; the publish
// fails unless the stream that owns it stores it. Retrying a failed Publish
// with the same msgID is safe.
func Publish(ctx context.Context, js jetstream.JetStream, subject, msgID string, data []byte) (seq uint64, duplicate bool, err error) {
	m, stream, err := newPubMsg(subject, msgID, data)
	if err != nil {
		return 0, false, err
	}
	ack, err := js.PublishMsg(ctx, m,
		jetstream.WithMsgID(msgID),
		jetstream.WithExpectStream(stream),
		jetstream.WithRetryAttempts(PublishRetries),
		jetstream.WithRetryWait(publishRetryWait),
	)
	if err != nil {
		return 0, false, fmt.Errorf("bus: publish %s id %s: %w", subject, msgID, err)
	}
	if ack.Stream != stream || ack.Sequence == 0 {
		return 0, false, fmt.Errorf("bus: publish %s id %s: ack from stream %q seq %d, want %s", subject, msgID, ack.Stream, ack.Sequence, stream)
	}
	return ack.Sequence, ack.Duplicate, nil
}

// Outgoing is one message of a PublishBatch.
type Outgoing struct {
	Subject string
	MsgID   string
	Data    []byte
}

// PubResult is the outcome of one message of a PublishBatch.
type PubResult struct {
	Seq       uint64
	Duplicate bool
	Err       error
}

// PublishBatch publishes msgs without waiting for each ack in turn, then
// waits for all of them: the throughput path for gateways and simulators.
// results[i] belongs to msgs[i]. err is non-nil if any message failed (the
// first failure, with a count) or ctx ended; the messages whose result has
// no error are stored. Order on the stream follows msgs for messages on one
// connection. Concurrent batches on one JetStream context share its
// MaxAsyncPublishPending; past it a publish stalls briefly, then fails.
func PublishBatch(ctx context.Context, js jetstream.JetStream, msgs []Outgoing) (results []PubResult, err error) {
	if len(msgs) > MaxPublishBatch {
		return nil, fmt.Errorf("%w: %d messages, limit %d", ErrBatchTooLarge, len(msgs), MaxPublishBatch)
	}
	results = make([]PubResult, len(msgs))
	futures := make([]jetstream.PubAckFuture, len(msgs))
	streams := make([]string, len(msgs))
	for i, o := range msgs {
		m, stream, err := newPubMsg(o.Subject, o.MsgID, o.Data)
		if err != nil {
			results[i].Err = err
			continue
		}
		streams[i] = stream
		f, err := js.PublishMsgAsync(m, jetstream.WithMsgID(o.MsgID), jetstream.WithExpectStream(stream))
		if err != nil {
			results[i].Err = fmt.Errorf("bus: publish %s id %s: %w", o.Subject, o.MsgID, err)
			continue
		}
		futures[i] = f
	}
	var failed int
	var first error
	for i, f := range futures {
		if f != nil {
			select {
			case ack := <-f.Ok():
				if ack.Stream != streams[i] || ack.Sequence == 0 {
					results[i].Err = fmt.Errorf("bus: publish %s id %s: ack from stream %q seq %d, want %s",
						msgs[i].Subject, msgs[i].MsgID, ack.Stream, ack.Sequence, streams[i])
				} else {
					results[i].Seq, results[i].Duplicate = ack.Sequence, ack.Duplicate
				}
			case err := <-f.Err():
				results[i].Err = fmt.Errorf("bus: publish %s id %s: %w", msgs[i].Subject, msgs[i].MsgID, err)
			case <-ctx.Done():
				// Unacked messages may still be stored; retrying them with
				// the same ids is safe.
				return results, fmt.Errorf("bus: publish batch: %d of %d acks outstanding: %w", len(msgs)-i, len(msgs), ctx.Err())
			}
		}
		if results[i].Err != nil {
			failed++
			if first == nil {
				first = results[i].Err
			}
		}
	}
	if failed > 0 {
		return results, fmt.Errorf("bus: publish batch: %d of %d failed, first: %w", failed, len(msgs), first)
	}
	return results, nil
}
